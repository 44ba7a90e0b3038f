// Event search: filters (camera, type, status, time range), a table with
// thumbnails, and keyset paging (the server's next_cursor; a stack of the
// cursors seen gives "previous" without offsets).

import { get, query } from "./api.js";
import { emptyState, errorState, fmtNumber, fmtUnix, h, localInputToUnix, replace, spinner } from "./dom.js";
import { select } from "./forms.js";
import { currentLang, eventTypeCodes, t, typeName } from "./i18n.js";
import { eventThumb, eventWhere, statusBadge } from "./live.js";

const PAGE_SIZE = 25;
const STATUSES = ["pending", "true", "false", "ignored"];

// Filters survive leaving the page and coming back (e.g. from an event's detail).
const saved = { camera_id: "", type: "", status: "", outcome: "passed", from: "", to: "", sort: "desc" };
// Strategy outcome (P2): the output by default; blocked events on request.
const OUTCOMES = ["passed", "blocked", "all"];

export async function render(root, _params, app) {
  const cameras = await app.loadCameraNames();
  const f = {
    camera_id: select([["", t("filter.any_camera")], ...cameras.map((c) => [c.id, c.name])], saved.camera_id, {
      "aria-label": t("event.camera"),
    }),
    type: select([["", t("filter.any_type")], ...eventTypeCodes().map((c) => [c, typeName(c)])], saved.type, {
      "aria-label": t("event.type"),
    }),
    status: select([["", t("filter.any_status")], ...STATUSES.map((s) => [s, t(`review.${s}`)])], saved.status, {
      "aria-label": t("event.status"),
      "data-testid": "filter-status",
    }),
    outcome: select(OUTCOMES.map((o) => [o, t(`outcome.${o}`)]), saved.outcome, {
      "aria-label": t("filter.outcome"),
      "data-testid": "filter-outcome",
    }),
    from: h("input", { type: "datetime-local", value: saved.from, "aria-label": t("filter.from") }),
    to: h("input", { type: "datetime-local", value: saved.to, "aria-label": t("filter.to") }),
    sort: select(
      [
        ["desc", t("filter.newest")],
        ["asc", t("filter.oldest")],
      ],
      saved.sort,
      { "aria-label": t("filter.sort") },
    ),
  };
  const results = h("div", { class: "table-wrap" });
  const pager = h("div", { class: "pager" });
  const filters = h(
    "form",
    { class: "filters", "data-testid": "event-filters" },
    labelled(t("event.camera"), f.camera_id),
    labelled(t("event.type"), f.type),
    labelled(t("event.status"), f.status),
    labelled(t("filter.outcome"), f.outcome),
    labelled(t("filter.from"), f.from),
    labelled(t("filter.to"), f.to),
    labelled(t("filter.sort"), f.sort),
    h("button", { type: "submit", text: t("filter.apply") }),
    h("button", {
      type: "button",
      class: "secondary",
      text: t("filter.reset"),
      on: {
        click: () => {
          for (const [k, el] of Object.entries(f)) el.value = { sort: "desc", outcome: "passed" }[k] || "";
          search();
        },
      },
    }),
  );
  replace(root, h("div", { class: "view-head" }, h("h1", { text: t("nav.events") })), filters, results, pager);

  let cursors = [null]; // cursor of each page seen; the last is the current page's
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });

  function search() {
    for (const k of Object.keys(saved)) saved[k] = f[k].value;
    cursors = [null];
    load();
  }

  async function load() {
    replace(results, spinner(t("state.loading")));
    replace(pager);
    const from = localInputToUnix(f.from.value);
    const to = localInputToUnix(f.to.value);
    if (from !== null && to !== null && to <= from) {
      replace(results, errorState(t("filter.bad_range")));
      return;
    }
    const params = {
      camera_id: f.camera_id.value,
      type: f.type.value,
      status: f.status.value,
      outcome: f.outcome.value,
      from,
      to,
      sort: f.sort.value,
      limit: PAGE_SIZE,
      cursor: cursors[cursors.length - 1],
    };
    let page;
    try {
      page = await get(`/api/events${query(params)}`);
    } catch (err) {
      replace(results, errorState(err.message));
      return;
    }
    draw(page);
  }

  function draw(page) {
    const items = page.items || [];
    if (!items.length) {
      replace(results, emptyState(cursors.length > 1 ? t("events.no_more") : t("events.none_match")));
    } else {
      const rows = items.map((ev) =>
        h(
          "tr",
          {
            class: "clickable",
            dataset: { eventId: ev.id },
            tabindex: "0",
            on: {
              click: () => app.navigate(`events/${encodeURIComponent(ev.id)}`),
              keydown: (e) => {
                if (e.key === "Enter") app.navigate(`events/${encodeURIComponent(ev.id)}`);
              },
            },
          },
          h("td", {}, eventThumb(ev)),
          h("td", { text: fmtUnix(ev.wall_time, currentLang()) }),
          h("td", { class: "strong", text: typeName(ev.type) }),
          h("td", { text: app.cameraName(ev.camera_id) }),
          h("td", { text: eventWhere(ev) }),
          h("td", { text: [ev.class_name, ev.track_id !== null && ev.track_id !== undefined ? `#${ev.track_id}` : null].filter(Boolean).join(" ") }),
          h("td", { class: "num", text: fmtNumber(ev.confidence) }),
          h("td", {}, statusBadge(ev.status)),
        ),
      );
      replace(
        results,
        h(
          "table",
          { class: "table", "data-testid": "event-table" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["event.snapshot", "event.time", "event.type", "event.camera", "event.where", "event.object", "event.confidence", "event.status"].map(
                (k) => h("th", { text: t(k) }),
              ),
            ),
          ),
          h("tbody", {}, rows),
        ),
      );
    }
    const pageNo = cursors.length;
    const first = (pageNo - 1) * PAGE_SIZE + (items.length ? 1 : 0);
    const last = (pageNo - 1) * PAGE_SIZE + items.length;
    replace(
      pager,
      h("button", {
        type: "button",
        class: "secondary",
        disabled: pageNo === 1,
        text: t("page.prev"),
        on: {
          click: () => {
            cursors.pop();
            load();
          },
        },
      }),
      h("span", {
        class: "muted",
        text: page.total !== null && page.total !== undefined ? t("page.range_total", { first, last, total: page.total }) : t("page.range", { first, last }),
      }),
      h("button", {
        type: "button",
        class: "secondary",
        disabled: !page.next_cursor,
        text: t("page.next"),
        on: {
          click: () => {
            cursors.push(page.next_cursor);
            load();
          },
        },
      }),
    );
  }

  load();
}

function labelled(text, control) {
  return h("label", { class: "filter" }, h("span", { text }), control);
}
