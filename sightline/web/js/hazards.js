// Hazard tickets (seed 000's workflow: reported -> rectifying -> verifying ->
// accepted): the list with a state filter and, per ticket, its state, the
// buttons for the transitions the server allows (next_states), and the
// comment thread that doubles as the state history.

import { enc, get, post, query } from "./api.js";
import { emptyState, errorState, fmtIso, h, replace, spinner } from "./dom.js";
import { select } from "./forms.js";
import { currentLang, t, tOr, typeName } from "./i18n.js";

const STATES = ["reported", "rectifying", "verifying", "accepted"];

export function hazardBadge(state) {
  return h("span", { class: `badge hazard-${state}`, "data-state": state, text: tOr(`hazard.state.${state}`, state) });
}

// A ticket's state, transitions and comments; re-renders itself after each action.
export async function ticketPanel(ticketId, app) {
  const box = h("div", { class: "ticket", "data-testid": "ticket", dataset: { ticketId } });
  async function load() {
    let ticket;
    try {
      ticket = await get(`/api/hazards/${enc(ticketId)}`);
    } catch (err) {
      replace(box, errorState(err.message));
      return;
    }
    draw(ticket);
  }

  function draw(ticket) {
    const error = h("div", { class: "form-error", role: "alert" });
    const note = h("textarea", { rows: 2, maxlength: 5000, placeholder: t("hazard.comment_placeholder"), "aria-label": t("hazard.comment") });
    const act = async (path, body, button) => {
      error.textContent = "";
      button.disabled = true;
      try {
        await post(`/api/hazards/${enc(ticket.id)}/${path}`, body);
        await load();
      } catch (err) {
        error.textContent = err.message;
        button.disabled = false;
      }
    };
    // Comments need a reviewer, state changes an operator (as the API enforces).
    const canAct = app.can("reviewer");
    const transitions = app.can("operator")
      ? (ticket.next_states || []).map((to) => {
          const b = h("button", {
            type: "button",
            class: to === "rectifying" && ticket.state === "verifying" ? "secondary" : "",
            "data-testid": `hazard-to-${to}`,
            text: t(ticket.state === "verifying" && to === "rectifying" ? "hazard.reject" : `hazard.to.${to}`),
            on: { click: () => act("transition", { to_state: to, note: note.value }, b) },
          });
          return b;
        })
      : [];
    const comment = canAct
      ? h("button", {
          type: "button",
          class: "secondary",
          text: t("hazard.add_comment"),
          on: {
            click: (e) => {
              if (!note.value.trim()) {
                error.textContent = t("hazard.comment_empty");
                return;
              }
              act("comments", { body: note.value }, e.target);
            },
          },
        })
      : null;
    const comments = ticket.comments || [];
    replace(
      box,
      h(
        "div",
        { class: "ticket-head" },
        h("span", { class: "strong", text: ticket.title || t("hazard.untitled") }),
        " ",
        hazardBadge(ticket.state),
      ),
      ticket.description ? h("p", { class: "note", text: ticket.description }) : null,
      h(
        "p",
        { class: "muted small" },
        t("hazard.reported_by", { name: ticket.reporter_name || "–", time: fmtIso(ticket.created_at, currentLang()) }),
        ticket.assignee_name ? ` · ${t("hazard.assignee")}: ${ticket.assignee_name}` : "",
      ),
      canAct && ticket.state !== "accepted" ? note : null,
      h("div", { class: "button-row" }, transitions, ticket.state !== "accepted" ? comment : null),
      error,
      comments.length
        ? h(
            "ul",
            { class: "history" },
            comments.map((c) =>
              h(
                "li",
                {},
                h("span", { class: "strong", text: c.author_name || "–" }),
                " ",
                h("span", { class: "muted small", text: fmtIso(c.created_at, currentLang()) }),
                c.to_state
                  ? h("div", {}, c.from_state ? [hazardBadge(c.from_state), " → "] : null, hazardBadge(c.to_state))
                  : null,
                c.body ? h("div", { class: "note", text: c.body }) : null,
              ),
            ),
          )
        : h("p", { class: "muted", text: t("hazard.no_comments") }),
    );
  }

  await load();
  return box;
}

export async function render(root, _params, app) {
  const stateFilter = select([["", t("filter.any_state")], ...STATES.map((s) => [s, t(`hazard.state.${s}`)])], "", {
    "aria-label": t("hazard.state"),
  });
  const list = h("div", { class: "table-wrap" });
  const detail = h("div", { class: "hazard-detail" });
  replace(
    root,
    h("div", { class: "view-head" }, h("h1", { text: t("nav.hazards") }), h("label", { class: "filter" }, h("span", { text: t("hazard.state") }), stateFilter)),
    h("div", { class: "split" }, list, detail),
  );
  stateFilter.addEventListener("change", load);

  async function load() {
    replace(list, spinner(t("state.loading")));
    let data;
    try {
      data = await get(`/api/hazards${query({ state: stateFilter.value, limit: 200 })}`);
    } catch (err) {
      replace(list, errorState(err.message));
      return;
    }
    const items = data.items || [];
    if (!items.length) {
      replace(list, emptyState(t("hazard.empty")));
      return;
    }
    replace(
      list,
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          {},
          h("tr", {}, ["hazard.ticket_title", "event.type", "event.camera", "hazard.state", "hazard.assignee", "hazard.updated"].map((k) => h("th", { text: t(k) }))),
        ),
        h(
          "tbody",
          {},
          items.map((tk) =>
            h(
              "tr",
              {
                class: "clickable",
                tabindex: "0",
                on: {
                  click: () => open(tk),
                  keydown: (e) => {
                    if (e.key === "Enter") open(tk);
                  },
                },
              },
              h("td", { class: "strong", text: tk.title || t("hazard.untitled") }),
              h("td", { text: tk.event_type ? typeName(tk.event_type) : "" }),
              h("td", { text: tk.camera_id ? app.cameraName(tk.camera_id) : "" }),
              h("td", {}, hazardBadge(tk.state)),
              h("td", { text: tk.assignee_name || "" }),
              h("td", { class: "small", text: fmtIso(tk.updated_at, currentLang()) }),
            ),
          ),
        ),
      ),
    );
  }

  async function open(tk) {
    replace(detail, spinner(t("state.loading")));
    const panel = await ticketPanel(tk.id, app);
    replace(
      detail,
      h(
        "section",
        { class: "panel" },
        h("a", { href: `#/events/${enc(tk.event_id)}`, text: t("hazard.open_event") }),
        panel,
      ),
    );
  }

  await load();
}
