// "Analyse a file": upload a recorded video and analyse it once to its end
// (POST /api/videos, then /api/videos/{id}/analyze), and detect objects in
// one picture (POST /api/images/analyze) with the boxes drawn on it.
//
// Uploads send the file itself as the request body with its own type (no
// form), through XMLHttpRequest because fetch reports no upload progress.

import { del, enc, get, post, ApiError } from "./api.js";
import { emptyState, errorState, fmtIso, fmtNumber, h, replace, spinner } from "./dom.js";
import { confirmAction } from "./forms.js";
import { t } from "./i18n.js";
import { taskStateBadge } from "./tasks.js";

const REFRESH_MS = 2000;
const ACTIVE = new Set(["created", "starting", "running"]);

// POST a File as the raw body; onProgress gets 0..1. Resolves with the JSON answer.
function sendFile(path, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Content-Type", contentType);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-Requested-With", "sightline-ui");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, t("error.network")));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const detail = body && typeof body.detail === "string" ? body.detail : t("error.http", { status: xhr.status });
      reject(new ApiError(xhr.status, detail));
    };
    xhr.send(file);
  });
}

export async function render(root, _params, app) {
  const videos = h("div", { class: "table-wrap", "data-testid": "video-list" });
  const sections = [h("div", { class: "view-head" }, h("h1", { text: t("upload.title") }))];
  if (app.can("operator")) sections.push(videoUploader(() => load()));
  sections.push(h("h2", { text: t("upload.videos") }), videos);
  if (app.can("reviewer")) sections.push(imageAnalyser());
  replace(root, ...sections);
  videos.append(spinner(t("state.loading")));

  let items = [];
  let timer = null;

  async function load() {
    try {
      items = (await get("/api/videos?limit=200")).items || [];
      draw();
    } catch (err) {
      replace(videos, errorState(err.message));
    }
    clearTimeout(timer);
    const busy = items.some((v) => v.analyses.some((a) => ACTIVE.has(a.status)));
    timer = setTimeout(load, busy ? REFRESH_MS : REFRESH_MS * 5);
  }

  function draw() {
    if (!items.length) return replace(videos, emptyState(t("upload.none")));
    const rows = items.map((video) => {
      const last = video.analyses[video.analyses.length - 1];
      const actions = [];
      if (app.can("operator")) {
        actions.push(
          h("button", { type: "button", class: "small", "data-testid": "analyse-video", text: t("upload.analyse"), disabled: Boolean(last && ACTIVE.has(last.status)), on: { click: () => act(() => post(`/api/videos/${enc(video.id)}/analyze`)) } }),
          h("button", { type: "button", class: "secondary small", text: t("action.delete"), on: { click: () => confirmAction(t("upload.delete_confirm", { name: video.filename })) && act(() => del(`/api/videos/${enc(video.id)}`)) } }),
        );
      }
      return h(
        "tr",
        { "data-video": video.id },
        h("td", { text: video.filename }),
        h("td", { text: `${video.width}×${video.height}, ${fmtNumber(video.duration_s, 1)} s, ${video.frames} ${t("upload.frames")}` }),
        h("td", { text: fmtIso(video.created_at) }),
        h("td", {}, last ? analysisCell(last) : t("upload.not_analysed")),
        h("td", { class: "actions" }, actions),
      );
    });
    replace(
      videos,
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ["upload.file", "upload.video", "upload.uploaded", "upload.analysis", ""].map((k) => h("th", { text: k ? t(k) : "" })))),
        h("tbody", {}, rows),
      ),
    );
  }

  async function act(call) {
    try {
      await call();
    } catch (err) {
      window.alert(err.message);
    }
    load();
  }

  load();
  return () => clearTimeout(timer);
}

function analysisCell(a) {
  return h(
    "div",
    { class: "analysis", "data-testid": "analysis", "data-status": a.status },
    taskStateBadge(a.status),
    " ",
    h("progress", { max: "1", value: String(a.progress) }),
    ` ${a.frames_done} / ${a.frames_total} · ${t("upload.events", { count: a.events })}`,
    a.error ? h("div", { class: "state-error", text: a.error }) : null,
  );
}

function videoUploader(onDone) {
  const file = h("input", { type: "file", accept: "video/*", "data-testid": "video-file" });
  const bar = h("progress", { max: "1", value: "0", hidden: true });
  const note = h("div", { class: "muted" });
  const button = h("button", { type: "button", "data-testid": "upload-video", text: t("upload.send_video"), on: { click: send } });

  async function send() {
    const chosen = file.files[0];
    if (!chosen) return replace(note, t("upload.choose_file"));
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    replace(note, t("upload.uploading", { name: chosen.name }));
    try {
      // Browsers leave the type empty for some containers (.mkv, .ts): the server checks the bytes anyway.
      const video = await sendFile(`/api/videos?filename=${enc(chosen.name)}`, chosen, chosen.type || "video/mp4", (p) => (bar.value = p));
      replace(note, t("upload.checked", { name: video.filename, frames: video.frames }));
      onDone();
    } catch (err) {
      replace(note, h("span", { class: "state-error", text: err.message }));
    } finally {
      button.disabled = false;
      bar.hidden = true;
    }
  }

  return h("div", { class: "panel upload" }, h("h2", { text: t("upload.video_title") }), h("p", { class: "muted", text: t("upload.video_help") }), h("div", { class: "row" }, file, button, bar), note);
}

function imageAnalyser() {
  const file = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp,image/bmp", "data-testid": "image-file" });
  const canvas = h("canvas", { class: "detections", "data-testid": "image-canvas", hidden: true });
  const note = h("div", { class: "muted", "data-testid": "image-result" });
  const button = h("button", { type: "button", "data-testid": "analyse-image", text: t("upload.detect"), on: { click: send } });

  async function send() {
    const chosen = file.files[0];
    if (!chosen) return replace(note, t("upload.choose_file"));
    button.disabled = true;
    replace(note, t("state.loading"));
    try {
      const result = await sendFile("/api/images/analyze", chosen, chosen.type || "image/jpeg");
      await draw(chosen, result);
      replace(note, t("upload.found", { count: result.detections.length }));
    } catch (err) {
      canvas.hidden = true;
      replace(note, h("span", { class: "state-error", text: err.message }));
    } finally {
      button.disabled = false;
    }
  }

  async function draw(chosen, result) {
    const bitmap = await createImageBitmap(chosen, { imageOrientation: "from-image" });
    canvas.width = result.width;
    canvas.height = result.height;
    const g = canvas.getContext("2d");
    g.drawImage(bitmap, 0, 0, result.width, result.height);
    const line = Math.max(2, Math.round(result.width / 300));
    g.lineWidth = line;
    g.font = `${line * 7}px sans-serif`;
    for (const d of result.detections) {
      const [x1, y1, x2, y2] = d.box;
      g.strokeStyle = g.fillStyle = d.class_name === "person" ? "#e4572e" : "#2e86de";
      g.strokeRect(x1, y1, x2 - x1, y2 - y1);
      g.fillText(`${d.class_name} ${fmtNumber(d.confidence, 2)}`, x1 + line, Math.max(line * 7, y1 - line));
    }
    canvas.hidden = false;
    canvas.dataset.boxes = String(result.detections.length);
  }

  return h(
    "div",
    { class: "panel upload" },
    h("h2", { text: t("upload.image_title") }),
    h("p", { class: "muted", text: t("upload.image_help") }),
    h("div", { class: "row" }, file, button),
    note,
    canvas,
  );
}
