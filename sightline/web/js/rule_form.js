// The rules part of the task form: one card per rule, with the zone or line
// it watches (from the zone editor) and its parameters (docs/rules.md).
//
// Fields this form does not show (anchor, forget_after_s, enter_on_appear ...)
// are carried over from the stored rule untouched.

import { h, replace } from "./dom.js";
import { field, input, numberOrNull, select } from "./forms.js";
import { t } from "./i18n.js";

export const RULE_TYPES = [
  {
    type: "sightline/line_crossing@v1",
    key: "line_crossing",
    shape: "line",
    params: [
      { name: "directions", kind: "checks", options: ["in", "out"], labels: "direction", default: ["in", "out"] },
      { name: "min_interval_s", kind: "number", default: 1.0 },
    ],
  },
  {
    type: "sightline/zone_intrusion@v1",
    key: "zone_intrusion",
    shape: "zone",
    params: [
      { name: "trigger", kind: "checks", options: ["enter", "leave", "inside"], labels: "trigger", default: ["enter"] },
      { name: "min_frames", kind: "number", default: 1 },
    ],
  },
  {
    type: "sightline/loitering@v1",
    key: "loitering",
    shape: "zone",
    params: [
      { name: "min_dwell_s", kind: "number", default: 30, required: true },
      { name: "exit_grace_s", kind: "number", default: 1.0 },
    ],
  },
  {
    type: "sightline/crowding@v1",
    key: "crowding",
    shape: "zone",
    params: [
      { name: "min_count", kind: "number", default: 5, required: true },
      { name: "min_duration_s", kind: "number", default: 0 },
      { name: "drop_grace_s", kind: "number", default: 1.0 },
    ],
  },
];

const byType = new Map(RULE_TYPES.map((r) => [r.type, r]));

function refId(ref) {
  // Stored configs hold the zone/line object; new rules hold its id.
  return ref && typeof ref === "object" ? ref.id : ref || "";
}

function newRuleId(kind, rules) {
  const taken = new Set(rules.map((r) => r.id));
  let n = 1;
  while (taken.has(`${kind}-${n}`)) n++;
  return `${kind}-${n}`;
}

export function ruleEditor(initial, getShapes) {
  // Each entry: {spec, orig, ui: {widgets}}; `orig` keeps the fields we do not edit.
  const rules = initial
    .filter((r) => byType.has(r.type))
    .map((r) => ({ spec: byType.get(r.type), orig: { ...r }, ui: null }));
  const unknown = initial.filter((r) => !byType.has(r.type));
  const cards = h("div", { class: "rule-cards" });
  const typeSelect = select(
    RULE_TYPES.map((r) => [r.type, t(`rule.type.${r.key}`)]),
    RULE_TYPES[0].type,
    { "data-testid": "rule-type", "aria-label": t("rule.type") },
  );
  const add = h("button", {
    type: "button",
    class: "secondary",
    "data-testid": "add-rule",
    text: t("rule.add"),
    on: {
      click: () => {
        const spec = byType.get(typeSelect.value);
        const orig = { type: spec.type, id: newRuleId(spec.key.replace("_", "-"), currentIds()), classes: ["person"] };
        for (const p of spec.params) orig[p.name] = p.default;
        rules.push({ spec, orig, ui: null });
        draw();
      },
    },
  });
  const element = h(
    "div",
    { class: "rules" },
    cards,
    h("div", { class: "rule-add" }, typeSelect, add),
    unknown.length ? h("p", { class: "muted", text: t("rule.kept_unknown", { n: unknown.length }) }) : null,
  );

  function currentIds() {
    return rules.map((r) => (r.ui ? r.ui.id.value : r.orig.id));
  }

  function shapeOptions(spec) {
    const shapes = getShapes();
    const list = spec.shape === "line" ? shapes.lines : shapes.zones;
    return list.map((s) => [s.id, s.name ? `${s.name} (${s.id})` : s.id]);
  }

  function card(rule, i) {
    const { spec, orig } = rule;
    const base = `config.rules.${i}`;
    const ui = {
      id: input({ value: orig.id || "", maxlength: 64 }),
      shape: select(shapeOptions(spec), refId(orig[spec.shape]), { "data-testid": `rule-${spec.shape}` }),
      classes: input({ value: (orig.classes || []).join(", "), placeholder: t("task.classes_all") }),
      minConfidence: input({ inputmode: "decimal", value: orig.min_confidence ?? "" , placeholder: "0" }),
      params: {},
    };
    rule.ui = ui;
    // A new rule (or one whose zone/line was deleted) watches the first shape there is.
    if (ui.shape.selectedIndex < 0 && ui.shape.options.length) ui.shape.selectedIndex = 0;
    const paramFields = spec.params.map((p) => {
      const label = t(`rule.param.${p.name}`);
      if (p.kind === "checks") {
        const chosen = new Set(orig[p.name] || p.default);
        const boxes = p.options.map((opt) => {
          const box = h("input", { type: "checkbox", value: opt, checked: chosen.has(opt) });
          return { opt, box, label: h("label", { class: "check" }, box, t(`${p.labels}.${opt}`)) };
        });
        ui.params[p.name] = { kind: "checks", boxes };
        return h(
          "div",
          { class: "field", dataset: { field: `${base}.${p.name}` } },
          h("span", { class: "label", text: label }),
          h("div", { class: "checks" }, boxes.map((b) => b.label)),
          h("div", { class: "field-error", "data-error-for": `${base}.${p.name}` }),
        );
      }
      const el = input({ inputmode: "decimal", value: orig[p.name] ?? "", required: Boolean(p.required) });
      ui.params[p.name] = { kind: "number", el };
      return field(label, el, `${base}.${p.name}`, t(`rule.help.${p.name}`));
    });
    const noShape = h("div", { class: "help", text: t(spec.shape === "line" ? "rule.draw_line_first" : "rule.draw_zone_first") });
    ui.noShape = noShape;
    noShape.hidden = ui.shape.options.length > 0;
    return h(
      "fieldset",
      { class: "rule-card", dataset: { ruleType: spec.key } },
      h(
        "legend",
        {},
        t(`rule.type.${spec.key}`),
        h("button", {
          type: "button",
          class: "danger small",
          text: t("action.remove"),
          on: {
            click: () => {
              rules.splice(i, 1);
              draw();
            },
          },
        }),
      ),
      h("div", { class: "field-error", "data-error-for": base }),
      h(
        "div",
        { class: "row" },
        field(t("rule.id"), ui.id, `${base}.id`),
        h("div", {}, field(t(spec.shape === "line" ? "rule.line" : "rule.zone"), ui.shape, `${base}.${spec.shape}`), noShape),
        field(t("task.classes"), ui.classes, `${base}.classes`),
        field(t("rule.param.min_confidence"), ui.minConfidence, `${base}.min_confidence`),
      ),
      h("div", { class: "row" }, paramFields),
    );
  }

  function draw() {
    // Keep what was typed into existing cards before they are rebuilt.
    rules.forEach((r) => {
      if (r.ui) r.orig = collect(r);
    });
    replace(cards, rules.length ? rules.map(card) : h("p", { class: "muted", text: t("rule.none") }));
  }

  function collect(rule) {
    const { spec, orig, ui } = rule;
    const out = { ...orig, type: spec.type, id: ui.id.value.trim() };
    out[spec.shape] = ui.shape.value || refId(orig[spec.shape]);
    out.classes = ui.classes.value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const conf = numberOrNull(ui.minConfidence.value);
    if (conf === null) delete out.min_confidence;
    else out.min_confidence = conf;
    for (const p of spec.params) {
      const w = ui.params[p.name];
      if (w.kind === "checks") out[p.name] = w.boxes.filter((b) => b.box.checked).map((b) => b.opt);
      else {
        const v = numberOrNull(w.el.value);
        if (v === null && !p.required) delete out[p.name];
        else out[p.name] = v;
      }
    }
    return out;
  }

  draw();
  return {
    element,
    value() {
      return [...rules.map((r) => (r.ui ? collect(r) : r.orig)), ...unknown];
    },
    refreshShapes() {
      for (const r of rules) {
        if (!r.ui) continue;
        const current = r.ui.shape.value || refId(r.orig[r.spec.shape]);
        const options = shapeOptions(r.spec);
        replace(r.ui.shape, options.map(([v, label]) => h("option", { value: v, text: label })));
        if (options.some(([v]) => v === current)) r.ui.shape.value = current;
        else if (options.length) r.ui.shape.selectedIndex = 0;
        r.ui.noShape.hidden = options.length > 0;
      }
    },
  };
}
