// The live feed: new events as the server stores them (Server-Sent Events
// from GET /api/live/events), newest first. EventSource sends the session
// cookie and reconnects by itself; we only show the connection state.

import { enc } from "./api.js";
import { emptyState, fmtNumber, fmtUnix, h, replace } from "./dom.js";
import { currentLang, t, tOr, typeName } from "./i18n.js";

const MAX_ITEMS = 100;

export function eventWhere(ev) {
  const parts = [];
  if (ev.zone_id) parts.push(ev.zone_id);
  if (ev.line_id) parts.push(ev.line_id);
  if (ev.direction) parts.push(tOr(`direction.${ev.direction}`, ev.direction));
  return parts.join(" · ");
}

export function eventThumb(ev, kind = "preview") {
  const none = () => h("div", { class: "thumb thumb-none", text: t("event.no_image") });
  // Search results list the images an event has; a live event (the bare
  // Event JSON) does not, so its image is simply tried.
  if (ev.images && !(kind in ev.images)) return none();
  const img = h("img", {
    class: "thumb",
    loading: "lazy",
    alt: typeName(ev.type),
    src: `/api/events/${enc(ev.id)}/image/${kind}`,
  });
  img.addEventListener("error", () => img.replaceWith(none()), { once: true });
  return img;
}

export function statusBadge(status) {
  return h("span", { class: `badge review-${status}`, "data-status": status, text: tOr(`review.${status}`, status) });
}

export async function render(root, _params, app) {
  await app.loadCameraNames(); // cards show camera names, including cameras added since sign-in
  const state = h("span", { class: "badge conn conn-connecting", "data-testid": "live-state", text: t("live.connecting") });
  const dropped = h("span", { class: "muted small" });
  const feed = h("ol", { class: "feed", "data-testid": "live-feed" });
  const empty = emptyState(t("live.waiting"));
  replace(
    root,
    h("div", { class: "view-head" }, h("h1", { text: t("nav.live") }), state, dropped),
    empty,
    feed,
  );
  let missed = 0;

  function setState(key, cls) {
    state.className = `badge conn conn-${cls}`;
    state.textContent = t(key);
  }

  function add(ev) {
    empty.hidden = true;
    const item = h(
      "li",
      { class: "feed-item", dataset: { eventId: ev.id, type: ev.type } },
      h("a", { href: `#/events/${enc(ev.id)}`, class: "feed-link" }, [
        eventThumb(ev),
        h(
          "div",
          { class: "feed-text" },
          h("div", { class: "strong event-type", text: typeName(ev.type) }),
          h("div", { text: app.cameraName(ev.camera_id) }),
          h("div", { class: "muted small", text: fmtUnix(ev.wall_time, currentLang()) }),
          h(
            "div",
            { class: "muted small" },
            [eventWhere(ev), ev.class_name, ev.confidence ? fmtNumber(ev.confidence) : null].filter(Boolean).join(" · "),
          ),
        ),
      ]),
    );
    item.classList.add("new");
    feed.prepend(item);
    while (feed.children.length > MAX_ITEMS) feed.lastElementChild.remove();
  }

  const source = new EventSource("/api/live/events");
  source.addEventListener("open", () => setState("live.connected", "open"));
  source.addEventListener("error", () => {
    // CLOSED means the server refused (signed out, too many clients):
    // EventSource will not retry by itself then.
    if (source.readyState === EventSource.CLOSED) setState("live.closed", "closed");
    else setState("live.reconnecting", "connecting");
  });
  const onEvent = (msg) => {
    try {
      add(JSON.parse(msg.data));
    } catch (err) {
      console.error("bad live event", err);
    }
  };
  source.addEventListener("event", onEvent);
  source.addEventListener("message", onEvent); // servers that send unnamed events
  source.addEventListener("dropped", (msg) => {
    try {
      missed += JSON.parse(msg.data).dropped || 0;
    } catch (_) {
      missed += 1;
    }
    dropped.textContent = t("live.dropped", { n: missed });
  });
  return () => source.close();
}
