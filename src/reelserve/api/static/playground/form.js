// The request form, built from the chosen model's input JSON Schema: the prompt, the images an
// image-to-video model takes and the everyday settings in view; the rest folded under "Advanced".
// Reading it back (formBody), keeping what was typed across a model switch, and errors beside fields.

import { $, el, say } from "./dom.js";
import { IMAGE_RULES, imageField, imageValue, isImageField, rememberImage } from "./images.js";
import { addShot, shotEditor, shotInput, shots, updateSum } from "./shots.js";
import { helpFor, labelFor, optionWord, problem } from "./words.js";

const IN_VIEW = ["duration", "aspect_ratio", "sound"];  // beside the prompt; the rest is under Advanced
const idFor = (name) => `field-${name}`;

function resolve(schema, root) {
  if (schema.$ref) return root.$defs[schema.$ref.split("/").pop()];
  if (schema.anyOf) return { ...schema, ...schema.anyOf.find((s) => s.type !== "null"), nullable: true };
  return schema;
}

const isShots = (s, root) => s.type === "array" && resolve(s.items, root).type === "object";

function control(name, s, slots) {
  // No `name` attribute: nothing here is ever sent by the browser's own form submission, only by api().
  const common = { id: idFor(name), "aria-describedby": slots };
  if (s.enum) return el("select", common, ...s.enum.map((v) => el("option", { value: v, selected: v === s.default, text: optionWord(v) })));
  if (s.type === "boolean" && s.nullable) {
    // Unset is a third answer (the server's default), which a checkbox cannot say.
    return el("select", common, el("option", { value: "", text: "Server default", selected: true }),
      el("option", { value: "true", text: "On" }), el("option", { value: "false", text: "Off" }));
  }
  if (s.type === "boolean") return el("input", { ...common, type: "checkbox", checked: s.default === true });
  if (s.type === "integer" || s.type === "number") {
    const max = s.maximum !== undefined && s.maximum < 1e15 ? s.maximum : null;
    return el("input", { ...common, type: "number", inputmode: s.type === "integer" ? "numeric" : "decimal",
                         step: s.type === "integer" ? "1" : "0.05", min: s.minimum, max, value: s.default ?? "",
                         placeholder: s.nullable ? "Random" : null });
  }
  if (name === "prompt") return el("textarea", { ...common, maxlength: s.maxLength, rows: 4, placeholder: "Describe the scene, the motion and the sound" });
  if ((s.maxLength ?? 0) > 200) return el("textarea", { ...common, maxlength: s.maxLength, rows: 2 });
  return el("input", { ...common, type: "text", maxlength: s.maxLength });
}

function field(name, s) {
  const id = idFor(name);
  const slots = `${id}-help ${id}-error`;
  const input = control(name, s, slots);
  const help = el("p", { id: `${id}-help`, class: "help", text: helpFor(name, s) });
  const error = el("p", { id: `${id}-error`, class: "error", "data-error-for": name });
  if (input.type === "checkbox") return el("div", { class: `field field-${name}` }, el("label", { class: "inline" }, input, labelFor(name)), help, error);
  return el("div", { class: `field field-${name}` }, el("label", { for: id, text: labelFor(name) }), input, help, error);
}

// Only a choice with more than one answer is asked; a single allowed value is the server's default.
const worthAsking = (s) => !(s.enum && s.enum.length < 2);

export function buildForm(model, kept = {}) {
  const root = model.input_schema;
  const [main, images, quick, advanced] = ["#main-fields", "#image-fields", "#quick-fields", "#advanced-fields"].map($);
  [main, images, quick, advanced].forEach((box) => box.replaceChildren());
  Object.entries(kept).filter(([name, value]) => isImageField(name) && typeof value === "string").forEach(([name, value]) => rememberImage(name, value));
  for (const [name, schema] of Object.entries(root.properties)) {
    const s = resolve(schema, root);
    const slots = `${idFor(name)}-help ${idFor(name)}-error`;
    if (isImageField(name)) images.append(imageField(name, s, root.required?.includes(name), slots));
    else if (isShots(s, root)) advanced.append(shotEditor(name, resolve(s.items, root), slots));
    else if (!worthAsking(s)) continue;
    else (name === "prompt" ? main : IN_VIEW.includes(name) ? quick : advanced).append(field(name, s));
  }
  images.hidden = images.children.length === 0;
  if (!images.hidden) images.append(el("p", { class: "help rules", text: IMAGE_RULES }));
  $("#field-duration")?.addEventListener("input", updateSum);
  restore(root, kept);
  updateSum();
}

// What was typed, by field name, to be put back after the form is rebuilt for another model.
export function typed() {
  const kept = {};
  document.querySelectorAll("#form [id^=field-]:is(input:not([type=file]), select, textarea)").forEach((input) => {
    kept[input.id.slice("field-".length)] = input.type === "checkbox" ? input.checked : input.value;
  });
  kept.multi_prompt = shots();
  return kept;
}

function restore(root, kept) {
  for (const [name, value] of Object.entries(kept)) {
    const input = document.getElementById(idFor(name));
    if (!input || input.type === "file" || !root.properties[name]) continue;
    const text = value === null || value === undefined ? "" : String(value);  // a stored input holds nulls and numbers
    if (input.type === "checkbox") input.checked = value === true;
    else if (input.tagName !== "SELECT" || [...input.options].some((o) => o.value === text)) input.value = text;
  }
  const list = document.querySelector(".shot-list");
  const shot = list && resolve(resolve(root.properties.multi_prompt, root).items, root);
  (list ? kept.multi_prompt ?? [] : []).forEach((value) => addShot(list, shot, value));
}

export function formBody(model) {
  const root = model.input_schema;
  const body = {};
  for (const [name, schema] of Object.entries(root.properties)) {
    const s = resolve(schema, root);
    if (isImageField(name)) {
      if (imageValue(name)) body[name] = imageValue(name);
      continue;
    }
    if (isShots(s, root)) {
      if (shots().length) body[name] = shots();
      continue;
    }
    const input = document.getElementById(idFor(name));
    if (!input) continue;
    if (s.type === "boolean" && !s.nullable) body[name] = input.checked;
    else if (input.value === "") continue;
    else if (s.type === "boolean") body[name] = input.value === "true";
    else if (s.type === "integer" || s.type === "number") body[name] = Number(input.value);
    else body[name] = input.value;
  }
  return body;
}

// Required fields left empty, found before anything is sent.
export function missing(model, body) {
  return (model.input_schema.required ?? []).filter((name) => body[name] === undefined || body[name] === "")
    .map((name) => ({ name, message: isImageField(name) ? `Choose a ${labelFor(name).toLowerCase()}, or paste its URL.` : "Required." }));
}

export function clearErrors() {
  say($("#form-error"), "");
  document.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

// The server's 422 `detail` as [{name, message, focus}] for the fields this form shows.
export function serverProblems(model, detail) {
  const root = model.input_schema;
  return (detail ?? []).filter((item) => item.loc?.[0] === "body" && root.properties[item.loc[1]]).map((item) => {
    const [, name, index, part] = item.loc;
    const s = resolve(root.properties[name], root);
    const shot = Number.isInteger(index) && isShots(s, root);
    const own = shot ? resolve(resolve(s.items, root).properties[part] ?? {}, root) : s;
    const message = problem(item, own);
    return { name, message: shot ? `Shot ${index + 1}${part ? ` ${labelFor(part).toLowerCase()}` : ""}: ${message}` : message,
             focus: shot ? shotInput(index, part) : null };
  });
}

// Each message beside its field, the fields marked, and the focus on the first; false if none had a place.
export function showFieldErrors(problems) {
  let first = null;
  for (const { name, message, focus } of problems) {
    const slot = document.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!slot) continue;
    say(slot, slot.textContent ? `${slot.textContent} ${message}` : message);
    const input = focus ?? document.getElementById(idFor(name));
    input?.setAttribute("aria-invalid", "true");
    first ??= input;
  }
  if (!first) return false;
  const fold = first.closest("details");
  if (fold) fold.open = true;
  first.focus();
  first.scrollIntoView({ block: "center" });
  return true;
}
