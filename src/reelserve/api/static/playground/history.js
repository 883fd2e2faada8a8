// The key's recent requests (GET /v1/requests), newest first, a page at a time: poster, prompt,
// model and status in plain words. Opening one shows it in the result panel.

import { api, currentKey } from "./api.js";
import { $, el } from "./dom.js";
import { modelParts, statusWord } from "./words.js";

const PAGE = 6;
const state = { cursors: [null], page: 0, next: null, loads: 0 };
let open = () => {};

export function wireHistory(onOpen) {
  open = onOpen;
  $("#older").addEventListener("click", () => { state.cursors[state.page + 1] = state.next; state.page += 1; loadHistory(); });
  $("#newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); loadHistory(); });
}

export function firstPage() {
  state.page = 0;
  state.cursors = [null];
  loadHistory();
}

const note = (text, cls = "help empty") => el("li", { class: cls, text });

export async function loadHistory() {
  if (!currentKey()) {
    $("#history").replaceChildren(note("Enter your API key above to see your recent requests."));
    return;
  }
  const load = ++state.loads;  // only the latest load may render: answers can arrive out of order
  const cursor = state.cursors[state.page];
  const query = new URLSearchParams({ limit: PAGE, ...(cursor ? { cursor } : {}) });
  let page;
  try {
    page = await api("GET", `/v1/requests?${query}`);
  } catch (error) {
    if (load === state.loads) $("#history").replaceChildren(note(error.message, "error"));
    return;
  }
  if (load !== state.loads) return;
  state.next = page.next_cursor;
  $("#older").disabled = !page.next_cursor;
  $("#newer").disabled = state.page === 0;
  $("#history").replaceChildren(...page.requests.map(item));
  if (!page.requests.length) $("#history").append(note("No requests yet: each one you make is listed here."));
}

function item(request) {
  const poster = request.output?.poster ? el("img", { src: request.output.poster, alt: "" }) : el("span", { class: "noposter" });
  const { kindName, tierName } = modelParts(request);
  const facts = `${tierName} · ${kindName} · ${request.input?.duration ?? "?"} s`;
  const word = el("span", { class: `badge ${request.status}`, text: statusWord(request.status) });
  return el("li", {}, el("button", { type: "button", onclick: () => open(request) }, poster,
    el("span", {}, el("span", { class: "prompt", text: request.input?.prompt ?? "" }), el("span", { class: "facts", text: facts }), word)));
}
