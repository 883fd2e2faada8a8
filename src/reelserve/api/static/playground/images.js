// A start or end image: dropped, picked, or given by URL, previewed, and sent as the field's value.
//
// A picked file travels inside the JSON body as a data URI (the API takes no uploads). So that it
// is accepted and stays a sensible size, a picture whose longest side is over MAX_SIDE pixels, or
// whose file is over the byte budget, or that is not PNG/JPEG/WebP, is redrawn in a canvas to fit
// and sent as PNG when it was one and still fits, as JPEG otherwise.

import { el, freshId } from "./dom.js";
import { helpFor, labelFor } from "./words.js";

const MAX_SIDE = 2048;
const MAX_BYTES = 8 * 1024 * 1024;
const TYPES = ["image/png", "image/jpeg", "image/webp"];
const values = new Map();  // field name → {value, note}: survives a model switch

export const imageValue = (name) => values.get(name)?.value ?? "";
// A value from elsewhere (a history item's input): shown when the field is next built.
export const rememberImage = (name, value) => values.set(name, { value, note: value.startsWith("data:") ? "The picture of the earlier request." : "" });
export const IMAGE_RULES = `PNG, JPEG or WebP; over ${MAX_SIDE} px or ${MAX_BYTES / 1048576} MB, scaled down to fit before it is sent.`;
export const isImageField = (name) => /_image_url$/.test(name);

export function imageField(name, schema, required, slots) {
  const id = `field-${name}`;
  const file = el("input", { id, type: "file", accept: TYPES.join(","), class: "visually-hidden", "aria-describedby": slots });
  const url = el("input", { id: `${id}-url`, type: "url", inputmode: "url", placeholder: "or paste an https:// URL",
                            spellcheck: "false", "aria-label": `${labelFor(name)} URL`, "aria-describedby": slots });
  const preview = el("img", { class: "preview", alt: `${labelFor(name)} preview`, hidden: true });
  const note = el("p", { class: "help image-note", "aria-live": "polite" });
  const clear = el("button", { type: "button", class: "quiet", text: "Remove", hidden: true });
  const zone = el("div", { class: "drop", "data-drop": name },
    preview,
    el("p", { class: "drop-text" }, el("span", { class: "when-empty", text: "Drop an image here or " }),
      el("span", { class: "when-filled", text: "Replace: drop another or " }), el("label", { for: id, class: "pick", text: "choose a file" }), file),
    url, note, clear);
  const show = (entry) => {
    if (entry?.value) values.set(name, entry); else values.delete(name);
    preview.hidden = !entry?.value;
    preview.src = entry?.value ?? "";
    note.textContent = entry?.note ?? "";
    clear.hidden = !entry?.value;
    zone.classList.toggle("filled", Boolean(entry?.value));
    zone.classList.toggle("from-file", Boolean(entry?.value?.startsWith("data:")));
    if (!entry?.value || entry.value.startsWith("data:")) url.value = "";
  };
  const take = async (picked) => {
    if (!picked) return;
    note.textContent = `Reading ${picked.name}…`;
    try { show(await fromFile(picked)); } catch (error) { show(null); note.textContent = error.message; }
  };
  preview.addEventListener("error", () => { if (!preview.hidden) note.textContent = "This address did not show as a picture here; the server fetches it itself."; });
  file.addEventListener("change", () => take(file.files[0]));
  url.addEventListener("change", () => show(url.value.trim() ? { value: url.value.trim(), note: "" } : null));
  clear.addEventListener("click", () => { file.value = ""; show(null); file.focus(); });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => { event.preventDefault(); zone.classList.remove("over"); take(event.dataTransfer?.files[0]); });
  show(values.get(name));
  if (values.get(name) && !values.get(name).value.startsWith("data:")) url.value = values.get(name).value;
  const heading = el("span", { class: "label", id: freshId("image-label"), text: labelFor(name) + (required ? "" : " (optional)") });
  zone.setAttribute("role", "group");
  zone.setAttribute("aria-labelledby", heading.id);
  return el("div", { class: "field image-field" }, heading,
    el("p", { class: "help", id: `${id}-help`, text: helpFor(name, schema) }),
    zone, el("p", { class: "error", id: `${id}-error`, "data-error-for": name }));
}

const readAsDataUrl = (blob) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(new Error("The file could not be read."));
  reader.readAsDataURL(blob);
});

const size = (bytes) => (bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`);

async function fromFile(file) {
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { throw new Error(`${file.name} is not a picture this browser can read.`); }
  const { width, height } = bitmap;
  if (TYPES.includes(file.type) && Math.max(width, height) <= MAX_SIDE && file.size <= MAX_BYTES) {
    bitmap.close();
    return { value: await readAsDataUrl(file), note: `${file.name}: ${width}×${height}, ${size(file.size)}, sent as it is.` };
  }
  const { blob, w, h } = await redraw(bitmap, file.type === "image/png");
  bitmap.close();
  const format = blob.type === "image/png" ? "PNG" : "JPEG";
  return { value: await readAsDataUrl(blob), note: `${file.name}: ${width}×${height} scaled to ${w}×${h}, sent as ${size(blob.size)} ${format}.` };
}

// Fits the picture in MAX_SIDE, then lowers JPEG quality, then the size, until it is under MAX_BYTES.
async function redraw(bitmap, keepPng) {
  let scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const canvas = el("canvas", { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const fits = (blob) => (blob && blob.size <= MAX_BYTES ? { blob, w: canvas.width, h: canvas.height } : null);
    const png = keepPng ? fits(await encode(canvas, "image/png")) : null;
    if (png) return png;
    for (const quality of [0.92, 0.85, 0.75]) {
      const jpeg = fits(await encode(canvas, "image/jpeg", quality));
      if (jpeg) return jpeg;
    }
    scale *= 0.75;
  }
  throw new Error("This picture could not be made small enough: choose a smaller one.");
}

const encode = (canvas, type, quality) => new Promise((resolve) => canvas.toBlob(resolve, type, quality));
