// The app shell: sign-in, the top bar, and a hash router over the views.
//
// Each view module exports render(root, params, app) and may return a cleanup
// function (stop timers, close the live feed) that runs when the user leaves.

import { get, onUnauthorized, post } from "./api.js";
import { clear, errorState, h, replace, spinner } from "./dom.js";
import { currentLang, loadLang, otherLang, pickLang, saveLang, t, tOr } from "./i18n.js";
import { renderLogin } from "./login.js";
import * as cameras from "./cameras.js";
import * as tasks from "./tasks.js";
import * as live from "./live.js";
import * as events from "./events.js";
import * as eventDetail from "./event_detail.js";
import * as hazards from "./hazards.js";
import * as strategies from "./strategies.js";
import * as uploads from "./uploads.js";

const NAV = [
  ["cameras", "nav.cameras"],
  ["tasks", "nav.tasks"],
  ["files", "nav.files"],
  ["live", "nav.live"],
  ["events", "nav.events"],
  ["hazards", "nav.hazards"],
  ["strategies", "nav.strategies"],
];

const ROUTES = [
  [/^cameras$/, cameras.render],
  [/^tasks$/, tasks.render],
  [/^files$/, uploads.render],
  [/^live$/, live.render],
  [/^events$/, events.render],
  [/^events\/([^/]+)$/, eventDetail.render],
  [/^hazards$/, hazards.render],
  [/^strategies$/, strategies.render],
];

const app = {
  user: null,
  root: document.getElementById("app"),
  cleanup: null,
  // Camera names by id, shared by the views that show events and tasks.
  cameraNames: new Map(),
  async loadCameraNames() {
    try {
      const data = await get("/api/cameras");
      const list = Array.isArray(data) ? data : data.items || [];
      app.cameraNames = new Map(list.map((c) => [c.id, c.name || c.id]));
      return list;
    } catch (_) {
      return [];
    }
  },
  cameraName(id) {
    return app.cameraNames.get(id) || id;
  },
  can(minRole) {
    const rank = { viewer: 0, reviewer: 1, operator: 2, admin: 3 };
    return app.user && rank[app.user.role] >= rank[minRole];
  },
  navigate(path) {
    location.hash = `#/${path}`;
  },
};

// GET /api/auth/me gives {name, role, user: {username, display_name, ...}}
// (user is null for an API key); login gives the user alone.
function userFrom(me) {
  const u = me.user || {};
  return { name: u.display_name || u.username || me.name, username: u.username || me.name, role: me.role || u.role };
}

function runCleanup() {
  if (typeof app.cleanup === "function") {
    try {
      app.cleanup();
    } catch (err) {
      console.error(err);
    }
  }
  app.cleanup = null;
}

function langSwitch() {
  return h("button", {
    type: "button",
    class: "lang-switch",
    "data-testid": "lang-switch",
    text: t("lang.switch"),
    on: {
      click: async () => {
        const next = otherLang();
        saveLang(next);
        // Drop ?lang= so the saved choice wins on the next load.
        if (location.search) history.replaceState(null, "", location.pathname + location.hash);
        await loadLang(next);
        start();
      },
    },
  });
}

function topBar(current) {
  const links = NAV.map(([path, key]) =>
    h("a", { href: `#/${path}`, class: path === current ? "active" : null, text: t(key) }),
  );
  const user = app.user;
  return h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand", text: t("app.title") }),
    h("nav", { class: "nav" }, links),
    h(
      "div",
      { class: "who" },
      h("span", { class: "user-name", "data-testid": "user-name", text: user.name }),
      h("span", { class: "badge role", text: tOr(`role.${user.role}`, user.role) }),
      langSwitch(),
      h("button", {
        type: "button",
        class: "secondary",
        text: t("auth.logout"),
        on: {
          click: async () => {
            try {
              await post("/api/auth/logout");
            } catch (_) {
              /* signed out locally either way */
            }
            app.user = null;
            showLogin();
          },
        },
      }),
    ),
  );
}

function route() {
  if (!app.user) return;
  const path = location.hash.replace(/^#\/?/, "").split("?")[0] || "cameras";
  let view = null;
  let params = [];
  for (const [re, fn] of ROUTES) {
    const m = path.match(re);
    if (m) {
      view = fn;
      params = m.slice(1).map(decodeURIComponent);
      break;
    }
  }
  runCleanup();
  const section = path.split("/")[0];
  const main = h("main", { class: "view", id: "view" });
  replace(app.root, topBar(section), main);
  if (!view) {
    main.append(errorState(t("error.not_found_page")));
    return;
  }
  main.append(spinner(t("state.loading")));
  Promise.resolve(view(main, params, app))
    .then((cleanup) => {
      app.cleanup = cleanup;
    })
    .catch((err) => {
      replace(main, errorState(err.message || String(err)));
    });
}

function showLogin() {
  runCleanup();
  renderLogin(app.root, {
    langSwitch,
    onSuccess: (user) => {
      app.user = userFrom({ user, role: user.role, name: user.username });
      if (!location.hash || location.hash === "#/" || location.hash === "#/login") app.navigate("cameras");
      app.loadCameraNames().then(route);
    },
  });
}

async function start() {
  clear(app.root).append(spinner(t("state.loading")));
  try {
    app.user = userFrom(await get("/api/auth/me"));
  } catch (err) {
    if (err.status === 401) return showLogin();
    replace(app.root, errorState(err.message));
    return;
  }
  await app.loadCameraNames();
  route();
}

onUnauthorized(() => {
  if (app.user) {
    app.user = null;
    showLogin();
  }
});

window.addEventListener("hashchange", route);

(async function boot() {
  try {
    await loadLang(pickLang());
  } catch (err) {
    // Without the message table there is nothing to say in the user's language.
    replace(app.root, errorState(`Sightline: ${err.message}`));
    return;
  }
  document.body.dataset.lang = currentLang();
  start();
})();
