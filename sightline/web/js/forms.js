// Form building blocks shared by the views: labelled fields with an error
// slot each, API validation errors put next to the field they name, and a
// simple modal dialog.

import { h } from "./dom.js";
import { t } from "./i18n.js";

// One labelled field. `name` is the API field path ("latitude",
// "config.rules.0.min_interval_s") whose 422 messages show under it.
export function field(labelText, input, name, help) {
  if (!input.id) input.id = `f-${name.replace(/[^a-z0-9]+/gi, "-")}-${Math.random().toString(36).slice(2, 7)}`;
  const error = h("div", { class: "field-error", "data-error-for": name });
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: input.id, text: labelText }),
    input,
    help ? h("div", { class: "help", text: help }) : null,
    error,
  );
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((el) => {
    el.textContent = "";
  });
  form.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
}

// Put each 422 location's message under its field (the deepest field whose
// name is a prefix of the location); what matches no field goes to the
// form-level box, so nothing the server said is lost.
export function showErrors(form, err, general) {
  const slots = [...form.querySelectorAll("[data-error-for]")];
  const leftover = [];
  const entries = Object.entries(err.fieldErrors || {});
  for (const [loc, msg] of entries) {
    let best = null;
    for (const slot of slots) {
      const name = slot.dataset.errorFor;
      if ((loc === name || loc.startsWith(`${name}.`)) && (!best || name.length > best.dataset.errorFor.length)) {
        best = slot;
      }
    }
    if (best) {
      best.textContent = best.textContent ? `${best.textContent}; ${msg}` : msg;
      best.closest(".field")?.classList.add("invalid");
    } else leftover.push(loc ? `${loc}: ${msg}` : msg);
  }
  if (!entries.length) leftover.push(err.message);
  general.textContent = leftover.length ? leftover.join("\n") : t("form.fix_fields");
  const first = form.querySelector(".field.invalid input, .field.invalid select, .field.invalid textarea");
  if (first) first.focus();
}

export function input(attrs = {}) {
  return h("input", { type: "text", ...attrs });
}

export function select(options, value, attrs = {}) {
  const el = h(
    "select",
    attrs,
    options.map(([v, label]) => h("option", { value: v, text: label })),
  );
  if (value !== undefined && value !== null) el.value = value;
  return el;
}

export function numberOrNull(value) {
  const s = String(value).trim();
  if (s === "") return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : s; // a non-number goes to the API, whose 422 names the field
}

// A modal dialog on <dialog>. Returns {dialog, close}; `body` is any node.
export function openDialog(title, body, { wide = false, onClose } = {}) {
  const dialog = h(
    "dialog",
    { class: wide ? "dialog wide" : "dialog" },
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { text: title }),
      h("button", {
        type: "button",
        class: "icon",
        "aria-label": t("action.close"),
        text: "×",
        on: { click: () => close() },
      }),
    ),
    body,
  );
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onClose) onClose();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

export function confirmAction(message) {
  // window.confirm keeps the text as text; good enough for destructive actions.
  return window.confirm(message);
}
