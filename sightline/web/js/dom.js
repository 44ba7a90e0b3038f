// Building DOM nodes without HTML strings.
//
// Why: every name, tag, URL and note shown here was typed by someone; building
// elements and setting textContent (never parsing markup) makes a camera called
// "<img src=x onerror=...>" show up as those characters, not run. Event
// handlers are passed as functions under `on`, never as attribute strings.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "on") {
      for (const [evt, fn] of Object.entries(value)) el.addEventListener(evt, fn);
    } else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" && "value" in el) el.value = value;
    else if (key === "checked" && "checked" in el) el.checked = Boolean(value);
    else if (key.toLowerCase().startsWith("on")) throw new Error(`use {on: {...}} for ${key}`);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// Dates are shown in the browser's time zone, in the UI language's format.
export function fmtUnix(seconds, lang) {
  if (seconds === null || seconds === undefined) return "";
  return new Date(seconds * 1000).toLocaleString(lang);
}

export function fmtIso(iso, lang) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(lang);
}

export function fmtNumber(value, digits = 2) {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

// A value from an event's attributes or trace as readable text (no JSON dumps).
export function fmtValue(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return fmtNumber(value, 3);
  if (typeof value === "boolean") return value ? "✓" : "✗";
  if (Array.isArray(value)) return value.map(fmtValue).join(", ");
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${fmtValue(v)}`)
      .join(", ");
  }
  return String(value);
}

// <input type="datetime-local"> value <-> UNIX seconds, in local time.
export function localInputToUnix(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.getTime() / 1000;
}

export function spinner(text) {
  return h("div", { class: "state state-loading", role: "status" }, h("span", { class: "spin" }), text);
}

export function emptyState(text) {
  return h("div", { class: "state state-empty" }, text);
}

export function errorState(text) {
  return h("div", { class: "state state-error", role: "alert" }, text);
}
