"""/openapi.json as generated clients and schemathesis read it: names, tags, auth, the real error
body, and methods that agree with the server's (an undeclared method is 405 with a true Allow)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import PRO, STANDARD, Api

METHODS = ["get", "post", "put", "patch", "delete"]


@pytest.fixture
def spec(api: Api) -> dict:
    return api.client.get("/openapi.json").json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_has_a_stable_readable_id_and_a_tag(spec: dict) -> None:
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", i) and len(i) <= 30 for i in ids), ids
    assert {"submit_pro", "submit_standard", "get_request_status", "get_request_result", "cancel_request",
            "list_models", "get_model", "get_media", "healthz", "get_health", "get_metrics"} <= set(ids)
    assert all(op.get("tags") for _, _, op in operations(spec))
    assert {t["name"] for t in spec["tags"]} == {tag for _, _, op in operations(spec) for tag in op["tags"]}


def test_the_bearer_scheme_is_declared_on_every_operation_that_takes_a_key(api: Api, spec: dict) -> None:
    scheme = spec["components"]["securitySchemes"]["apiKey"]
    assert scheme == {"type": "http", "scheme": "bearer", "description": scheme["description"]}
    for path, method, op in operations(spec):
        concrete = path.replace("{request_id}", "x").replace("{model_id}", "x").replace("{key}", "x")
        without_key = getattr(api.client, method)(concrete)
        needs_key = without_key.status_code == 401
        assert needs_key == (op.get("security") == [{"apiKey": []}]), (method, path)


def test_no_operation_lists_fastapis_validation_error(spec: dict) -> None:
    text = str(spec)
    assert "HTTPValidationError" not in text and "ValidationError" not in spec["components"]["schemas"]
    submit = spec["paths"][f"/v1/models/{PRO}"]["post"]["responses"]
    assert submit["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "422001" in submit["422"]["description"]


def test_media_links_are_documented(spec: dict) -> None:
    media = spec["paths"]["/media/{key}"]["get"]
    assert {"200", "206", "403", "404", "416"} <= set(media["responses"])
    assert {p["name"] for p in media["parameters"]} == {"key", "expires", "signature"}
    assert "security" not in media


@pytest.mark.parametrize("model_id", [PRO, STANDARD])
def test_get_on_a_submit_path_is_the_declared_model_card(api: Api, spec: dict, model_id: str) -> None:
    assert set(spec["paths"][f"/v1/models/{model_id}"]) == {"get", "post"}
    card = api.client.get(f"/v1/models/{model_id}")
    assert card.status_code == 200 and card.json()["model_id"] == model_id


def test_an_undeclared_method_is_405_and_allow_names_the_declared_ones(api: Api, spec: dict) -> None:
    checked = 0
    for path, item in spec["paths"].items():
        concrete = path.replace("{request_id}", "x").replace("{model_id}", "nope").replace("{key}", "x/video.mp4")
        declared = {method.upper() for method in item}
        for method in set(METHODS) - set(item):
            response = api.client.request(method.upper(), concrete, headers=api.headers)
            assert response.status_code == 405, (method, path, response.status_code)
            allowed = set(response.headers["allow"].split(", "))
            assert declared <= allowed <= declared | {"HEAD"}, (path, allowed)
            assert response.json()["error_code"] == 405000
            checked += 1
        options = api.client.options(concrete)
        assert options.status_code == 405 and declared <= set(options.headers["allow"].split(", "))
    assert checked > 20


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_this_server(api: Api, page: str) -> None:
    response = api.client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "//" not in html.replace("<!doctype html>", ""), "a page that works offline links nothing elsewhere"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "<script>" not in html  # every script is a file: the policy forbids inline ones
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert assets
    for asset in assets:
        fetched = api.client.get(asset)
        assert fetched.status_code == 200, asset
        kind = "css" if asset.endswith(".css") else "javascript"
        assert kind in fetched.headers["content-type"], (asset, fetched.headers["content-type"])
        assert len(fetched.content) > (100 if asset.endswith("init.js") else 100_000)


def test_swagger_ui_reads_this_servers_spec_and_calls_no_validator(api: Api) -> None:
    script = api.client.get("/docs/init.js").text
    assert 'url: "/openapi.json"' in script and "validatorUrl: null" in script
    assert "<redoc spec-url=\"/openapi.json\">" in api.client.get("/redoc").text


def test_the_vendored_ui_files_keep_their_licenses() -> None:
    from pathlib import Path

    import reelserve.api

    static = Path(reelserve.api.__file__).parent / "static"
    assert "MIT License" in (static / "redoc" / "LICENSE").read_text()
    assert "Apache License" in (static / "swagger-ui" / "LICENSE").read_text()
    for bundle in ("redoc/redoc.standalone.js", "swagger-ui/swagger-ui-bundle.js"):
        assert (static / f"{bundle}.LICENSE.txt").is_file()
