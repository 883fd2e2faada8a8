// The reelserve playground: pick what to make, write a prompt, press Generate, watch it render.
// Plain ES modules served as they are (no framework, no build step, no CDN), under a
// Content-Security-Policy that allows scripts from this server only:
//   api.js      the key and the HTTP API (JSON calls, the live event stream)
//   picker.js   the model as kind × tier, from GET /v1/models
//   form.js     the fields from the model's JSON Schema (shots.js, images.js), errors beside them
//   follow.js   one request followed to its end; result.js shows it
//   history.js  the key's recent requests; code.js the form as curl / Python / reelserve run
//   words.js    every plain word for an identifier of the API

import { api, currentKey, loadKey, saveKey } from "./api.js";
import { code, copy } from "./code.js";
import { $, say } from "./dom.js";
import { follow, stopFollowing } from "./follow.js";
import { buildForm, clearErrors, formBody, missing, serverProblems, showFieldErrors, typed } from "./form.js";
import { firstPage, loadHistory, wireHistory } from "./history.js";
import { buildPicker, selectModel } from "./picker.js";
import { showEmpty, showResult, showStatus } from "./result.js";

const state = { models: [], model: null, key: null, loadError: null };
const STILL_LOADING = "The models are still loading: press Generate again in a moment.";
const NO_KEY = "Enter an API key: `reelserve serve` printed one at its first start.";

// The message near Generate; with `field`, beside that field too, which is marked and focused.
function formError(text, field) {
  say($("#form-error"), text);
  if (!field) return;
  const beside = document.querySelector(`[data-error-for="${field.id}"]`);
  if (beside) say(beside, text);
  field.setAttribute("aria-invalid", "true");
  field.focus();
}

async function generate(event) {
  event.preventDefault();  // first and always: the browser's own submit would put the form in the URL
  clearErrors();
  saveKey();
  if (!state.model) return formError(state.loadError ?? STILL_LOADING);
  if (!currentKey()) return formError(NO_KEY, $("#api-key"));
  const body = formBody(state.model);
  if (showFieldErrors(missing(state.model, body))) return formError("Fill in the fields marked in red.");
  $("#generate").disabled = true;
  try {
    const submitted = await api("POST", `/v1/models/${state.model.model_id}`, body);
    bringResultIntoView();
    follow(submitted.request_id, resultActions(), loadHistory);
  } catch (error) {
    const placed = error.status === 422 && showFieldErrors(serverProblems(state.model, error.data?.detail));
    if (placed) formError("Fix the fields marked in red: each says what is wrong.");
    else formError(error.message, error.status === 401 ? $("#api-key") : null);
  } finally {
    $("#generate").disabled = false;
  }
}

// On a narrow screen the result is below the form: scroll so its status shows while it runs.
function bringResultIntoView() {
  const panel = $("#result-panel").getBoundingClientRect();
  if (panel.top < 0 || panel.top > window.innerHeight - 120) $("#result-panel").scrollIntoView({ block: "start", behavior: "smooth" });
}

function resultActions(reused) {
  return {
    seed: (seed) => {
      const input = $("#field-seed");
      if (!input) return;
      input.value = String(seed);
      $("#advanced").open = true;
      input.focus();
    },
    reuse: reused && (() => useSettings(reused)),
  };
}

// A history item's model and input put back in the form, to run it again or change it.
function useSettings(item) {
  selectModel(item.model_id);
  buildForm(state.model, item.input ?? {});
  $("#field-prompt")?.focus();
}

async function openRequest(item) {
  stopFollowing();
  bringResultIntoView();
  if (["in_queue", "in_progress"].includes(item.status)) { follow(item.request_id, resultActions(item), loadHistory); return; }
  showStatus(item, () => {});
  try { showResult(await api("GET", `/v1/requests/${item.request_id}/result`), resultActions(item)); } catch (error) { formError(error.message); }
}

// Every handler, attached before anything is awaited: until the submit handler is on the form,
// Enter in a field would submit it natively (and GET /v1/models may be slow, or fail).
function wire() {
  $("#form").addEventListener("submit", generate);
  $("#api-key").addEventListener("change", () => {
    saveKey();
    if (currentKey() === state.key) return;  // a blur after an unchanged key keeps the page the user is on
    state.key = currentKey();
    firstPage();
  });
  $("#remember").addEventListener("change", saveKey);
  document.querySelectorAll("[data-copy]").forEach((button) => button.addEventListener("click", () => {
    if (state.model) copy(button, code(button.dataset.copy, state.model.model_id, formBody(state.model)));
  }));
  wireHistory(openRequest);
}

async function loadModels() {
  const response = await fetch("/v1/models");
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const { models } = await response.json();
  if (!models?.length) throw new Error("this server serves none");
  return models;
}

function choose(model) {
  const kept = state.model ? typed() : {};
  state.model = model;
  buildForm(model, kept);
}

async function start() {
  wire();
  loadKey();
  state.key = currentKey();
  showEmpty();
  loadHistory();
  try {
    state.models = await loadModels();
  } catch (error) {
    state.loadError = `The models could not be loaded (${error.message}): reload the page to try again.`;
    return formError(state.loadError);
  }
  buildPicker(state.models, choose);
  if ($("#form-error").textContent === STILL_LOADING) say($("#form-error"), "");
  document.body.dataset.ready = "true";
}

start();
