// Cameras: the list with status and a live snapshot, the add/edit form, and
// the zone/line editor whose drawing is stored on the camera (new tasks on
// the camera start from it).

import { del, enc, get, patch, post } from "./api.js";
import { emptyState, errorState, fmtNumber, h, replace, spinner } from "./dom.js";
import { clearErrors, confirmAction, field, input, numberOrNull, openDialog, showErrors } from "./forms.js";
import { t, tOr } from "./i18n.js";
import { ZoneEditor } from "./zone_editor.js";

const SNAPSHOT_EVERY_MS = 5000;
const LIST_EVERY_MS = 10000;

export function snapshotUrl(cameraId) {
  // The query string defeats the browser cache: each load is a fresh frame.
  return `/api/cameras/${enc(cameraId)}/snapshot?t=${Date.now()}`;
}

export function statusBadge(status) {
  const known = ["online", "offline", "error", "idle", "degraded", "connecting"];
  const cls = known.includes(status) ? status : "unknown";
  return h("span", {
    class: `badge status status-${cls}`,
    "data-status": status,
    text: tOr(`camera.state.${status}`, status),
  });
}

// A thumbnail that swaps in the next frame only once it has loaded (no
// flicker), and says so when the camera has no picture to give.
function thumbnail(cameraId) {
  const img = h("img", { class: "thumb", alt: t("camera.snapshot"), hidden: true });
  const none = h("div", { class: "thumb thumb-none", text: t("camera.no_snapshot") });
  const box = h("div", { class: "thumb-box" }, img, none);
  let busy = false;
  const refresh = () => {
    if (busy || !box.isConnected) return;
    busy = true;
    const next = new Image();
    next.onload = () => {
      img.src = next.src;
      img.hidden = false;
      none.hidden = true;
      busy = false;
    };
    next.onerror = () => {
      img.hidden = true;
      none.hidden = false;
      busy = false;
    };
    next.src = snapshotUrl(cameraId);
  };
  return { box, refresh };
}

export async function render(root, _params, app) {
  const list = h("div", { class: "table-wrap" });
  const addBtn = app.can("operator")
    ? h("button", { type: "button", "data-testid": "add-camera", text: t("camera.add"), on: { click: () => openForm() } })
    : null;
  replace(
    root,
    h("div", { class: "view-head" }, h("h1", { text: t("nav.cameras") }), addBtn),
    list,
  );
  list.append(spinner(t("state.loading")));

  let thumbs = [];
  let cameras = [];
  const thumbCache = new Map();

  async function load() {
    try {
      const data = await get("/api/cameras?limit=500");
      cameras = data.items || [];
    } catch (err) {
      replace(list, errorState(err.message));
      return;
    }
    app.cameraNames = new Map(cameras.map((c) => [c.id, c.name]));
    draw();
  }

  function draw() {
    if (!cameras.length) {
      replace(list, emptyState(t("camera.none")));
      return;
    }
    thumbs = [];
    const rows = cameras.map((cam) => {
      // Thumbnails survive the periodic redraw, so an idle camera is not re-grabbed each time.
      let thumb = thumbCache.get(cam.id);
      if (!thumb) {
        thumb = thumbnail(cam.id);
        thumbCache.set(cam.id, thumb);
        thumb.fresh = true;
      }
      thumb.live = ["online", "degraded", "connecting"].includes(cam.status);
      thumbs.push(thumb);
      const where = [cam.region, cam.department].filter(Boolean).join(" · ");
      const loc =
        cam.latitude !== null && cam.latitude !== undefined
          ? `${fmtNumber(cam.latitude, 5)}, ${fmtNumber(cam.longitude, 5)}`
          : "";
      const error = cam.health && cam.health.error ? h("div", { class: "error-text", text: cam.health.error }) : null;
      const actions = app.can("operator")
        ? [
            h("button", { type: "button", class: "secondary small", text: t("action.edit"), on: { click: () => openForm(cam) } }),
            h("button", {
              type: "button",
              class: "small",
              "data-testid": "edit-zones",
              text: t("camera.zones"),
              on: { click: () => openZones(cam) },
            }),
            h("button", { type: "button", class: "danger small", text: t("action.delete"), on: { click: () => remove(cam) } }),
          ]
        : [];
      return h(
        "tr",
        { dataset: { cameraId: cam.id } },
        h("td", {}, thumb.box),
        h("td", {}, h("div", { class: "strong", text: cam.name }), h("div", { class: "muted small", text: cam.url })),
        h("td", {}, statusBadge(cam.status), error),
        h("td", { text: where }),
        h("td", { text: loc }),
        h("td", {}, (cam.tags || []).map((tag) => h("span", { class: "tag", text: tag }))),
        h("td", { class: "num", text: String((cam.zones || []).length + (cam.lines || []).length) }),
        h("td", { class: "actions" }, actions),
      );
    });
    replace(
      list,
      h(
        "table",
        { class: "table", "data-testid": "camera-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["camera.snapshot", "camera.name", "camera.status", "camera.area", "camera.location", "camera.tags", "camera.shapes", "table.actions"].map(
              (k) => h("th", { text: t(k) }),
            ),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
    // The DOM is rebuilt above; refresh the ones just created (their first
    // frame) and the live ones that were waiting for a connected element.
    thumbs.forEach((th) => {
      if (th.fresh) {
        th.fresh = false;
        th.refresh();
      }
    });
  }

  async function remove(cam) {
    if (!confirmAction(t("camera.confirm_delete", { name: cam.name }))) return;
    try {
      await del(`/api/cameras/${enc(cam.id)}`);
      await load();
    } catch (err) {
      alert(err.message);
    }
  }

  function openForm(cam = null) {
    const f = {
      name: input({ name: "name", value: cam ? cam.name : "", required: true, maxlength: 200 }),
      url: input({ name: "url", value: cam ? cam.url : "", required: true, placeholder: "rtsp://user:pass@10.0.0.5:554/stream1" }),
      department: input({ name: "department", value: cam ? cam.department || "" : "" }),
      region: input({ name: "region", value: cam ? cam.region || "" : "" }),
      latitude: input({ name: "latitude", inputmode: "decimal", value: cam && cam.latitude !== null ? cam.latitude : "" }),
      longitude: input({ name: "longitude", inputmode: "decimal", value: cam && cam.longitude !== null ? cam.longitude : "" }),
      tags: input({ name: "tags", value: cam ? (cam.tags || []).join(", ") : "", placeholder: "site/gate, park/north" }),
    };
    const general = h("div", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit", text: t(cam ? "action.save" : "camera.add") });
    const form = h(
      "form",
      { class: "form", "data-testid": "camera-form", novalidate: true },
      field(t("camera.name"), f.name, "name"),
      field(t("camera.url"), f.url, "url", t("camera.url_help")),
      h("div", { class: "row" }, field(t("camera.department"), f.department, "department"), field(t("camera.region"), f.region, "region")),
      h("div", { class: "row" }, field(t("camera.latitude"), f.latitude, "latitude"), field(t("camera.longitude"), f.longitude, "longitude")),
      field(t("camera.tags"), f.tags, "tags", t("camera.tags_help")),
      general,
      h("div", { class: "form-actions" }, submit),
    );
    const { close } = openDialog(t(cam ? "camera.edit" : "camera.add"), form);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {
        name: f.name.value,
        url: f.url.value,
        department: f.department.value,
        region: f.region.value,
        latitude: numberOrNull(f.latitude.value),
        longitude: numberOrNull(f.longitude.value),
        tags: f.tags.value
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      };
      // An unchanged redacted URL (rtsp://***@...) is sent back as is: the
      // server keeps the stored credentials.
      submit.disabled = true;
      try {
        if (cam) await patch(`/api/cameras/${enc(cam.id)}`, body);
        else await post("/api/cameras", body);
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

  function openZones(cam) {
    const general = h("div", { class: "form-error", role: "alert" });
    const editor = new ZoneEditor({ imageUrl: snapshotUrl(cam.id), zones: cam.zones || [], lines: cam.lines || [] });
    const save = h("button", { type: "button", "data-testid": "save-zones", text: t("action.save") });
    const reload = h("button", {
      type: "button",
      class: "secondary",
      text: t("editor.refresh_snapshot"),
      on: { click: () => editor.setImage(snapshotUrl(cam.id)) },
    });
    const body = h(
      "div",
      { class: "form" },
      h("p", { class: "muted", text: t("editor.intro") }),
      editor.element,
      general,
      h("div", { class: "form-actions" }, reload, save),
    );
    const { close } = openDialog(t("camera.zones_title", { name: cam.name }), body, {
      wide: true,
      onClose: () => editor.destroy(),
    });
    save.addEventListener("click", async () => {
      general.textContent = "";
      save.disabled = true;
      try {
        await patch(`/api/cameras/${enc(cam.id)}`, editor.value());
        close();
        await load();
      } catch (err) {
        general.textContent = err.message;
      } finally {
        save.disabled = false;
      }
    });
  }

  await load();
  // Only cameras a task is reading refresh on a timer: their latest frame is
  // at hand. An idle camera's snapshot means opening the stream, so it is
  // grabbed once per list load instead of every few seconds.
  const snapTimer = setInterval(() => thumbs.forEach((th) => th.live && th.refresh()), SNAPSHOT_EVERY_MS);
  // Status badges follow the tasks starting and stopping; skip while a dialog is open.
  const listTimer = setInterval(() => {
    if (!document.querySelector("dialog[open]")) load();
  }, LIST_EVERY_MS);
  return () => {
    clearInterval(snapTimer);
    clearInterval(listTimer);
  };
}
