// The result panel: a request's status as it changes (queued with Cancel, a progress bar), then
// its video with the facts about it, a failure in the server's words, or an empty state.

import { $, el, say } from "./dom.js";
import { statusWord } from "./words.js";

export function showEmpty() {
  $("#status").replaceChildren();
  $("#result").replaceChildren(el("div", { class: "empty" },
    el("p", { text: "Your video will appear here." }),
    el("p", { class: "help", text: "Write a prompt and press Generate: the progress shows here while it renders." })));
}

export function showStatus(status, cancel) {
  const id = el("p", { class: "help request-id", text: `Request ${status.request_id}` });
  const box = $("#status");
  if (status.status === "in_queue") {
    const button = el("button", { type: "button", id: "cancel", text: "Cancel", onclick: () => { button.disabled = true; cancel(); } });
    const where = status.queue_position ? `, position ${status.queue_position} in line` : ", next in line";
    box.replaceChildren(el("p", { class: "state", text: `${statusWord("in_queue")}${where}` }), button, id);
  } else if (status.status === "in_progress") {
    const percent = Math.round(status.progress ?? 0);
    const fill = el("div");
    fill.style.width = `${percent}%`;  // a style attribute would break the page's policy: a property is fine
    const bar = el("div", { role: "progressbar", "aria-label": "Progress", "aria-valuemin": 0, "aria-valuemax": 100,
                            "aria-valuenow": percent }, fill);
    box.replaceChildren(el("p", { class: "state", text: `${statusWord("in_progress")}: ${percent}%` }), bar, id);
  } else {
    box.replaceChildren(el("p", { class: "state", text: statusWord(status.status) }), id);
  }
}

export function showWaiting(text) {
  $("#status").replaceChildren(el("p", { class: "state", text }));
  $("#result").replaceChildren();
}

export function showProblem(message) {
  const p = el("p", { class: "error", role: "alert" });
  say(p, message);
  $("#status").replaceChildren(p);
}

// `actions`: callbacks for the buttons to add under the video (reuse the seed, reuse a history item's settings).
export function showResult(result, actions = {}) {
  const out = $("#result");
  if (result.status === "failed") {
    const p = el("p", { class: "error", role: "alert" });
    say(p, `Failed (${result.error?.code}): ${result.error?.message}`);
    out.replaceChildren(p, ...(actions.reuse ? [reuseButton(actions.reuse)] : []));
    return;
  }
  if (result.status !== "completed") {
    out.replaceChildren(el("p", { text: `This request was ${statusWord(result.status).toLowerCase()}.` }),
      ...(actions.reuse ? [reuseButton(actions.reuse)] : []));
    return;
  }
  const meta = result.metadata ?? {};
  const engine = meta.engine ?? {};
  const video = el("video", { controls: true, preload: "auto", src: result.output.video, poster: result.output.poster,
                              "aria-label": `Video of request ${result.request_id}` });
  const seed = el("dd", {}, String(meta.seed ?? "?"),
    actions.seed && meta.seed !== undefined ? el("button", { type: "button", class: "quiet", text: "Use this seed", onclick: () => actions.seed(meta.seed) }) : null);
  const facts = [
    ["Size", `${meta.width}×${meta.height}`], ["Duration", `${meta.duration_seconds} s`],
    ["Sound", meta.has_audio ? "Yes" : "No"], ["Engine", `${engine.family ?? "?"} · ${engine.weights ?? "?"} · ${engine.device ?? "?"}`],
  ];
  const shotList = (meta.shots ?? []).map((s) => el("li", { text: `${s.start_seconds.toFixed(1)} s, ${s.duration_seconds} s: ${s.prompt}` }));
  out.replaceChildren(
    engine.random_weights ? el("p", { class: "notice", role: "note", text: "Random weights: this video is noise. Shapes, durations, sound and timings are real." }) : null,
    video,
    el("p", { class: "actions" }, el("a", { class: "button", href: result.output.video, download: `${result.request_id}.mp4`, text: "Download MP4" }),
      actions.reuse ? reuseButton(actions.reuse) : null),
    el("dl", { class: "meta" }, ...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]), el("dt", { text: "Seed" }), seed),
    shotList.length ? el("h3", { text: "Shots" }) : null,
    shotList.length ? el("ol", { class: "shots" }, ...shotList) : null,
  );
}

const reuseButton = (reuse) => el("button", { type: "button", class: "quiet", text: "Use these settings", onclick: reuse });
