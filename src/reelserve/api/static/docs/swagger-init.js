// Swagger UI for reelserve's /openapi.json. A file, not an inline script, so the page's
// Content-Security-Policy can forbid inline scripts. validatorUrl null: no call to swagger.io.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};
