// The HTTP API, with the key the user typed: JSON calls, and a request's live events.
//
// EventSource cannot send an Authorization header, and the events route takes the key only there
// (never in the URL, where logs and Referer would keep it), so the stream is read with fetch.

import { $ } from "./dom.js";

const KEY_ITEM = "reelserve.apiKey";

export const currentKey = () => $("#api-key").value.trim();

export function loadKey() {
  const remembered = localStorage.getItem(KEY_ITEM);
  $("#remember").checked = remembered !== null;
  $("#api-key").value = remembered ?? sessionStorage.getItem(KEY_ITEM) ?? "";
}

// sessionStorage by default, localStorage only when asked.
export function saveKey() {
  const key = currentKey();
  sessionStorage.removeItem(KEY_ITEM);
  localStorage.removeItem(KEY_ITEM);
  if (key) ($("#remember").checked ? localStorage : sessionStorage).setItem(KEY_ITEM, key);
}

async function failure(response) {
  const data = await response.json().catch(() => ({}));
  const message = data.error_message || `The server answered HTTP ${response.status}.`;
  return Object.assign(new Error(message), { data, status: response.status });
}

export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${currentKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// Yields {event, data} for each server-sent event of GET /v1/requests/{id}/events until the stream ends.
export async function* events(requestId, signal) {
  const response = await fetch(`/v1/requests/${encodeURIComponent(requestId)}/events`, {
    headers: { Authorization: `Bearer ${currentKey()}`, Accept: "text/event-stream" }, signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    // A block ends at a blank line; lines may end in \r\n, \n or \r (sse-starlette sends \r\n).
    for (let end = blockEnd(buffer); end; end = blockEnd(buffer)) {
      const parsed = parseBlock(buffer.slice(0, end.index));
      buffer = buffer.slice(end.index + end[0].length);
      if (parsed) yield parsed;
    }
  }
}

// A lone \r at the end of what arrived may be half of \r\n: wait for the next chunk to decide.
const blockEnd = (buffer) => /(\r\n|\r(?!\n|$)|\n)(\r\n|\r(?!\n|$)|\n)/.exec(buffer);

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (!line || line.startsWith(":")) continue;  // comments are the server's keep-alive pings
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "event") event = value;
    else if (name === "data") data.push(value);
  }
  return data.length ? { event, data: JSON.parse(data.join("\n")) } : null;
}
