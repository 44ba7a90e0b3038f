// One event: the frame with its boxes drawn on a canvas (scaled from the
// analysed frame's size to the shown image), the preview and crop images,
// its facts, attributes and strategy trace, review buttons with the review
// history, and the hazard ticket raised from it.

import { enc, get, post } from "./api.js";
import { emptyState, errorState, fmtIso, fmtNumber, fmtUnix, fmtValue, h, replace, spinner } from "./dom.js";
import { openDialog } from "./forms.js";
import { currentLang, t, tOr, typeName } from "./i18n.js";
import { statusBadge } from "./live.js";
import { ticketPanel } from "./hazards.js";

const REVIEW_ACTIONS = [
  ["true", "review.mark_true", ""],
  ["false", "review.mark_false", "secondary"],
  ["ignored", "review.mark_ignored", "secondary"],
];

export async function render(root, [eventId], app) {
  let ev;
  try {
    ev = await get(`/api/events/${enc(eventId)}`);
  } catch (err) {
    replace(root, backLink(), errorState(err.status === 404 ? t("event.not_found") : err.message));
    return;
  }
  const reviewBox = h("section", { class: "panel", "data-testid": "review-panel" });
  const hazardBox = h("section", { class: "panel", "data-testid": "hazard-panel" });
  const statusSlot = h("span", { "data-testid": "event-status" }, statusBadge(ev.status));
  const outcome = h("span", { class: `badge outcome-${ev.outcome}`, "data-testid": "event-outcome", text: t(`outcome.${ev.outcome}`) });
  replace(
    root,
    backLink(),
    h("div", { class: "view-head" }, h("h1", { text: typeName(ev.type) }), outcome, statusSlot),
    h(
      "div",
      { class: "detail" },
      h("div", { class: "detail-media" }, frameWithBoxes(ev), smallImages(ev)),
      h("div", { class: "detail-side" }, facts(ev, app), reviewBox, hazardBox, attributes(ev), trace(ev)),
    ),
  );

  async function refresh() {
    try {
      ev = await get(`/api/events/${enc(eventId)}`);
    } catch (err) {
      replace(reviewBox, errorState(err.message));
      return;
    }
    replace(statusSlot, statusBadge(ev.status));
    drawReview();
    drawHazard();
  }

  function drawReview() {
    const error = h("div", { class: "form-error", role: "alert" });
    const note = h("textarea", { rows: 2, maxlength: 5000, placeholder: t("review.note"), "aria-label": t("review.note") });
    const buttons = app.can("reviewer")
      ? REVIEW_ACTIONS.map(([status, key, cls]) =>
          h("button", {
            type: "button",
            class: `${cls} ${ev.status === status ? "current" : ""}`.trim(),
            "data-testid": `review-${status}`,
            text: t(key),
            on: {
              click: async (e) => {
                e.target.disabled = true;
                try {
                  await post(`/api/events/${enc(ev.id)}/review`, { status, note: note.value });
                  await refresh();
                } catch (err) {
                  error.textContent = err.message;
                  e.target.disabled = false;
                }
              },
            },
          }),
        )
      : [h("p", { class: "muted", text: t("review.need_role") })];
    if (app.can("reviewer") && ev.images?.crop) {
      // One action: mark false positive and put the crop into the camera's error library.
      buttons.push(
        h("button", {
          type: "button",
          class: "secondary",
          "data-testid": "review-false-library",
          text: t("review.mark_false_library"),
          on: {
            click: async (e) => {
              e.target.disabled = true;
              try {
                await post(`/api/events/${enc(ev.id)}/review`, { status: "false", note: note.value, add_to_error_library: true });
                await refresh();
                error.textContent = t("library.added");
              } catch (err) {
                error.textContent = err.message;
                e.target.disabled = false;
              }
            },
          },
        }),
      );
    }
    const history = (ev.reviews || []).length
      ? h(
          "ul",
          { class: "history", "data-testid": "review-history" },
          [...ev.reviews].reverse().map((r) =>
            h(
              "li",
              {},
              statusBadge(r.status),
              " ",
              h("span", { class: "strong", text: r.reviewer_name || t("review.unknown_reviewer") }),
              " ",
              h("span", { class: "muted small", text: fmtIso(r.created_at, currentLang()) }),
              r.note ? h("div", { class: "note", text: r.note }) : null,
            ),
          ),
        )
      : h("p", { class: "muted", text: t("review.none") });
    replace(
      reviewBox,
      h("h2", { text: t("review.title") }),
      app.can("reviewer") ? note : null,
      h("div", { class: "button-row" }, buttons),
      error,
      history,
    );
  }

  function drawHazard() {
    if (ev.hazard) {
      replace(hazardBox, h("h2", { text: t("hazard.title") }), spinner(t("state.loading")));
      ticketPanel(ev.hazard.id, app).then((panel) => replace(hazardBox, h("h2", { text: t("hazard.title") }), panel));
      return;
    }
    const report = app.can("reviewer")
      ? h("button", { type: "button", "data-testid": "report-hazard", text: t("hazard.report"), on: { click: openReport } })
      : null;
    replace(hazardBox, h("h2", { text: t("hazard.title") }), h("p", { class: "muted", text: t("hazard.none") }), report);
  }

  function openReport() {
    const title = h("input", { maxlength: 200, value: `${typeName(ev.type)} · ${app.cameraName(ev.camera_id)}` });
    const description = h("textarea", { rows: 4, maxlength: 5000 });
    const error = h("div", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit", text: t("hazard.report") });
    const form = h(
      "form",
      { class: "form" },
      h("label", { text: t("hazard.ticket_title") }),
      title,
      h("label", { text: t("hazard.description") }),
      description,
      error,
      h("div", { class: "form-actions" }, submit),
    );
    const { close } = openDialog(t("hazard.report"), form);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        await post(`/api/events/${enc(ev.id)}/hazard`, { title: title.value, description: description.value });
        close();
        await refresh();
      } catch (err) {
        error.textContent = err.message;
        submit.disabled = false;
      }
    });
  }

  drawReview();
  drawHazard();
}

function backLink() {
  return h("a", { href: "#/events", class: "back", text: `← ${t("event.back")}` });
}

// The full frame as shown, with every box of the event drawn over it.
// Boxes are in the analysed frame's pixels (frame_size); the image may be
// shown smaller, so they are scaled by shown width / frame width.
function frameWithBoxes(ev) {
  const kind = ev.images?.frame ? "frame" : ev.images?.preview ? "preview" : null;
  if (!kind) return emptyState(t("event.no_image"));
  const img = h("img", { class: "frame-image", alt: typeName(ev.type), src: ev.images[kind] });
  const canvas = h("canvas", { class: "frame-canvas", "data-testid": "box-canvas" });
  const draw = () => {
    const w = img.clientWidth;
    const hh = img.clientHeight;
    if (!w || !hh) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hh * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${hh}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const [fw, fh] = ev.frame_size || [img.naturalWidth, img.naturalHeight];
    const sx = w / fw;
    const sy = hh / fh;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    for (const b of ev.boxes || []) {
      const x = b.x1 * sx;
      const y = b.y1 * sy;
      const bw = (b.x2 - b.x1) * sx;
      const bh = (b.y2 - b.y1) * sy;
      ctx.strokeStyle = "#ffd400";
      ctx.lineWidth = 2;
      ctx.strokeRect(x, y, bw, bh);
      const text = [b.class_name, b.track_id !== null && b.track_id !== undefined ? `#${b.track_id}` : null, fmtNumber(b.confidence)]
        .filter(Boolean)
        .join(" ");
      const tw = ctx.measureText(text).width + 6;
      ctx.fillStyle = "rgba(0, 0, 0, 0.7)";
      ctx.fillRect(x, Math.max(0, y - 16), tw, 16);
      ctx.fillStyle = "#ffd400";
      ctx.fillText(text, x + 3, Math.max(16, y));
    }
  };
  img.addEventListener("load", draw);
  const box = h("figure", { class: "frame-box" }, h("div", { class: "frame-stage" }, img, canvas), h("figcaption", { text: t(`event.image_${kind}`) }));
  new ResizeObserver(draw).observe(img);
  return box;
}

function smallImages(ev) {
  const figs = ["preview", "crop"]
    .filter((k) => ev.images && ev.images[k])
    .map((k) =>
      h(
        "figure",
        { class: "small-image" },
        h("a", { href: ev.images[k], target: "_blank", rel: "noopener" }, h("img", { src: ev.images[k], alt: t(`event.image_${k}`) })),
        h("figcaption", { text: t(`event.image_${k}`) }),
      ),
    );
  return figs.length ? h("div", { class: "small-images" }, figs) : null;
}

function facts(ev, app) {
  const rows = [
    ["event.time", fmtUnix(ev.wall_time, currentLang())],
    ["event.camera", app.cameraName(ev.camera_id)],
    ["event.rule", ev.rule_id],
    ["event.zone", ev.zone_id],
    ["event.line", ev.line_id],
    ["event.direction", ev.direction ? tOr(`direction.${ev.direction}`, ev.direction) : null],
    ["event.object", ev.class_name],
    ["event.track", ev.track_id],
    ["event.confidence", fmtNumber(ev.confidence)],
    ["event.frame_seq", ev.frame_seq],
    ["event.pts", fmtNumber(ev.pts, 3)],
    ["event.id", ev.id],
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
  return h("section", { class: "panel" }, h("h2", { text: t("event.facts") }), kvTable(rows.map(([k, v]) => [t(k), v])));
}

function attributes(ev) {
  const entries = Object.entries(ev.attributes || {});
  return h(
    "section",
    { class: "panel" },
    h("h2", { text: t("event.attributes") }),
    entries.length ? kvTable(entries.map(([k, v]) => [tOr(`attr.${k}`, k), fmtValue(v)])) : h("p", { class: "muted", text: t("event.no_attributes") }),
  );
}

// The strategy trace (P2): every element the event went through, in order,
// with its verdict, the reason and the values compared; the element that
// blocked the event is highlighted. Steps are {element_id, element_type,
// verdict, reason, values}; older free-form steps are shown as listed pairs.
function trace(ev) {
  const steps = ev.trace || [];
  const strategy = ev.strategy_id ? `${ev.strategy_id} v${ev.strategy_version}` : null;
  const known = ["element_id", "element_type", "verdict", "reason", "values", "element", "name", "stage", "decision", "result", "passed"];
  return h(
    "section",
    { class: "panel", "data-testid": "trace-panel" },
    h("h2", { text: t("event.trace") }),
    strategy ? h("p", { class: "muted small" }, `${t("event.strategy")}: `, h("span", { class: "mono", text: strategy })) : null,
    ev.blocked_by ? h("p", { class: "form-error", text: t("event.blocked_by", { element: ev.blocked_by }) }) : null,
    steps.length
      ? h(
          "ol",
          { class: "trace" },
          steps.map((s) => {
            const name = s.element_id || s.element || s.name || s.stage || "";
            const decision = s.verdict ?? s.decision ?? s.result ?? (s.passed === undefined ? null : s.passed ? "pass" : "block");
            const blocking = s.verdict === "blocked" && name === ev.blocked_by;
            const values = s.values && typeof s.values === "object" ? Object.entries(s.values) : [];
            const rest = Object.entries(s).filter(([k]) => !known.includes(k));
            return h(
              "li",
              { class: blocking ? "trace-blocking" : null, "data-testid": blocking ? "trace-blocking" : "trace-step", title: blocking ? t("trace.blocking") : null },
              h("span", { class: "strong", text: name }),
              s.element_type ? h("span", { class: "muted small mono", text: ` ${s.element_type} ` }) : null,
              decision !== null && decision !== undefined
                ? h("span", { class: `badge trace-${String(decision)}`, text: tOr(`trace.${decision}`, decision) })
                : null,
              s.reason ? h("div", { text: String(s.reason) }) : null,
              values.length ? h("div", { class: "muted small", text: values.map(([k, v]) => `${k}: ${fmtValue(v)}`).join(" · ") }) : null,
              rest.length ? h("div", { class: "muted small", text: rest.map(([k, v]) => `${k}: ${fmtValue(v)}`).join(" · ") }) : null,
            );
          }),
        )
      : h("p", { class: "muted", text: t("event.no_trace") }),
  );
}

export function kvTable(rows) {
  return h(
    "table",
    { class: "kv" },
    h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: String(v) })))),
  );
}
