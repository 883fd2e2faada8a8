// The model, chosen as two plain questions: what to make (kind) and at which quality (tier),
// from whatever ids GET /v1/models lists. A tier the chosen kind lacks is shown but cannot be picked.

import { $, el, freshId } from "./dom.js";
import { modelParts, tierRank } from "./words.js";

let models = [];
let onChange = () => {};

const unique = (list) => [...new Map(list.map((item) => [item[0], item])).values()];

export function buildPicker(list, changed) {
  models = list.map((model) => ({ model, ...modelParts(model) }));
  onChange = changed;
  const kinds = unique(models.map((m) => [m.kind, m.kindName]));
  const tiers = unique(models.map((m) => [m.tier, m.tierName])).sort((a, b) => tierRank(a[0]) - tierRank(b[0]));
  $("#kind-options").replaceChildren(...kinds.map(([value, text]) => option("kind", value, text)));
  $("#tier-options").replaceChildren(...tiers.map(([value, text]) => option("tier", value, text)));
  select(models[0]);
}

function option(group, value, text) {
  const input = el("input", { type: "radio", name: `model-${group}`, value, id: freshId(`model-${group}`) });
  input.addEventListener("change", () => pick(group));
  return el("label", { class: "choice", for: input.id }, input, el("span", { text }));
}

// After a change of kind, keep the tier if that kind has it, else take the kind's nearest.
function pick(group) {
  const kind = $("input[name=model-kind]:checked").value;
  const tier = $("input[name=model-tier]:checked")?.value;
  const ofKind = models.filter((m) => m.kind === kind);
  const found = ofKind.find((m) => m.tier === tier) ?? (group === "kind" ? ofKind[0] : null);
  if (found) select(found);
}

function select(chosen) {
  document.querySelectorAll("input[name=model-kind]").forEach((r) => { r.checked = r.value === chosen.kind; });
  document.querySelectorAll("input[name=model-tier]").forEach((r) => {
    r.checked = r.value === chosen.tier;
    r.disabled = !models.some((m) => m.kind === chosen.kind && m.tier === r.value);
  });
  $("#model-id").textContent = chosen.model.model_id;
  onChange(chosen.model);
}

// Choose a model by id (a history item's settings reused), as if its kind and tier were clicked.
export function selectModel(modelId) {
  const found = models.find((m) => m.model.model_id === modelId);
  if (found) select(found);
}

