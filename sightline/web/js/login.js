// The sign-in page. Errors say what to do; the password is never kept.

import { post } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

export function renderLogin(root, { langSwitch, onSuccess }) {
  const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("div", { class: "form-error", role: "alert", "data-testid": "login-error" });
  const submit = h("button", { type: "submit", text: t("auth.sign_in") });

  const form = h(
    "form",
    {
      class: "login-card",
      on: {
        submit: async (e) => {
          e.preventDefault();
          error.textContent = "";
          submit.disabled = true;
          submit.textContent = t("auth.signing_in");
          try {
            const res = await post("/api/auth/login", { username: username.value, password: password.value });
            password.value = "";
            onSuccess(res.user);
          } catch (err) {
            if (err.status === 401) error.textContent = t("auth.failed");
            else if (err.status === 429) error.textContent = t("auth.throttled");
            else error.textContent = err.message;
            password.select();
          } finally {
            submit.disabled = false;
            submit.textContent = t("auth.sign_in");
          }
        },
      },
    },
    h("div", { class: "login-head" }, h("h1", { text: t("app.title") }), langSwitch()),
    h("p", { class: "muted", text: t("auth.intro") }),
    h("label", { for: "login-username", text: t("auth.username") }),
    username,
    h("label", { for: "login-password", text: t("auth.password") }),
    password,
    error,
    submit,
  );
  replace(root, h("div", { class: "login-page" }, form));
  username.focus();
}
