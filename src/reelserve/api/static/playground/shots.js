// The shot editor (multi_prompt): rows of prompt + seconds, their sum checked against Duration.
// Row ids come from freshId, so removing shot 2 and adding another never repeats an id.

import { $, el, freshId } from "./dom.js";
import { helpFor, labelFor } from "./words.js";

export function shotEditor(name, shot, slots) {
  const list = el("div", { class: "shot-list", "data-shots": name });
  const sum = el("p", { id: "shot-sum", class: "help", "aria-live": "polite" });
  const add = el("button", { type: "button", text: "Add shot", onclick: () => { addShot(list, shot); updateSum(); } });
  return el("fieldset", { id: `field-${name}`, class: "shots-editor", tabindex: "-1", "aria-describedby": slots },
    el("legend", { text: labelFor(name) }),
    el("p", { class: "help", id: `field-${name}-help`, text: helpFor(name, {}) || "Shots in order; their durations must add up to the video's duration." }),
    list, sum, add,
    el("p", { class: "error", "data-error-for": name, id: `field-${name}-error` }));
}

export function addShot(list, shot, value = {}) {
  const row = el("div", { class: "shot" });
  const prompt = el("input", { type: "text", id: freshId("shot-prompt"), maxlength: shot.properties.prompt.maxLength,
                               "data-shot": "prompt", value: value.prompt ?? "" });
  const seconds = el("input", { type: "number", id: freshId("shot-duration"), min: shot.properties.duration.minimum,
                                max: shot.properties.duration.maximum, step: "1", inputmode: "numeric",
                                value: value.duration ?? shot.properties.duration.default, "data-shot": "duration" });
  seconds.addEventListener("input", updateSum);
  const remove = el("button", { type: "button", class: "quiet", onclick: () => { row.remove(); renumber(list); updateSum(); } });
  row.append(el("div", {}, el("label", { for: prompt.id }), prompt), el("div", {}, el("label", { for: seconds.id }), seconds), remove);
  list.append(row);
  renumber(list);
  if (!value.prompt) prompt.focus();
}

function renumber(list) {
  [...list.children].forEach((row, i) => {
    const [prompt, seconds] = row.querySelectorAll("label");
    prompt.textContent = `Shot ${i + 1} prompt`;
    seconds.textContent = `Shot ${i + 1} duration`;
    row.querySelector("button").textContent = `Remove shot ${i + 1}`;
  });
}

export function shots() {
  return [...document.querySelectorAll(".shot-list .shot")].map((row) => ({
    prompt: row.querySelector("[data-shot=prompt]").value,
    duration: Number(row.querySelector("[data-shot=duration]").value),
  }));
}

// The input of shot `index` (0-based) named `part` ("prompt" or "duration"), for an error to focus.
export const shotInput = (index, part) =>
  document.querySelectorAll(".shot-list .shot")[index]?.querySelector(`[data-shot=${part === "duration" ? "duration" : "prompt"}]`);

export function updateSum() {
  const sum = $("#shot-sum");
  if (!sum) return;
  const list = shots();
  const total = list.reduce((t, s) => t + s.duration, 0);
  const duration = Number($("#field-duration")?.value || 0);
  sum.textContent = list.length === 0 ? "No shots: the server plans the prompt into shots." :
    `Shots add up to ${total} s of ${duration} s${total === duration ? "." : ": make them equal."}`;
}
