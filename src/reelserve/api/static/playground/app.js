// The reelserve playground: a form built from each model's JSON Schema (GET /v1/models), the
// request's life shown as it happens (status polls), the video with its metadata, the key's
// history (GET /v1/requests), and the form as code. No framework, no build step, no CDN: this
// file is served as is, under a Content-Security-Policy that forbids inline scripts.

const POLL_MS = 400;
const HISTORY_PAGE = 6;
const KEY_ITEM = "reelserve.apiKey";

const $ = (selector) => document.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

const state = { models: [], model: null, polling: null, cursors: [null], page: 0, next: null, loads: 0, key: null,
                loadError: null };
const STILL_LOADING = "The models are still loading: press Generate again in a moment.";

// --- the API key: sessionStorage by default, localStorage only when asked --------------------

function loadKey() {
  const remembered = localStorage.getItem(KEY_ITEM);
  $("#remember").checked = remembered !== null;
  $("#api-key").value = remembered ?? sessionStorage.getItem(KEY_ITEM) ?? "";
}

function saveKey() {
  const key = $("#api-key").value.trim();
  const remember = $("#remember").checked;
  sessionStorage.removeItem(KEY_ITEM);
  localStorage.removeItem(KEY_ITEM);
  if (key) (remember ? localStorage : sessionStorage).setItem(KEY_ITEM, key);
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${$("#api-key").value.trim()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error_message: `HTTP ${response.status}` }));
  if (!response.ok) throw Object.assign(new Error(data.error_message || `HTTP ${response.status}`), { data, status: response.status });
  return data;
}

// --- the form, from the JSON Schema ----------------------------------------------------------

const LABELS = { cfg_scale: "CFG scale", multi_prompt: "Shots" };
const labelFor = (name) => LABELS[name] ?? (name[0].toUpperCase() + name.slice(1)).replaceAll("_", " ");
const idFor = (name) => `field-${name}`;

function resolve(schema, root) {
  if (schema.$ref) return root.$defs[schema.$ref.split("/").pop()];
  if (schema.anyOf) return { ...schema, ...schema.anyOf.find((s) => s.type !== "null"), nullable: true };
  return schema;
}

function control(name, schema, root) {
  const s = resolve(schema, root);
  const id = idFor(name);
  // No `name`: nothing here is ever sent by the browser's own form submission, only by api().
  const common = { id, "aria-describedby": `${id}-help ${id}-error` };
  if (s.enum) {
    return el("select", common, ...s.enum.map((v) => el("option", { value: v, selected: v === s.default, text: v })));
  }
  if (s.type === "boolean" && s.nullable) {
    // Unset is a third answer (the server's default), which a checkbox cannot say.
    return el("select", common, el("option", { value: "", text: "server default", selected: true }),
      el("option", { value: "true", text: "on" }), el("option", { value: "false", text: "off" }));
  }
  if (s.type === "boolean") return el("input", { ...common, type: "checkbox", checked: s.default === true });
  if (s.type === "integer" || s.type === "number") {
    const step = s.type === "integer" ? "1" : "0.05";
    const max = s.maximum !== undefined && s.maximum < 1e15 ? s.maximum : null;
    return el("input", { ...common, type: "number", inputmode: "decimal", step, min: s.minimum, max,
                         value: s.default ?? "", placeholder: s.nullable ? "random" : null });
  }
  if ((s.maxLength ?? 0) > 200) return el("textarea", { ...common, maxlength: s.maxLength, rows: name === "prompt" ? 4 : 2 });
  return el("input", { ...common, type: "text", maxlength: s.maxLength });
}

function field(name, schema, root) {
  const input = control(name, schema, root);
  const id = idFor(name);
  const label = el("label", { for: id, text: labelFor(name) });
  const help = el("p", { id: `${id}-help`, class: "help", text: schema.description ?? "" });
  const error = el("p", { id: `${id}-error`, class: "error", "data-error-for": name });
  if (input.type === "checkbox") return el("div", { class: "field" }, el("label", { class: "inline" }, input, labelFor(name)), help, error);
  return el("div", { class: "field" }, label, input, help, error);
}

function shotEditor(name, schema, root) {
  const shot = resolve(schema.items, root);
  const list = el("div", { id: "shots" });
  const sum = el("p", { id: "shot-sum", class: "help", "aria-live": "polite" });
  const add = el("button", { type: "button", text: "Add shot", onclick: () => { addShot(list, shot); updateSum(); } });
  return el("fieldset", { id: idFor(name) },
    el("legend", { text: `${labelFor(name)} (multi_prompt)` }),
    el("p", { class: "help", text: schema.description ?? "" }),
    list, sum, add,
    el("p", { class: "error", "data-error-for": name, id: `${idFor(name)}-error` }));
}

function addShot(list, shot) {
  const n = list.children.length + 1;
  const prompt = el("input", { type: "text", id: `shot-${n}-prompt`, maxlength: shot.properties.prompt.maxLength, "data-shot": "prompt" });
  const seconds = el("input", { type: "number", id: `shot-${n}-duration`, min: shot.properties.duration.minimum,
                                max: shot.properties.duration.maximum, step: "1", value: shot.properties.duration.default, "data-shot": "duration" });
  seconds.addEventListener("input", updateSum);
  const row = el("div", { class: "shot" },
    el("div", {}, el("label", { for: prompt.id, text: `Shot ${n} prompt` }), prompt),
    el("div", {}, el("label", { for: seconds.id, text: `Shot ${n} duration` }), seconds),
    el("button", { type: "button", text: `Remove shot ${n}`, onclick: () => { row.remove(); renumber(list); updateSum(); } }));
  list.append(row);
  prompt.focus();
}

function renumber(list) {
  [...list.children].forEach((row, i) => {
    const n = i + 1;
    row.querySelectorAll("label")[0].textContent = `Shot ${n} prompt`;
    row.querySelectorAll("label")[1].textContent = `Shot ${n} duration`;
    row.querySelector("button").textContent = `Remove shot ${n}`;
  });
}

function shots() {
  return [...document.querySelectorAll("#shots .shot")].map((row) => ({
    prompt: row.querySelector("[data-shot=prompt]").value,
    duration: Number(row.querySelector("[data-shot=duration]").value),
  }));
}

function updateSum() {
  const sum = $("#shot-sum");
  if (!sum) return;
  const list = shots();
  const total = list.reduce((t, s) => t + s.duration, 0);
  const duration = Number($(`#${idFor("duration")}`)?.value || 0);
  sum.textContent = list.length === 0 ? "No shots: the prompt is planned into shots by the server." :
    `Shots add up to ${total} s of ${duration} s${total === duration ? "" : ": make them equal"}.`;
}

function buildForm() {
  const root = state.model.input_schema;
  const container = $("#fields");
  container.replaceChildren();
  for (const [name, schema] of Object.entries(root.properties)) {
    const s = resolve(schema, root);
    container.append(s.type === "array" && resolve(s.items, root).type === "object" ? shotEditor(name, s, root) : field(name, schema, root));
  }
  $(`#${idFor("duration")}`)?.addEventListener("input", updateSum);
  updateSum();
}

function formBody() {
  const root = state.model.input_schema;
  const body = {};
  for (const [name, schema] of Object.entries(root.properties)) {
    const s = resolve(schema, root);
    if (s.type === "array") {
      const list = shots();
      if (list.length) body[name] = list;
      continue;
    }
    const input = $(`#${idFor(name)}`);
    if (s.type === "boolean" && !s.nullable) body[name] = input.checked;
    else if (input.value === "") continue;
    else if (s.type === "boolean") body[name] = input.value === "true";
    else if (s.type === "integer" || s.type === "number") body[name] = Number(input.value);
    else body[name] = input.value;
  }
  return body;
}

// --- generate, then follow the request -------------------------------------------------------

function clearErrors() {
  $("#form-error").textContent = "";
  document.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

function showErrors(error) {
  const detail = error.data?.detail ?? [];
  let placed = false;
  for (const item of detail) {
    const [where, name, index, sub] = item.loc ?? [];
    if (where !== "body" || !name) continue;
    const slot = document.querySelector(`[data-error-for="${CSS.escape(String(name))}"]`);
    if (!slot) continue;
    const shot = Number.isInteger(index) ? `Shot ${index + 1}${sub ? ` ${sub}` : ""}: ` : "";
    slot.textContent = `${shot}${item.msg}`;
    document.getElementById(idFor(name))?.setAttribute("aria-invalid", "true");
    placed = true;
  }
  $("#form-error").textContent = placed ? "Fix the fields marked below their boxes." : error.message;
  if (!placed && error.status === 401) $("#api-key").setAttribute("aria-invalid", "true");
}

async function generate(event) {
  event.preventDefault();  // first and always: the browser's own submit would put the form in the URL
  clearErrors();
  saveKey();
  if (!state.model) {
    $("#form-error").textContent = state.loadError ?? STILL_LOADING;
    return;
  }
  if (!$("#api-key").value.trim()) {
    $("#form-error").textContent = "Enter an API key: `reelserve serve` printed one at its first start.";
    $("#api-key").focus();
    return;
  }
  $("#generate").disabled = true;
  try {
    const submitted = await api("POST", `/v1/models/${state.model.model_id}`, formBody());
    follow(submitted.request_id);
  } catch (error) {
    showErrors(error);
  } finally {
    $("#generate").disabled = false;
  }
}

function follow(requestId) {
  clearTimeout(state.polling);
  $("#result").replaceChildren();
  const tick = async () => {
    try {
      const status = await api("GET", `/v1/requests/${requestId}/status`);
      showStatus(requestId, status);
      if (["completed", "failed", "cancelled"].includes(status.status)) {
        showResult(await api("GET", `/v1/requests/${requestId}/result`));
        loadHistory();
        return;
      }
    } catch (error) {
      $("#status").replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
      return;
    }
    state.polling = setTimeout(tick, POLL_MS);
  };
  tick();
}

function showStatus(requestId, status) {
  const box = $("#status");
  const id = el("p", { class: "help", text: `Request ${requestId}` });
  if (status.status === "in_queue") {
    const cancel = el("button", { type: "button", id: "cancel", text: "Cancel", onclick: async () => {
      cancel.disabled = true;
      try { await api("POST", `/v1/requests/${requestId}/cancel`); } catch (error) { showErrors(error); }
    } });
    box.replaceChildren(el("p", { text: `In queue, position ${status.queue_position ?? 0}` }), cancel, id);
  } else if (status.status === "in_progress") {
    const percent = Math.round(status.progress ?? 0);
    const bar = el("div", { role: "progressbar", "aria-label": "Progress", "aria-valuemin": 0, "aria-valuemax": 100,
                            "aria-valuenow": percent }, el("div", { style: null }));
    bar.firstChild.style.width = `${percent}%`;
    box.replaceChildren(el("p", { text: `Generating: ${percent}%` }), bar, id);
  } else {
    box.replaceChildren(el("p", { text: status.status === "completed" ? "Completed" : `Request ${status.status}` }), id);
  }
}

function showResult(result) {
  const out = $("#result");
  if (result.status === "failed") {
    out.replaceChildren(el("p", { class: "error", role: "alert", text: `Failed (${result.error?.code}): ${result.error?.message}` }));
    return;
  }
  if (result.status !== "completed") {
    out.replaceChildren(el("p", { text: `This request was ${result.status}.` }));
    return;
  }
  const meta = result.metadata ?? {};
  const engine = meta.engine ?? {};
  const video = el("video", { controls: true, preload: "auto", src: result.output.video, poster: result.output.poster,
                              "aria-label": `Video of request ${result.request_id}` });
  const facts = [
    ["Size", `${meta.width}×${meta.height}`], ["Duration", `${meta.duration_seconds} s`], ["Seed", String(meta.seed)],
    ["Sound", meta.has_audio ? "yes" : "no"], ["Engine", `${engine.family ?? "?"} · ${engine.weights ?? "?"} · ${engine.device ?? "?"}`],
  ];
  const shotList = el("ol", { class: "shots" }, ...(meta.shots ?? []).map((s) =>
    el("li", { text: `${s.start_seconds.toFixed(1)} s, ${s.duration_seconds} s: ${s.prompt}` })));
  out.replaceChildren(
    engine.random_weights ? el("p", { class: "notice", role: "note", text: "Random weights: this video is noise. Shapes, durations, sound and timings are real." }) : null,
    video,
    el("dl", { class: "meta" }, ...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
    el("p", { text: "Shots" }), shotList,
    el("p", {}, el("a", { href: result.output.video, download: `${result.request_id}.mp4`, text: "Download MP4" })),
  );
}

// --- history ---------------------------------------------------------------------------------

async function loadHistory() {
  if (!$("#api-key").value.trim()) return;
  const load = ++state.loads;  // only the latest load may render: answers can arrive out of order
  const cursor = state.cursors[state.page];
  const query = new URLSearchParams({ limit: HISTORY_PAGE, ...(cursor ? { cursor } : {}) });
  let page;
  try {
    page = await api("GET", `/v1/requests?${query}`);
  } catch (error) {
    if (load === state.loads) $("#history").replaceChildren(el("li", { class: "error", text: error.message }));
    return;
  }
  if (load !== state.loads) return;
  state.next = page.next_cursor;
  $("#older").disabled = !page.next_cursor;
  $("#newer").disabled = state.page === 0;
  $("#history").replaceChildren(...page.requests.map((item) => {
    const poster = item.output?.poster ? el("img", { src: item.output.poster, alt: "" }) : el("span", { class: "noposter" });
    const open = el("button", { type: "button", onclick: () => openRequest(item) }, poster,
      el("span", {}, el("span", { class: "prompt", text: item.input?.prompt ?? "" }),
        el("span", { class: "facts", text: `${item.model_id.split("/")[2] ?? item.model_id} · ${item.status} · ${item.input?.duration ?? "?"} s` })));
    return el("li", {}, open);
  }));
  if (!page.requests.length) $("#history").append(el("li", { class: "help", text: "No requests yet." }));
}

async function openRequest(item) {
  clearTimeout(state.polling);
  if (["in_queue", "in_progress"].includes(item.status)) { follow(item.request_id); return; }
  showStatus(item.request_id, item);
  showResult(await api("GET", `/v1/requests/${item.request_id}/result`));
  $("#result-heading").scrollIntoView({ block: "start" });
}

// --- copy as code ----------------------------------------------------------------------------

const shellQuote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

function code(kind) {
  const body = formBody();
  const base = window.location.origin;
  const model = state.model.model_id;
  if (kind === "curl") {
    return `curl --request POST --url ${base}/v1/models/${model} \\\n  --header "Content-Type: application/json" \\\n` +
      `  --header "Authorization: Bearer $REELSERVE_API_KEY" \\\n  --data ${shellQuote(JSON.stringify(body))}`;
  }
  if (kind === "python") {
    return `import reelserve\n\nclient = reelserve.Client(${JSON.stringify(base)})  # the key: REELSERVE_API_KEY\n` +
      `result = client.run(${JSON.stringify(model)}, ${pythonValue(body)}, download_to="video.mp4")\nprint(result.video_url)`;
  }
  const flags = [];
  for (const [name, value] of Object.entries(body)) {
    if (name === "multi_prompt") value.forEach((s) => flags.push(`--shot ${shellQuote(`${s.prompt}:${s.duration}`)}`));
    else if (typeof value === "boolean") flags.push(`--${value ? "" : "no-"}${name.replaceAll("_", "-")}`);
    else flags.push(`--${name.replaceAll("_", "-")} ${shellQuote(value)}`);
  }
  return `reelserve run ${model} --base-url ${base} ${flags.join(" ")} -o video.mp4`;
}

function pythonValue(value) {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null) return "None";
  if (Array.isArray(value)) return `[${value.map(pythonValue).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonValue(v)}`).join(", ")}}`;
  return JSON.stringify(value);
}

async function copy(kind) {
  if (!state.model) return;  // no form yet: nothing to copy
  const text = code(kind);
  const pre = $("#code");
  pre.textContent = text;
  pre.hidden = false;
  pre.dataset.kind = kind;
  try { await navigator.clipboard.writeText(text); } catch { /* shown above; select and copy by hand */ }
}

// --- start -----------------------------------------------------------------------------------

// Every handler, attached before anything is awaited: until the submit handler is on the form,
// Enter in a field would submit it natively (and GET /v1/models may be slow, or fail).
function wire() {
  $("#form").addEventListener("submit", generate);
  $("#model").addEventListener("change", () => {
    state.model = state.models.find((m) => m.model_id === $("#model").value);
    buildForm();
  });
  $("#api-key").addEventListener("change", () => {
    saveKey();
    const key = $("#api-key").value.trim();
    if (key === state.key) return;  // a blur after an unchanged key keeps the page the user is on
    state.key = key;
    state.page = 0;
    state.cursors = [null];
    loadHistory();
  });
  $("#remember").addEventListener("change", saveKey);
  document.querySelectorAll("[data-copy]").forEach((b) => b.addEventListener("click", () => copy(b.dataset.copy)));
  $("#older").addEventListener("click", () => { state.cursors[state.page + 1] = state.next; state.page += 1; loadHistory(); });
  $("#newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); loadHistory(); });
}

async function loadModels() {
  const response = await fetch("/v1/models");
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const { models } = await response.json();
  if (!models?.length) throw new Error("this server serves none");
  return models;
}

async function start() {
  wire();
  loadKey();
  state.key = $("#api-key").value.trim();
  loadHistory();
  try {
    state.models = await loadModels();
  } catch (error) {
    state.loadError = `The models could not be loaded (${error.message}): reload the page to try again.`;
    $("#form-error").textContent = state.loadError;
    return;
  }
  $("#model").replaceChildren(...state.models.map((m) => el("option", { value: m.model_id, text: m.model_id })));
  state.model = state.models[0];
  buildForm();
  if ($("#form-error").textContent === STILL_LOADING) $("#form-error").textContent = "";
  document.body.dataset.ready = "true";
}

start();
