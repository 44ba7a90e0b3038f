"""Checks on the web UI's files and routes that need no browser.

- every message key the UI uses exists, in English and Chinese, with the
  same ``{placeholders}``;
- the page's scripts never build HTML from strings nor run strings as code
  (XSS), and fetch nothing from other hosts;
- the UI routes serve the files with a strict CSP, refuse path escapes and
  hand out the message table without sign-in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightline.api.routers import ui
from sightline.core.event_types import EVENT_TYPES
from sightline.i18n import LANGS, MESSAGES
from sightline.rules import RULE_CONFIG_ADAPTER
from sightline.storage.models import EVENT_STATUSES, HAZARD_STATES, ROLES, TASK_STATUSES

WEB = Path(ui.__file__).resolve().parents[2] / "web"
SCRIPTS = sorted((WEB / "js").glob("*.js"))
KEY = re.compile(r"""["'`]([a-z]+(?:\.[a-z0-9_]+)+)["'`]""")
NOT_KEYS = {"sightline.lang"}  # the localStorage key
#: Keys the UI builds from values (`camera.state.${status}`), per family.
DYNAMIC = {
    "camera.state": ("online", "offline", "error", "idle", "degraded", "connecting"),
    "task.state": TASK_STATUSES,
    "review": EVENT_STATUSES,
    "hazard.state": HAZARD_STATES,
    "hazard.to": tuple(s for s in HAZARD_STATES if s != "reported"),
    "role": ROLES,
    "direction": ("in", "out", "enter", "leave"),
    "trigger": ("enter", "leave", "inside"),
    "editor": ("hint_zone", "hint_line", "hint_select"),
    "event": ("image_frame", "image_preview", "image_crop"),
}


def test_scripts_exist() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"main.js", "api.js", "i18n.js", "zone_editor.js"} <= names
    assert (WEB / "index.html").is_file() and (WEB / "style.css").is_file()


def test_every_message_has_both_languages_and_the_same_placeholders() -> None:
    for key, entry in MESSAGES.items():
        assert set(LANGS) <= set(entry), f"{key}: missing {set(LANGS) - set(entry)}"
        assert all(entry[lang].strip() for lang in LANGS), f"{key}: empty text"
        holes = {lang: set(re.findall(r"\{(\w+)\}", entry[lang])) for lang in LANGS}
        assert holes["en"] == holes["zh-CN"], f"{key}: placeholders differ {holes}"


def test_every_key_the_ui_uses_is_translated() -> None:
    used: dict[str, str] = {}
    for path in SCRIPTS:
        for key in KEY.findall(path.read_text(encoding="utf-8")):
            # Field paths (config.rules.0.line) and file names are not message keys.
            if key.startswith("config.") or key.endswith((".js", ".css")) or key in NOT_KEYS:
                continue
            used.setdefault(key, path.name)
    for family, values in DYNAMIC.items():
        for v in values:
            used.setdefault(f"{family}.{v}", "dynamic")
    rule_keys = [re.sub(r"^sightline/|@v\d+$", "", t) for t in _rule_types()]
    for key in rule_keys:
        used.setdefault(f"rule.type.{key}", "dynamic")
    missing = sorted(f"{k} ({where})" for k, where in used.items() if k not in MESSAGES)
    assert not missing, f"keys used by the UI but not in sightline/i18n.py: {missing}"


def _rule_types() -> list[str]:
    schema = RULE_CONFIG_ADAPTER.json_schema()
    return sorted(schema["discriminator"]["mapping"])


def test_rule_form_knows_every_built_in_rule() -> None:
    form = (WEB / "js" / "rule_form.js").read_text(encoding="utf-8")
    for rule_type in _rule_types():
        assert f'"{rule_type}"' in form, f"the task form has no card for {rule_type}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_build_no_html_from_strings(path: Path) -> None:
    src = path.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in src, f"{path.name} uses {sink}: build nodes with dom.h() instead"
    assert not re.search(r"setAttribute\(\s*['\"]on", src), f"{path.name} sets an inline handler"
    assert not re.search(r"https?://(?!127\.0\.0\.1)", src), f"{path.name} refers to another host"


def test_web_files_stay_small_and_local() -> None:
    for path in [*SCRIPTS, WEB / "index.html", WEB / "style.css"]:
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 800, f"{path.name} is over 800 lines: split it"
        assert "//cdn" not in text and "@import url(http" not in text, f"{path.name} loads from the internet"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(ui.router)
    return TestClient(app)


def test_page_and_files_are_served_with_a_strict_csp(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert '<script type="module" src="/ui/js/main.js">' in page.text
    js = client.get("/ui/js/main.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/style.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path", ["/ui/../i18n.py", "/ui/%2e%2e/i18n.py", "/ui/js/../../i18n.py", "/ui/nope.js"]
)
def test_no_file_outside_the_web_folder(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_message_table(client: TestClient) -> None:
    zh = client.get("/api/i18n?lang=zh-CN").json()
    assert zh["lang"] == "zh-CN" and zh["messages"]["nav.cameras"] == "摄像机"
    assert zh["event_types"] == {code: et.name_zh for code, et in EVENT_TYPES.items()}
    en = client.get("/api/i18n", headers={"Accept-Language": "en-GB,en;q=0.9"}).json()
    assert en["lang"] == "en" and en["event_types"]["line.cross"] == "Line crossing"
    assert client.get("/api/i18n", headers={"Accept-Language": "zh-TW"}).json()["lang"] == "zh-CN"
    assert client.get("/api/i18n?lang=fr").status_code == 422
