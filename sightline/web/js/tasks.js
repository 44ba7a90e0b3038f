// Analysis tasks: the list with live state, start/stop/delete, and the
// create/edit form (camera, sampling, zones and lines drawn on the camera's
// snapshot, and the rules that use them).

import { del, enc, get, patch, post } from "./api.js";
import { emptyState, errorState, h, replace, spinner } from "./dom.js";
import { clearErrors, confirmAction, field, input, numberOrNull, openDialog, select, showErrors } from "./forms.js";
import { t, tOr } from "./i18n.js";
import { snapshotUrl } from "./cameras.js";
import { ruleEditor, RULE_TYPES } from "./rule_form.js";
import { ZoneEditor } from "./zone_editor.js";

const REFRESH_MS = 3000;
const DEFAULT_ALGORITHM = "sightline/people@v1";

export function taskStateBadge(state) {
  return h("span", { class: `badge state-${state}`, "data-state": state, text: tOr(`task.state.${state}`, state) });
}

export async function render(root, _params, app) {
  const list = h("div", { class: "table-wrap" });
  const addBtn = app.can("operator")
    ? h("button", { type: "button", "data-testid": "add-task", text: t("task.add"), on: { click: () => openForm().catch(fail) } })
    : null;
  replace(root, h("div", { class: "view-head" }, h("h1", { text: t("nav.tasks") }), addBtn), list);
  list.append(spinner(t("state.loading")));

  let cameras = await app.loadCameraNames();
  let tasks = [];
  let loadError = null;

  async function load() {
    try {
      const data = await get("/api/tasks?limit=500");
      tasks = data.items || [];
      loadError = null;
    } catch (err) {
      loadError = err.message;
    }
    draw();
  }

  function draw() {
    if (loadError) return replace(list, errorState(loadError));
    if (!tasks.length) return replace(list, emptyState(t("task.none")));
    const rows = tasks.map((task) => {
      const live = task.live || {};
      const state = live.state || task.status;
      const running = task.desired_state === "running";
      const actions = [];
      if (app.can("operator")) {
        actions.push(
          h("button", {
            type: "button",
            class: running ? "secondary small" : "small",
            "data-testid": running ? "stop-task" : "start-task",
            text: t(running ? "task.stop" : "task.start"),
            on: { click: () => act(task, running ? "stop" : "start") },
          }),
          h("button", { type: "button", class: "secondary small", text: t("action.edit"), on: { click: () => openForm(task).catch(fail) } }),
          h("button", { type: "button", class: "danger small", text: t("action.delete"), on: { click: () => remove(task) } }),
        );
      }
      const rules = (task.config.rules || []).map((r) => tOr(`rule.type.${ruleKey(r.type)}`, r.type)).join(", ");
      return h(
        "tr",
        { dataset: { taskId: task.id } },
        h("td", {}, h("div", { class: "strong", text: task.name }), h("div", { class: "muted small", text: rules })),
        h("td", { text: app.cameraName(task.camera_id) }),
        h("td", { class: "small", text: task.algorithm }),
        h("td", {}, taskStateBadge(state)),
        h("td", { class: "error-text", text: task.error || live.error || "" }),
        h("td", { class: "num", text: live.events !== undefined ? String(live.events) : "–" }),
        h("td", { class: "num", text: live.frames !== undefined ? String(live.frames) : "–" }),
        h("td", { class: "actions" }, actions),
      );
    });
    replace(
      list,
      h(
        "table",
        { class: "table", "data-testid": "task-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["task.name", "task.camera", "task.algorithm", "task.state", "task.error", "task.events", "task.frames", "table.actions"].map(
              (k) => h("th", { text: t(k) }),
            ),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }

  // An unexpected error while building a form is shown, not swallowed.
  function fail(err) {
    console.error(err);
    alert(err.message || String(err));
  }

  async function act(task, verb) {
    try {
      await post(`/api/tasks/${enc(task.id)}/${verb}`);
    } catch (err) {
      alert(err.message);
    }
    await load();
  }

  async function remove(task) {
    if (!confirmAction(t("task.confirm_delete", { name: task.name }))) return;
    try {
      await del(`/api/tasks/${enc(task.id)}`);
    } catch (err) {
      alert(err.message);
    }
    await load();
  }

  async function openForm(task = null) {
    cameras = await app.loadCameraNames();
    if (!cameras.length) {
      alert(t("task.need_camera"));
      return;
    }
    let algorithms = [[DEFAULT_ALGORITHM, DEFAULT_ALGORITHM]];
    try {
      const data = await get("/api/algorithms");
      const items = Array.isArray(data) ? data : data.items || [];
      if (items.length) algorithms = items.map((a) => [a.id, a.id]);
    } catch (_) {
      /* the default algorithm is always there */
    }
    const config = task ? task.config : {};
    const cameraById = new Map(cameras.map((c) => [c.id, c]));
    const firstCam = task ? task.camera_id : cameras[0].id;
    const f = {
      camera: select(
        cameras.map((c) => [c.id, c.name]),
        firstCam,
        { name: "camera_id", "data-testid": "task-camera", disabled: Boolean(task) },
      ),
      name: input({ name: "name", value: task ? task.name : "", required: true, maxlength: 200 }),
      algorithm: select(algorithms, task ? task.algorithm : DEFAULT_ALGORITHM, { name: "algorithm" }),
      fps: input({ name: "fps", inputmode: "decimal", value: config.sampling?.fps ?? "", placeholder: t("task.fps_all") }),
      confidence: input({ name: "confidence", inputmode: "decimal", value: config.detector?.confidence ?? 0.4 }),
      classes: input({ name: "classes", value: (config.detector?.classes || []).join(", "), placeholder: t("task.classes_all") }),
      start: h("input", { type: "checkbox", name: "start", checked: !task }),
    };
    const shapesOf = (camId) => {
      if (task && camId === task.camera_id) return { zones: config.zones || [], lines: config.lines || [] };
      const cam = cameraById.get(camId) || {};
      return { zones: cam.zones || [], lines: cam.lines || [] };
    };
    let editor = null; // the zone editor, mounted below; the rule cards read its shapes
    const rules = ruleEditor(config.rules || [], () => (editor ? editor.value() : shapesOf(firstCam)));
    const editorSlot = h("div", { class: "editor-slot" });
    const mountEditor = (camId) => {
      if (editor) editor.destroy();
      editor = new ZoneEditor({ imageUrl: snapshotUrl(camId), ...shapesOf(camId), onChange: () => rules.refreshShapes() });
      replace(editorSlot, editor.element);
      rules.refreshShapes();
    };
    mountEditor(firstCam);
    f.camera.addEventListener("change", () => mountEditor(f.camera.value));

    const general = h("div", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit", "data-testid": "save-task", text: t(task ? "action.save" : "task.add") });
    const form = h(
      "form",
      { class: "form", "data-testid": "task-form", novalidate: true },
      h(
        "div",
        { class: "row" },
        field(t("task.camera"), f.camera, "camera_id"),
        field(t("task.name"), f.name, "name"),
        field(t("task.algorithm"), f.algorithm, "algorithm"),
      ),
      h(
        "div",
        { class: "row" },
        field(t("task.fps"), f.fps, "config.sampling.fps", t("task.fps_help")),
        field(t("task.confidence"), f.confidence, "config.detector.confidence"),
        field(t("task.classes"), f.classes, "config.detector.classes", t("task.classes_help")),
      ),
      h("h3", { text: t("task.zones_lines") }),
      h("p", { class: "muted", text: t("editor.intro") }),
      editorSlot,
      h("div", { "data-error-for": "config.zones", class: "field-error" }),
      h("div", { "data-error-for": "config.lines", class: "field-error" }),
      h("h3", { text: t("task.rules") }),
      rules.element,
      task ? null : h("label", { class: "check" }, f.start, t("task.start_now")),
      general,
      h("div", { class: "form-actions" }, submit),
    );
    const { close } = openDialog(t(task ? "task.edit" : "task.add"), form, {
      wide: true,
      onClose: () => editor && editor.destroy(),
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      const shapes = editor.value();
      const classes = f.classes.value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      // Keep settings this form does not show (tracker, detector model, rule
      // options such as anchor) as they were.
      const body = {
        name: f.name.value,
        algorithm: f.algorithm.value,
        config: {
          ...config,
          camera_id: undefined,
          sampling: { ...(config.sampling || {}), fps: numberOrNull(f.fps.value) },
          detector: { ...(config.detector || {}), confidence: numberOrNull(f.confidence.value), classes },
          zones: shapes.zones,
          lines: shapes.lines,
          rules: rules.value(),
        },
      };
      delete body.config.camera_id;
      if (!task) {
        body.camera_id = f.camera.value;
        body.start = f.start.checked;
      }
      submit.disabled = true;
      try {
        if (task) await patch(`/api/tasks/${enc(task.id)}`, body);
        else await post("/api/tasks", body);
        close();
        await load();
      } catch (err) {
        showErrors(form, err, general);
      } finally {
        submit.disabled = false;
      }
    });
    f.name.focus();
  }

  await load();
  const timer = setInterval(() => {
    if (!document.querySelector("dialog[open]")) load();
  }, REFRESH_MS);
  return () => clearInterval(timer);
}

// "sightline/line_crossing@v1" -> "line_crossing"
export function ruleKey(type) {
  const hit = RULE_TYPES.find((r) => r.type === type);
  return hit ? hit.key : String(type);
}
