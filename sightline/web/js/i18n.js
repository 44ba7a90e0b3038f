// UI strings come from the server's one i18n table (sightline/i18n.py) via
// GET /api/i18n, so Python and the page never disagree on a translation.

const STORAGE_KEY = "sightline.lang";
const LANGS = ["en", "zh-CN"];

let messages = {};
let eventTypes = {};
let lang = "en";

// Which language to show: an explicit ?lang= in the address (remembered), then
// the choice saved by the language switch, then the browser's languages.
export function pickLang() {
  const fromUrl = new URLSearchParams(location.search).get("lang");
  if (LANGS.includes(fromUrl)) {
    saveLang(fromUrl);
    return fromUrl;
  }
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch (_) {
    /* storage disabled: fall through to the browser language */
  }
  if (LANGS.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const low = String(tag).toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("en")) return "en";
  }
  return "en";
}

export function saveLang(value) {
  try {
    localStorage.setItem(STORAGE_KEY, value);
  } catch (_) {
    /* not remembered, still switched */
  }
}

export async function loadLang(value) {
  const resp = await fetch(`/api/i18n?lang=${encodeURIComponent(value)}`, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`GET /api/i18n: HTTP ${resp.status}`);
  const table = await resp.json();
  messages = table.messages;
  eventTypes = table.event_types;
  lang = table.lang;
  document.documentElement.lang = lang;
  document.title = messages["app.title"] || "Sightline";
}

export function currentLang() {
  return lang;
}

export function otherLang() {
  return lang === "zh-CN" ? "en" : "zh-CN";
}

// t("live.dropped", {n: 3}) -> the message with {n} replaced.
export function t(key, vars) {
  let text = messages[key];
  if (text === undefined) {
    console.warn(`missing UI message ${key}`);
    text = key;
  }
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return text;
}

// A message for an open set of values (states, directions): the key if known, else the raw value.
export function tOr(key, fallback) {
  return key in messages ? messages[key] : String(fallback);
}

export function typeName(code) {
  return eventTypes[code] || code;
}

export function eventTypeCodes() {
  return Object.keys(eventTypes);
}
