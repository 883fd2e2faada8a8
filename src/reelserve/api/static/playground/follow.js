// Following one request to its end: its live events (GET /v1/requests/{id}/events) while the
// stream lasts, polling its status if the stream ends early (a server restarting, a proxy that
// buffers), then its result. Following another request stops the first.

import { api, events } from "./api.js";
import { showProblem, showResult, showStatus, showWaiting } from "./result.js";

const POLL_MS = 1000;
const ENDED = ["completed", "failed", "cancelled"];
let current = null;  // the AbortController of the request being followed

export async function follow(requestId, actions, onEnd) {
  current?.abort();
  const mine = new AbortController();
  current = mine;
  showWaiting("Submitted: waiting for the server…");
  const cancel = () => api("POST", `/v1/requests/${requestId}/cancel`).catch((error) => showProblem(error.message));
  const end = (result) => { showStatus(result, cancel); showResult(result, actions); onEnd(); };
  try {
    for await (const { event, data } of events(requestId, mine.signal)) {
      if (event === "status") showStatus(data, cancel);
      if (event === "result") { end(data); return; }
    }
  } catch (error) {
    if (mine.signal.aborted) return;
    if (error.status) { showProblem(error.message); return; }  // 401, 404: polling would get the same
  }
  await poll(requestId, mine.signal, cancel, end);
}

async function poll(requestId, signal, cancel, end) {
  while (!signal.aborted) {
    try {
      const status = await api("GET", `/v1/requests/${requestId}/status`);
      if (signal.aborted) return;
      if (ENDED.includes(status.status)) { end(await api("GET", `/v1/requests/${requestId}/result`)); return; }
      showStatus(status, cancel);
    } catch (error) {
      if (!signal.aborted) showProblem(error.message);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// Stop following (another request is being shown instead).
export const stopFollowing = () => current?.abort();
