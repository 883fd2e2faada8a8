// The form as code: curl, Python (the SDK) and `reelserve run`, shown and put on the clipboard.
// The key is never written into the code: each reads it from REELSERVE_API_KEY.

import { $, say } from "./dom.js";

const FEEDBACK_MS = 2000;
// The CLI's options for the image fields (`reelserve run --image PATH_OR_URL --end-image PATH_OR_URL`).
const IMAGE_FLAGS = { start_image_url: "--image", end_image_url: "--end-image" };
const extension = (dataUri) => ({ "image/jpeg": "jpg", "image/webp": "webp" })[dataUri.slice(5, dataUri.indexOf(";"))] || "png";
const shellQuote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

function pythonValue(value) {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null) return "None";
  if (Array.isArray(value)) return `[${value.map(pythonValue).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonValue(v)}`).join(", ")}}`;
  return JSON.stringify(value);
}

export function code(kind, modelId, body) {
  const base = window.location.origin;
  if (kind === "curl") {
    return `curl --request POST --url ${base}/v1/models/${modelId} \\\n  --header "Content-Type: application/json" \\\n` +
      `  --header "Authorization: Bearer $REELSERVE_API_KEY" \\\n  --data ${shellQuote(JSON.stringify(body))}`;
  }
  if (kind === "python") {
    return `import reelserve\n\nclient = reelserve.Client(${JSON.stringify(base)})  # the key: REELSERVE_API_KEY\n` +
      `result = client.run(${JSON.stringify(modelId)}, ${pythonValue(body)}, download_to="video.mp4")\nprint(result.video_url)`;
  }
  const flags = [];
  const notes = [];
  for (const [name, value] of Object.entries(body)) {
    if (name in IMAGE_FLAGS) {
      // A picture from this machine travels inline, too long for one shell argument (128 KiB on Linux):
      // the command names a file to save it as, and `reelserve run` sends that file.
      const inline = String(value).startsWith("data:");
      const file = `${IMAGE_FLAGS[name].slice(2)}.${inline ? extension(value) : ""}`;
      if (inline) notes.push(`# ${IMAGE_FLAGS[name]}: save the picture you chose as ${file}`);
      flags.push(`${IMAGE_FLAGS[name]} ${shellQuote(inline ? file : value)}`);
    } else if (name === "multi_prompt") value.forEach((s) => flags.push(`--shot ${shellQuote(`${s.prompt}:${s.duration}`)}`));
    else if (typeof value === "boolean") flags.push(`--${value ? "" : "no-"}${name.replaceAll("_", "-")}`);
    else flags.push(`--${name.replaceAll("_", "-")} ${shellQuote(value)}`);
  }
  const command = `reelserve run ${modelId} --base-url ${base} \\\n  ${flags.join(" \\\n  ")} \\\n  -o video.mp4`;
  return notes.length ? `${notes.join("\n")}\n${command}` : command;
}

// Shows the code, copies it, and says so on the button for a moment; if the browser refuses the
// clipboard, the code is selected for Ctrl+C instead.
export async function copy(button, text) {
  const pre = $("#code");
  pre.textContent = text;
  pre.hidden = false;
  pre.dataset.kind = button.dataset.copy;
  const label = button.dataset.label ??= button.textContent;
  let copied = true;
  try { await navigator.clipboard.writeText(text); } catch { copied = false; }
  if (!copied) window.getSelection().selectAllChildren(pre);
  button.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
  say($("#copy-status"), copied ? "Copied to the clipboard." : "The browser did not allow copying: the code is selected, press Ctrl+C.");
  clearTimeout(button.restore);
  button.restore = setTimeout(() => { button.textContent = label; }, FEEDBACK_MS);
}
