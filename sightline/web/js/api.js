// The one place that talks to the HTTP API.
//
// Sign-in travels in the HttpOnly session cookie set by POST /api/auth/login,
// so no token is kept where page scripts could read it. A 401 anywhere sends
// the user back to the login page (the session expired or was revoked).

import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, message, fieldErrors = {}) {
    super(message);
    this.status = status;
    // "name" or "config.rules.0.line" -> message, from a 422's detail locations.
    this.fieldErrors = fieldErrors;
  }
}

const listeners = new Set();
export function onUnauthorized(fn) {
  listeners.add(fn);
}

// FastAPI errors come as {detail: "text"} or, for validation, as
// {detail: [{loc: ["body", "latitude"], msg: "..."}]}; turn both into text
// plus a map from field path to message, so forms can show each next to its field.
function parseError(status, body) {
  const detail = body && typeof body === "object" ? body.detail : body;
  const fields = {};
  if (Array.isArray(detail)) {
    const lines = [];
    for (const item of detail) {
      // Drop the request part ("body") and the rule-type tags pydantic puts
      // into union locations ("sightline/line_crossing@v1"), so the path
      // matches the form's field names: config.rules.0.min_interval_s.
      const loc = (item.loc || []).filter(
        (p, i) => !(i === 0 && ["body", "query", "path"].includes(p)) && !/^[\w.-]+\/[\w.-]+@v\d+$/.test(String(p)),
      );
      const msg = String(item.msg || "").replace(/^Value error, /, "");
      const key = loc.join(".");
      if (key) fields[key] = fields[key] ? `${fields[key]}; ${msg}` : msg;
      lines.push(key ? `${key}: ${msg}` : msg);
    }
    return new ApiError(status, lines.join("\n") || t("error.invalid"), fields);
  }
  if (detail && typeof detail === "object") {
    return new ApiError(status, String(detail.message || detail.msg || t("error.generic")));
  }
  if (typeof detail === "string" && detail) return new ApiError(status, detail);
  return new ApiError(status, t("error.http", { status }));
}

export async function api(method, path, body) {
  const init = {
    method,
    credentials: "same-origin",
    // Marks the request as coming from this page's script (CSRF defence in
    // depth on top of the SameSite=Strict cookie).
    headers: { Accept: "application/json", "X-Requested-With": "sightline-ui" },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, t("error.network"));
  }
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    const err = parseError(resp.status, data);
    if (resp.status === 401 && !path.startsWith("/api/auth/login")) listeners.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const enc = encodeURIComponent;
