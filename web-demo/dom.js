// Tiny DOM helpers: no framework, just elements.

/**
 * Creates an element. `props` sets attributes (`class`, `data-*`, `aria-*`),
 * properties (`textContent`, `value`…) and listeners (`onclick`…).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && !key.includes("-") && key !== "list") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Creates an SVG element with attributes. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** `document.getElementById`, failing loudly when the page lacks the id. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** Shortens text for one-line display. */
export function clip(text, max = 80) {
  if (text === null || text === undefined) return "";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Colour class of an event type, shared by the timeline and the logs. */
export function typeClass(type) {
  if (!type) return "t-other";
  if (type === "server.state") return "t-state";
  if (type.startsWith("item.created")) return "t-created";
  if (type.startsWith("item.updated")) return "t-updated";
  if (type.startsWith("item.deleted")) return "t-deleted";
  if (type.startsWith("revision.")) return "t-revision";
  return "t-other";
}
