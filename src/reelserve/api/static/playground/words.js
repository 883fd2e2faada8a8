// Plain words for what the API spells as identifiers: model ids, statuses, field names, and
// pydantic's error types. Every such word the page shows comes from here.

const KINDS = { "text-to-video": "Text to video", "image-to-video": "Image to video" };
const TIERS = { standard: "Standard", pro: "Pro", "4k": "4K" };
const TIER_ORDER = ["standard", "pro", "4k"];

const titleCase = (slug) => slug.split(/[-_]/).map((w) => w && w[0].toUpperCase() + w.slice(1)).join(" ");

// kling/kling-3.0/pro/image-to-video → {kind: "image-to-video", tier: "pro"}: the last two segments.
export function modelParts(model) {
  const parts = model.model_id.split("/");
  const kind = parts.at(-1);
  const tier = parts.length > 1 ? parts.at(-2) : model.tier ?? "default";
  return { kind, tier, kindName: KINDS[kind] ?? titleCase(kind), tierName: TIERS[tier] ?? titleCase(tier) };
}

export const tierRank = (tier) => (TIER_ORDER.includes(tier) ? TIER_ORDER.indexOf(tier) : TIER_ORDER.length);

const STATUS_WORDS = {
  in_queue: "Queued", in_progress: "Generating", completed: "Done", failed: "Failed", cancelled: "Cancelled",
};
export const statusWord = (status) => STATUS_WORDS[status] ?? titleCase(String(status));

const LABELS = {
  prompt: "Prompt", negative_prompt: "Negative prompt", duration: "Duration", aspect_ratio: "Aspect ratio",
  cfg_scale: "Prompt strength", sound: "Sound", multi_prompt: "Shots", seed: "Seed",
  enhance_prompt: "Enhance the prompt", shot_type: "Shot planning",
  start_image_url: "Start image", end_image_url: "End image",
};
export const labelFor = (name) => LABELS[name] ?? titleCase(name);

// Help the schema's descriptions give badly or not at all; otherwise the schema's own words.
const HELP = {
  duration: "In seconds.",
  enhance_prompt: "Let the model's prompt enhancer rewrite each shot's prompt before generating; the result lists what it wrote.",
  shot_type: "How the video is cut into shots.",
  start_image_url: "First frame; sets the shape.",
  end_image_url: "Last frame.",
};
export function helpFor(name, schema) {
  if (name === "duration" && schema.minimum !== undefined && schema.maximum !== undefined) return `${schema.minimum}–${schema.maximum} seconds.`;
  if (HELP[name]) return HELP[name];
  const text = (schema.description ?? "").replace(/^reelserve extension:\s*/i, "");
  return text && text[0].toUpperCase() + text.slice(1);
}

const OPTION_WORDS = {
  "16:9": "16:9 landscape", "9:16": "9:16 portrait", "1:1": "1:1 square",
  intelligent: "Automatic: the server plans the shots", customize: "Custom: the shots you list",
};
export const optionWord = (value) => OPTION_WORDS[value] ?? titleCase(String(value));

// One field error from the server's `detail`, in the page's words; `schema` is the field's own.
export function problem(item, schema = {}) {
  const max = schema.maxLength ?? schema.maximum;
  const min = schema.minLength ?? schema.minimum;
  switch (item.type) {
    case "missing": return "Required.";
    case "extra_forbidden": return "This model does not take this setting.";
    case "string_too_long": return max !== undefined ? `Too long: at most ${max} characters.` : "Too long.";
    case "string_too_short": return "Required.";
    case "too_long": return max !== undefined ? `Too many: at most ${max}.` : "Too many.";
    case "less_than_equal": case "less_than": return max !== undefined ? `Too high: at most ${max}.` : "Too high.";
    case "greater_than_equal": case "greater_than": return min !== undefined ? `Too low: at least ${min}.` : "Too low.";
    case "int_parsing": case "int_type": case "int_from_float": return "Enter a whole number.";
    case "float_parsing": case "float_type": return "Enter a number.";
    case "literal_error": case "enum": return "Choose one of the listed options.";
    default: return sentence(item.msg ?? "Not accepted.");
  }
}

// pydantic's leftovers ("Input should be …", "Value error, …") as a sentence a person would write.
function sentence(msg) {
  const text = String(msg).replace(/^Value error, /, "").replace(/^Input should be /, "Must be ");
  return text[0].toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}
