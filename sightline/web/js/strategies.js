// The strategy center page (P1–P4): the strategies (on/off, version, what
// they bind to), a YAML/JSON editor with the server's validation message, the
// versions of the strategy, a back-test of the editor's draft on stored
// events, the effectiveness chart and the error library.
//
// The editor sends exactly what was typed ({text}); the server parses YAML or
// JSON and answers one message naming the element and the fix, shown as is.

import { del, enc, get, post, put } from "./api.js";
import { emptyState, errorState, fmtIso, fmtUnix, h, localInputToUnix, replace, spinner } from "./dom.js";
import { confirmAction, select } from "./forms.js";
import { effectivenessPanel } from "./effectiveness.js";
import { currentLang, t, typeName } from "./i18n.js";

const NEW_TEMPLATE = `id: my-strategy
name: My strategy
cameras: []            # empty = every camera
event_types: [line.cross]
priority: 0
elements:
  - {id: confident, type: sightline/confidence-filter@v1, min_confidence: 0.5}
  - {id: once-per-track, type: sightline/dedupe@v1, window_s: 30, by_track: true}
`;

export async function render(root, _params, app) {
  const listBox = h("section", { class: "panel", "data-testid": "strategy-list" });
  const editorBox = h("section", { class: "panel", "data-testid": "strategy-editor", hidden: true });
  const libraryBox = h("section", { class: "panel", "data-testid": "error-library" });
  const newButton = app.can("operator")
    ? h("button", { type: "button", "data-testid": "strategy-new", text: t("strategy.new"), on: { click: () => openEditor(null) } })
    : null;
  replace(
    root,
    h("div", { class: "view-head" }, h("h1", { text: t("strategy.title") }), newButton),
    listBox,
    editorBox,
    effectivenessPanel(app),
    libraryBox,
  );

  async function loadList() {
    replace(listBox, spinner(t("state.loading")));
    let items;
    try {
      items = await get("/api/strategies");
    } catch (err) {
      replace(listBox, errorState(err.message));
      return;
    }
    if (!items.length) {
      replace(listBox, emptyState(t("strategy.none")));
      return;
    }
    const head = ["strategy.id", "strategy.name", "strategy.types", "strategy.cameras", "strategy.elements", "strategy.version", "strategy.priority", "strategy.enabled", ""];
    replace(
      listBox,
      h(
        "table",
        { class: "table" },
        h("thead", {}, h("tr", {}, head.map((k) => h("th", { text: k ? t(k) : "" })))),
        h("tbody", {}, items.map((s) => strategyRow(s))),
      ),
    );
  }

  function strategyRow(s) {
    const actions = [];
    if (app.can("operator")) {
      actions.push(
        h("button", { type: "button", class: "small", "data-testid": `strategy-edit-${s.id}`, text: t("strategy.edit"), on: { click: () => openEditor(s.id) } }),
        h("button", {
          type: "button",
          class: "small secondary",
          text: s.enabled ? t("strategy.disable") : t("strategy.enable"),
          on: { click: () => post(`/api/strategies/${enc(s.id)}/${s.enabled ? "disable" : "enable"}`).then(loadList, (e) => alert(e.message)) },
        }),
        h("button", {
          type: "button",
          class: "small danger",
          text: t("strategy.delete"),
          on: {
            click: async () => {
              if (!(await confirmAction(t("strategy.delete_confirm", { id: s.id })))) return;
              del(`/api/strategies/${enc(s.id)}`).then(loadList, (e) => alert(e.message));
            },
          },
        }),
      );
    }
    return h(
      "tr",
      { "data-strategy": s.id },
      h("td", { class: "mono", text: s.id }),
      h("td", {}, s.name, s.load_error ? h("div", { class: "form-error", text: t("strategy.load_error", { error: s.load_error }) }) : null),
      h("td", { text: s.event_types.map(typeName).join(", ") }),
      h("td", { text: s.cameras.length ? s.cameras.map((c) => app.cameraName(c)).join(", ") : t("strategy.all_cameras") }),
      h("td", { class: "small", text: s.spec.elements.map((e) => e.id).join(" → ") }),
      h("td", { text: `v${s.current_version}` }),
      h("td", { text: String(s.priority) }),
      h("td", {}, h("span", { class: `badge ${s.enabled ? "ok" : "muted"}`, text: s.enabled ? t("strategy.on") : t("strategy.off") })),
      h("td", { class: "actions" }, actions),
    );
  }

  async function openEditor(strategyId) {
    editorBox.hidden = false;
    replace(editorBox, spinner(t("state.loading")));
    let current = null;
    if (strategyId) {
      try {
        current = await get(`/api/strategies/${enc(strategyId)}`);
      } catch (err) {
        replace(editorBox, errorState(err.message));
        return;
      }
    }
    const text = h("textarea", {
      class: "code",
      rows: 16,
      spellcheck: "false",
      "aria-label": t("strategy.editor"),
      "data-testid": "strategy-text",
      value: current ? current.yaml : NEW_TEMPLATE,
    });
    const message = h("div", { class: "form-message", role: "status", "data-testid": "strategy-message" });
    const showError = (msg) => {
      message.className = "form-error";
      message.dataset.testid = "strategy-error";
      message.textContent = msg;
    };
    const showOk = (msg) => {
      message.className = "form-ok";
      message.dataset.testid = "strategy-message";
      message.textContent = msg;
    };
    const validate = async () => {
      const res = await post("/api/strategies/validate", { text: text.value });
      if (res.valid) showOk(t("strategy.valid", { n: res.spec.elements.length }));
      else showError(res.error);
      return res.valid;
    };
    const save = async () => {
      try {
        const saved = current
          ? await put(`/api/strategies/${enc(current.id)}`, { text: text.value })
          : await post("/api/strategies", { text: text.value });
        showOk(t("strategy.saved", { version: saved.current_version }));
        await loadList();
        current = await get(`/api/strategies/${enc(saved.id)}`);
        replace(versionsBox, versionsList(current, text));
      } catch (err) {
        showError(err.message.replace(/^text: |^spec: /, ""));
      }
    };
    const versionsBox = h("div", {}, current ? versionsList(current, text) : null);
    replace(
      editorBox,
      h("div", { class: "panel-head" }, h("h2", { text: current ? `${current.name} (${current.id})` : t("strategy.new") }), h("button", { type: "button", class: "icon", "aria-label": t("strategy.close"), text: "×", on: { click: () => (editorBox.hidden = true) } })),
      h("p", { class: "muted small", text: t("strategy.editor_hint") }),
      h("label", { text: t("strategy.editor") }),
      text,
      message,
      h(
        "div",
        { class: "button-row" },
        h("button", { type: "button", class: "secondary", "data-testid": "strategy-validate", text: t("strategy.validate"), on: { click: () => validate().catch((e) => showError(e.message)) } }),
        h("button", { type: "button", "data-testid": "strategy-save", text: current ? t("strategy.save") : t("strategy.create"), on: { click: save } }),
      ),
      versionsBox,
      backtestForm(text, showError, app),
    );
    editorBox.scrollIntoView({ block: "nearest" });
  }

  async function loadLibrary() {
    let entries;
    try {
      entries = await get("/api/error-library");
    } catch (err) {
      replace(libraryBox, h("h2", { text: t("library.title") }), errorState(err.message));
      return;
    }
    const cards = entries.map((e) =>
      h(
        "figure",
        { class: "library-entry", "data-entry": e.id },
        e.image ? h("img", { src: e.image, alt: typeName(e.event_type) }) : null,
        h(
          "figcaption",
          {},
          h("div", { class: "strong", text: `${app.cameraName(e.camera_id)} · ${typeName(e.event_type)}` }),
          e.note ? h("div", { text: e.note }) : null,
          h("div", { class: "muted small", text: `${e.created_by || ""} ${fmtIso(e.created_at, currentLang())}` }),
          e.event_id ? h("a", { href: `#/events/${enc(e.event_id)}`, text: t("library.source_event") }) : null,
          app.can("operator")
            ? h("button", { type: "button", class: "small danger", text: t("library.remove"), on: { click: () => del(`/api/error-library/${enc(e.id)}`).then(loadLibrary, (x) => alert(x.message)) } })
            : null,
        ),
      ),
    );
    replace(
      libraryBox,
      h("h2", { text: t("library.title") }),
      h("p", { class: "muted small", text: t("library.hint") }),
      cards.length ? h("div", { class: "library-grid" }, cards) : emptyState(t("library.none")),
    );
  }

  await loadList();
  loadLibrary();
}

function versionsList(strategy, textArea) {
  return h(
    "details",
    { class: "versions" },
    h("summary", { text: `${t("strategy.versions")} (${strategy.versions.length})` }),
    h(
      "ul",
      { class: "history" },
      strategy.versions.map((v) =>
        h(
          "li",
          {},
          t("strategy.version_by", { version: v.version, author: v.author || "–", time: fmtIso(v.created_at, currentLang()) }),
          " ",
          h("button", { type: "button", class: "small secondary", text: t("strategy.load_version"), on: { click: () => (textArea.value = JSON.stringify(v.spec, null, 2)) } }),
        ),
      ),
    ),
  );
}

// Back-test the editor's draft on stored events of a time range (default: the last 7 days).
function backtestForm(textArea, showError, app) {
  const pad = (n) => String(n).padStart(2, "0");
  const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const from = h("input", { type: "datetime-local", value: local(new Date(Date.now() - 7 * 86400e3)), "aria-label": t("filter.from") });
  const to = h("input", { type: "datetime-local", value: local(new Date(Date.now() + 60e3)), "aria-label": t("filter.to") });
  const camera = select([["", t("filter.any_camera")], ...[...app.cameraNames].map(([id, name]) => [id, name])], "", { "aria-label": t("backtest.camera") });
  const result = h("div", { "data-testid": "backtest-result" });
  const run = h("button", {
    type: "button",
    "data-testid": "backtest-run",
    text: t("backtest.run"),
    on: {
      click: async () => {
        run.disabled = true;
        replace(result, spinner(t("state.loading")));
        try {
          const body = { text: textArea.value, from: localInputToUnix(from.value), to: localInputToUnix(to.value) };
          if (camera.value) body.camera_id = camera.value;
          replace(result, backtestReport(await post("/api/strategies/backtest", body), app));
        } catch (err) {
          replace(result);
          showError(err.message);
        } finally {
          run.disabled = false;
        }
      },
    },
  });
  return h(
    "div",
    { class: "backtest" },
    h("h3", { text: t("backtest.title") }),
    h("p", { class: "muted small", text: t("backtest.hint") }),
    h("div", { class: "filters" }, h("label", {}, t("filter.from"), from), h("label", {}, t("filter.to"), to), h("label", {}, t("backtest.camera"), camera), run),
    result,
  );
}

function ratio(v) {
  return v === null || v === undefined ? t("backtest.not_enough_reviews") : `${(v * 100).toFixed(1)} %`;
}

function backtestReport(r, app) {
  const quality = h(
    "table",
    { class: "table compact" },
    h("thead", {}, h("tr", {}, ["", t("backtest.reviewed"), t("backtest.precision"), t("backtest.recall")].map((x) => h("th", { text: x })))),
    h(
      "tbody",
      {},
      [
        [t("backtest.live"), r.live_quality],
        [t("backtest.draft"), r.draft_quality],
      ].map(([name, q]) => h("tr", {}, h("td", { text: name }), h("td", { text: String(q.reviewed) }), h("td", { text: ratio(q.precision) }), h("td", { text: ratio(q.recall) }))),
    ),
  );
  const elements = h(
    "table",
    { class: "table compact", "data-testid": "backtest-elements" },
    h("thead", {}, h("tr", {}, [t("backtest.element"), t("backtest.passed"), t("backtest.blocked")].map((x) => h("th", { text: x })))),
    h("tbody", {}, r.elements.map((e) => h("tr", {}, h("td", { title: e.element_type, text: e.element_id }), h("td", { text: String(e.passed) }), h("td", { text: String(e.blocked) })))),
  );
  const changed = r.changed.length
    ? h(
        "table",
        { class: "table compact", "data-testid": "backtest-changed" },
        h("thead", {}, h("tr", {}, [t("event.time"), t("event.camera"), t("event.type"), t("backtest.before"), t("backtest.after"), t("event.status")].map((x) => h("th", { text: x })))),
        h(
          "tbody",
          {},
          r.changed.map((c) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { href: `#/events/${enc(c.event_id)}`, text: fmtUnix(c.wall_time, currentLang()) })),
              h("td", { text: app.cameraName(c.camera_id) }),
              h("td", { text: typeName(c.type) }),
              h("td", { text: t(`outcome.${c.before}`) }),
              h("td", { title: c.reason || "", text: c.after === "blocked" && c.blocked_by ? `${t("outcome.blocked")} (${c.blocked_by})` : t(`outcome.${c.after}`) }),
              h("td", { text: t(`review.${c.review}`) }),
            ),
          ),
        ),
      )
    : h("p", { class: "muted", text: t("backtest.no_changes") });
  return h(
    "div",
    { class: "backtest-report" },
    h("div", { class: "effect-totals" }, `${t("backtest.total")} ${r.total} · ${t("backtest.passed")} ${r.passed} · ${t("backtest.blocked")} ${r.blocked}`),
    h("h3", { text: t("backtest.per_element") }),
    elements,
    quality,
    h("h3", { text: t("backtest.changed", { n: r.changed.length }) }),
    changed,
  );
}
