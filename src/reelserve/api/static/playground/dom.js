// Small DOM helpers shared by every module of the page.

export const $ = (selector) => document.querySelector(selector);

// el("p", {class: "help", text: "…", onclick: f}, child, …): attributes, listeners and children in one call.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Messages from the server and this page write commands in `backticks`, as markdown does: shown as
// code, never as literal backticks, and never parsed as HTML.
function rich(text) {
  return String(text).split("`").map((part, i) => (i % 2 ? el("code", { text: part }) : document.createTextNode(part)));
}

export function say(node, text) {
  node.replaceChildren(...rich(text ?? ""));
}

// Ids made here are numbered once per page, so removing and adding rows never repeats one.
let made = 0;
export const freshId = (prefix) => `${prefix}-${++made}`;
