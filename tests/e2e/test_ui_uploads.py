"""The "Analyse a file" page in headless Chromium: upload a short recording
(progress bar), analyse it to its end, and see boxes drawn on a picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import Service
from tests.e2e.test_ui import shot, sign_in
from tests.media import ultralytics_asset
from tests.upload_media import clip


def test_upload_a_video_and_a_picture(page: Any, service: Service, tmp_path: Path) -> None:
    video = clip(tmp_path / "walk.mp4", 3)
    sign_in(page, service)
    page.click("nav a[href='#/files']")
    page.wait_for_selector("[data-testid=video-list]")

    page.set_input_files("[data-testid=video-file]", str(video))
    page.click("[data-testid=upload-video]")
    row = page.locator("tr", has_text="walk.mp4")
    row.wait_for()
    row.locator("[data-testid=analyse-video]").click()
    row.locator("[data-testid=analysis][data-status=finished]").wait_for(timeout=90_000)
    assert "30 / 30" in row.inner_text()
    shot(page, "uploads-video-finished")

    page.set_input_files("[data-testid=image-file]", str(ultralytics_asset("bus.jpg")))
    page.click("[data-testid=analyse-image]")
    page.wait_for_selector("[data-testid=image-canvas][data-boxes]:not([hidden])")
    assert int(page.get_attribute("[data-testid=image-canvas]", "data-boxes")) >= 3
    assert "objects found" in page.inner_text("[data-testid=image-result]")
    shot(page, "uploads-picture-boxes")
    assert not [line for line in page.console_log if line.startswith("pageerror")]
