// Building the page without ever parsing recorded text as HTML: every string goes in
// as a text node or an attribute value, so a recording holding "<script>" shows as text.

const SVG_NS = "http://www.w3.org/2000/svg";

function put(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function attrs(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  return el;
}

export function h(tag, props, ...children) {
  return put(attrs(document.createElement(tag), props), children);
}

export function s(tag, props, ...children) {
  return put(attrs(document.createElementNS(SVG_NS, tag), props), children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function size(n) {
  if (n === null || n === undefined) return "-";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function secs(x) {
  if (x === null || x === undefined) return "-";
  if (x < 1) return `${(x * 1000).toFixed(x < 0.01 ? 1 : 0)} ms`;
  return `${x.toFixed(2)} s`;
}

export function num(n) {
  return n === null || n === undefined ? "-" : Number(n).toLocaleString("en");
}

export function date(iso) {
  return iso ? iso.replace("T", " ").replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "") : "-";
}

export function pretty(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export function recordingHref(id) {
  return `#/r/${encodeURIComponent(id)}`;
}

export function typing(event) {
  const t = event.target;
  return t && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName));
}
