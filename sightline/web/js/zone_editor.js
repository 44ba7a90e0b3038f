// Zones and lines drawn on a camera snapshot.
//
// Coordinates are kept normalised (x = pixel_x / width, y = pixel_y / height,
// 0-1, origin top left), exactly what sightline.core.geometry.Zone / Line take,
// so one drawing works at any stream resolution.
//
// Tools: "zone" (click to add points; double-click, Enter, "Finish zone" or a
// click on the first point closes it), "line" (two clicks: start, end; the
// arrow shows the "in" side), "select" (click a shape to select it, drag a
// point or a whole shape to move it, Delete removes it). Points can be dragged
// with any tool when no drawing is in progress.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

const HIT_PX = 9; // how close (CSS px) a click must be to grab a point
const COLORS = ["#2f80ed", "#eb5757", "#27ae60", "#f2994a", "#9b51e0", "#00a3a3"];

const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
const clampPt = ([x, y]) => [round(x), round(y)];

function orient(a, b, c) {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

// Mirrors the server's check (Zone._simple_polygon), so the user hears about
// a crossed polygon while drawing, not only when saving.
export function selfIntersects(points) {
  const n = points.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      const [p1, p2, q1, q2] = [points[i], points[(i + 1) % n], points[j], points[(j + 1) % n]];
      if (orient(q1, q2, p1) * orient(q1, q2, p2) < 0 && orient(p1, p2, q1) * orient(p1, p2, q2) < 0) return true;
    }
  }
  return false;
}

function area(points) {
  let s = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i];
    const [x2, y2] = points[(i + 1) % points.length];
    s += x1 * y2 - x2 * y1;
  }
  return Math.abs(s / 2);
}

// The "in" side: the direction start->end turned 90 degrees clockwise on
// screen (image y grows downwards), as in sightline.core.geometry.Line.
export function inNormal(start, end) {
  const dx = end[0] - start[0];
  const dy = end[1] - start[1];
  const len = Math.hypot(dx, dy) || 1;
  return [-dy / len, dx / len];
}

function nextId(prefix, taken) {
  let n = 1;
  while (taken.has(`${prefix}-${n}`)) n++;
  return `${prefix}-${n}`;
}

export class ZoneEditor {
  constructor({ imageUrl = null, zones = [], lines = [], onChange = () => {} } = {}) {
    this.zones = zones.map((z) => ({ id: z.id, name: z.name || "", points: z.points.map(clampPt) }));
    this.lines = lines.map((l) => ({ id: l.id, name: l.name || "", start: clampPt(l.start), end: clampPt(l.end) }));
    this.onChange = onChange;
    this.tool = "zone";
    this.draft = []; // zone points being drawn
    this.lineStart = null;
    this.hover = null;
    this.selected = null; // {kind: "zone"|"line", index}
    this.drag = null; // {kind, index, point: number|"start"|"end"|"all", last}
    this.build(imageUrl);
  }

  // -- public -----------------------------------------------------------------------
  value() {
    return {
      zones: this.zones.map((z) => ({ id: z.id, name: z.name, points: z.points.map(clampPt) })),
      lines: this.lines.map((l) => ({ id: l.id, name: l.name, start: clampPt(l.start), end: clampPt(l.end) })),
    };
  }

  setImage(url) {
    this.stage.classList.remove("no-image");
    this.noImage.hidden = true;
    if (url) this.img.src = url;
    else this.showNoImage();
  }

  destroy() {
    this.resizeObserver.disconnect();
  }

  // -- DOM ----------------------------------------------------------------------------
  build(imageUrl) {
    this.img = h("img", { class: "editor-image", alt: t("editor.snapshot_alt"), draggable: "false" });
    this.img.addEventListener("load", () => this.resize());
    this.img.addEventListener("error", () => this.showNoImage());
    this.canvas = h("canvas", { class: "editor-canvas", "data-testid": "zone-canvas", tabindex: "0" });
    this.noImage = h("div", { class: "editor-no-image", hidden: true, text: t("editor.no_snapshot") });
    this.stage = h("div", { class: "editor-stage" }, this.img, this.canvas, this.noImage);
    this.toolButtons = {};
    const tool = (name, key) => {
      const b = h("button", {
        type: "button",
        class: "tool",
        "data-tool": name,
        text: t(key),
        on: { click: () => this.setTool(name) },
      });
      this.toolButtons[name] = b;
      return b;
    };
    this.finishBtn = h("button", {
      type: "button",
      "data-testid": "finish-zone",
      text: t("editor.finish_zone"),
      on: { click: () => this.finishZone() },
    });
    this.deleteBtn = h("button", {
      type: "button",
      class: "danger",
      text: t("editor.delete_selected"),
      on: { click: () => this.deleteSelected() },
    });
    this.hint = h("div", { class: "editor-hint" });
    this.message = h("div", { class: "form-error", role: "alert" });
    this.list = h("ul", { class: "shape-list" });
    this.element = h(
      "div",
      { class: "zone-editor", "data-testid": "zone-editor" },
      h(
        "div",
        { class: "editor-toolbar" },
        tool("zone", "editor.tool_zone"),
        tool("line", "editor.tool_line"),
        tool("select", "editor.tool_select"),
        this.finishBtn,
        this.deleteBtn,
      ),
      this.hint,
      this.stage,
      this.message,
      this.list,
    );
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.onDown(e));
    c.addEventListener("pointermove", (e) => this.onMove(e));
    c.addEventListener("pointerup", (e) => this.onUp(e));
    c.addEventListener("pointerleave", () => {
      this.hover = null;
      this.draw();
    });
    c.addEventListener("dblclick", (e) => {
      e.preventDefault();
      if (this.tool === "zone") this.finishZone();
    });
    c.addEventListener("keydown", (e) => this.onKey(e));
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.stage);
    this.setTool("zone");
    this.renderList();
    this.setImage(imageUrl);
  }

  showNoImage() {
    // No snapshot yet (camera not started or unreachable): draw on a blank
    // 16:9 frame; normalised coordinates stay valid once the picture arrives.
    this.img.removeAttribute("src");
    this.stage.classList.add("no-image");
    this.noImage.hidden = false;
    this.resize();
  }

  setTool(name) {
    this.tool = name;
    this.draft = [];
    this.lineStart = null;
    for (const [k, b] of Object.entries(this.toolButtons)) b.classList.toggle("active", k === name);
    this.hint.textContent = t(`editor.hint_${name}`);
    this.message.textContent = "";
    this.updateButtons();
    this.draw();
  }

  updateButtons() {
    this.finishBtn.disabled = !(this.tool === "zone" && this.draft.length >= 3);
    this.deleteBtn.disabled = this.selected === null;
  }

  renderList() {
    const items = [];
    this.zones.forEach((z, i) => items.push(this.listItem("zone", i, z)));
    this.lines.forEach((l, i) => items.push(this.listItem("line", i, l)));
    if (!items.length) items.push(h("li", { class: "muted", text: t("editor.empty") }));
    replace(this.list, items);
  }

  listItem(kind, index, shape) {
    const selected = this.selected && this.selected.kind === kind && this.selected.index === index;
    const color = COLORS[(kind === "zone" ? index : index + 3) % COLORS.length];
    const name = h("input", {
      class: "shape-name",
      value: shape.name,
      placeholder: t(kind === "zone" ? "editor.zone_name" : "editor.line_name"),
      "aria-label": t("editor.name"),
      on: {
        input: () => {
          shape.name = name.value;
          this.draw();
          this.onChange(this.value());
        },
      },
    });
    const extra =
      kind === "line"
        ? h("button", {
            type: "button",
            class: "secondary small",
            title: t("editor.swap_hint"),
            text: t("editor.swap"),
            on: {
              click: () => {
                [shape.start, shape.end] = [shape.end, shape.start];
                this.changed();
              },
            },
          })
        : null;
    const swatch = h("span", { class: "swatch" });
    swatch.style.background = color; // CSSOM, allowed by the page's CSP (no style attribute)
    return h(
      "li",
      {
        class: selected ? "selected" : null,
        dataset: { kind, id: shape.id },
        on: {
          click: (e) => {
            if (e.target.closest("button, input")) return;
            this.selected = { kind, index };
            this.renderList();
            this.updateButtons();
            this.draw();
          },
        },
      },
      swatch,
      h("code", { class: "shape-id", text: shape.id }),
      h("span", { class: "badge", text: t(kind === "zone" ? "editor.kind_zone" : "editor.kind_line") }),
      name,
      extra,
      h("button", {
        type: "button",
        class: "danger small",
        text: t("action.delete"),
        on: {
          click: () => {
            this.selected = { kind, index };
            this.deleteSelected();
          },
        },
      }),
    );
  }

  // -- geometry helpers ----------------------------------------------------------------
  size() {
    const r = this.canvas.getBoundingClientRect();
    return [r.width || 1, r.height || 1];
  }

  toNorm(e) {
    const r = this.canvas.getBoundingClientRect();
    return [round((e.clientX - r.left) / r.width), round((e.clientY - r.top) / r.height)];
  }

  toPx([x, y]) {
    const [w, hh] = this.size();
    return [x * w, y * hh];
  }

  near(a, b) {
    const [ax, ay] = this.toPx(a);
    const [bx, by] = this.toPx(b);
    return Math.hypot(ax - bx, ay - by) <= HIT_PX;
  }

  hitPoint(p) {
    for (let i = this.zones.length - 1; i >= 0; i--) {
      const k = this.zones[i].points.findIndex((q) => this.near(p, q));
      if (k >= 0) return { kind: "zone", index: i, point: k };
    }
    for (let i = this.lines.length - 1; i >= 0; i--) {
      if (this.near(p, this.lines[i].start)) return { kind: "line", index: i, point: "start" };
      if (this.near(p, this.lines[i].end)) return { kind: "line", index: i, point: "end" };
    }
    return null;
  }

  hitShape(p) {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const { start, end } = this.lines[i];
      const [px, py] = this.toPx(p);
      const [ax, ay] = this.toPx(start);
      const [bx, by] = this.toPx(end);
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2 || 1;
      const u = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2));
      if (Math.hypot(px - (ax + u * (bx - ax)), py - (ay + u * (by - ay))) <= HIT_PX) {
        return { kind: "line", index: i };
      }
    }
    for (let i = this.zones.length - 1; i >= 0; i--) {
      if (pointInPolygon(p, this.zones[i].points)) return { kind: "zone", index: i };
    }
    return null;
  }

  // -- interaction ------------------------------------------------------------------
  onDown(e) {
    if (e.button !== 0) return;
    this.canvas.focus({ preventScroll: true }); // for the keys; scrolling now would shift the drag
    const p = this.toNorm(e);
    this.message.textContent = "";
    const drawing = this.draft.length > 0 || this.lineStart !== null;
    if (this.tool === "zone" && this.draft.length >= 3 && this.near(p, this.draft[0])) {
      this.finishZone();
      return;
    }
    if (!drawing) {
      const hit = this.hitPoint(p);
      if (hit) {
        this.selected = { kind: hit.kind, index: hit.index };
        this.drag = { ...hit, last: p };
        this.canvas.setPointerCapture(e.pointerId);
        this.renderList();
        this.updateButtons();
        this.draw();
        return;
      }
    }
    if (this.tool === "zone") {
      this.draft.push(p);
    } else if (this.tool === "line") {
      if (this.lineStart === null) {
        this.lineStart = p;
      } else if (this.near(p, this.lineStart)) {
        this.message.textContent = t("editor.line_too_short");
      } else {
        const id = nextId("line", new Set(this.lines.map((l) => l.id)));
        this.lines.push({ id, name: t("editor.line_default", { n: this.lines.length + 1 }), start: this.lineStart, end: p });
        this.lineStart = null;
        this.selected = { kind: "line", index: this.lines.length - 1 };
        this.changed();
      }
    } else {
      const hit = this.hitShape(p);
      this.selected = hit;
      if (hit) {
        this.drag = { ...hit, point: "all", last: p };
        this.canvas.setPointerCapture(e.pointerId);
      }
      this.renderList();
    }
    this.updateButtons();
    this.draw();
  }

  onMove(e) {
    const p = this.toNorm(e);
    this.hover = p;
    const d = this.drag;
    if (d) {
      if (d.kind === "zone") {
        const zone = this.zones[d.index];
        if (d.point === "all") zone.points = zone.points.map((q) => shift(q, p, d.last));
        else zone.points[d.point] = p;
      } else {
        const line = this.lines[d.index];
        if (d.point === "all") {
          line.start = shift(line.start, p, d.last);
          line.end = shift(line.end, p, d.last);
        } else line[d.point] = p;
      }
      d.last = p;
      d.moved = true;
    }
    this.draw();
  }

  onUp(e) {
    const d = this.drag;
    this.drag = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    if (d && d.moved) {
      if (d.kind === "zone" && selfIntersects(this.zones[d.index].points)) {
        this.message.textContent = t("editor.zone_crosses");
      }
      this.changed();
    }
  }

  onKey(e) {
    if (e.key === "Enter" && this.tool === "zone") {
      e.preventDefault();
      this.finishZone();
    } else if (e.key === "Escape") {
      this.draft = [];
      this.lineStart = null;
      this.updateButtons();
      this.draw();
    } else if ((e.key === "Delete" || e.key === "Backspace") && this.selected) {
      e.preventDefault();
      this.deleteSelected();
    }
  }

  finishZone() {
    // A double-click also lands two clicks: drop points on top of the previous one.
    const pts = [];
    for (const p of this.draft) if (!pts.length || !this.near(p, pts[pts.length - 1])) pts.push(p);
    if (pts.length > 3 && this.near(pts[0], pts[pts.length - 1])) pts.pop();
    if (pts.length < 3) {
      this.message.textContent = t("editor.zone_needs_3");
      this.draft = pts;
      this.updateButtons();
      return;
    }
    if (selfIntersects(pts)) {
      this.message.textContent = t("editor.zone_crosses");
      return;
    }
    if (area(pts) < 1e-4) {
      this.message.textContent = t("editor.zone_no_area");
      return;
    }
    const id = nextId("zone", new Set(this.zones.map((z) => z.id)));
    this.zones.push({ id, name: t("editor.zone_default", { n: this.zones.length + 1 }), points: pts });
    this.draft = [];
    this.selected = { kind: "zone", index: this.zones.length - 1 };
    this.changed();
  }

  deleteSelected() {
    const s = this.selected;
    if (!s) return;
    (s.kind === "zone" ? this.zones : this.lines).splice(s.index, 1);
    this.selected = null;
    this.changed();
  }

  changed() {
    this.renderList();
    this.updateButtons();
    this.draw();
    this.onChange(this.value());
  }

  // -- drawing ------------------------------------------------------------------------
  resize() {
    const [w, hh] = this.size();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(hh * dpr);
    this.draw();
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const [w, hh] = this.size();
    ctx.clearRect(0, 0, w, hh);
    ctx.font = "13px system-ui, sans-serif";
    ctx.lineJoin = "round";
    this.zones.forEach((z, i) => this.drawZone(ctx, z, COLORS[i % COLORS.length], this.isSelected("zone", i)));
    this.lines.forEach((l, i) =>
      this.drawLine(ctx, l, COLORS[(i + 3) % COLORS.length], this.isSelected("line", i)),
    );
    this.drawDraft(ctx);
  }

  isSelected(kind, index) {
    return Boolean(this.selected && this.selected.kind === kind && this.selected.index === index);
  }

  drawZone(ctx, zone, color, selected) {
    const pts = zone.points.map((p) => this.toPx(p));
    ctx.beginPath();
    pts.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.fillStyle = hexAlpha(color, selected ? 0.35 : 0.2);
    ctx.fill();
    ctx.lineWidth = selected ? 3 : 2;
    ctx.strokeStyle = color;
    ctx.stroke();
    pts.forEach((p) => handle(ctx, p, color));
    const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
    const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
    label(ctx, zone.name || zone.id, cx, cy, color);
  }

  drawLine(ctx, line, color, selected) {
    const a = this.toPx(line.start);
    const b = this.toPx(line.end);
    ctx.beginPath();
    ctx.moveTo(...a);
    ctx.lineTo(...b);
    ctx.lineWidth = selected ? 4 : 3;
    ctx.strokeStyle = color;
    ctx.stroke();
    handle(ctx, a, color);
    handle(ctx, b, color);
    // The "in" arrow from the middle of the line, perpendicular to it.
    const [nx, ny] = inNormal(a, b);
    const mx = (a[0] + b[0]) / 2;
    const my = (a[1] + b[1]) / 2;
    const tip = [mx + nx * 36, my + ny * 36];
    ctx.beginPath();
    ctx.moveTo(mx, my);
    ctx.lineTo(...tip);
    ctx.lineWidth = 2;
    ctx.stroke();
    arrowHead(ctx, [mx, my], tip, color);
    label(ctx, t("direction.in"), tip[0] + nx * 12, tip[1] + ny * 12, color);
    label(ctx, line.name || line.id, a[0], a[1] - 14, color);
  }

  drawDraft(ctx) {
    const color = "#ffd400";
    if (this.tool === "zone" && this.draft.length) {
      const pts = this.draft.map((p) => this.toPx(p));
      ctx.beginPath();
      pts.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (this.hover) ctx.lineTo(...this.toPx(this.hover));
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = color;
      ctx.stroke();
      ctx.setLineDash([]);
      pts.forEach((p) => handle(ctx, p, color));
    }
    if (this.tool === "line" && this.lineStart) {
      const a = this.toPx(this.lineStart);
      handle(ctx, a, color);
      if (this.hover) {
        ctx.beginPath();
        ctx.moveTo(...a);
        ctx.lineTo(...this.toPx(this.hover));
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = color;
        ctx.lineWidth = 2;
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
  }
}

function shift(q, p, last) {
  return clampPt([q[0] + p[0] - last[0], q[1] + p[1] - last[1]]);
}

function pointInPolygon([x, y], pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function hexAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function handle(ctx, [x, y], color) {
  ctx.fillStyle = "#fff";
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.fillRect(x - 4, y - 4, 8, 8);
  ctx.strokeRect(x - 4, y - 4, 8, 8);
}

function arrowHead(ctx, from, to, color) {
  const ang = Math.atan2(to[1] - from[1], to[0] - from[0]);
  ctx.beginPath();
  ctx.moveTo(...to);
  ctx.lineTo(to[0] - 10 * Math.cos(ang - 0.45), to[1] - 10 * Math.sin(ang - 0.45));
  ctx.lineTo(to[0] - 10 * Math.cos(ang + 0.45), to[1] - 10 * Math.sin(ang + 0.45));
  ctx.closePath();
  ctx.fillStyle = color;
  ctx.fill();
}

// Text on the canvas is drawn with fillText: user names never become markup.
function label(ctx, text, x, y, color) {
  const w = ctx.measureText(text).width;
  ctx.fillStyle = "rgba(0, 0, 0, 0.6)";
  ctx.fillRect(x - w / 2 - 4, y - 9, w + 8, 18);
  ctx.fillStyle = color === "#ffd400" ? color : "#fff";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, x, y);
}
