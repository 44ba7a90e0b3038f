"""Uploads: a video goes in whole, is listed, analysed once to its end by the
real task runner and detector (events stored through the normal path), and a
picture comes back with its detections. Bad uploads are tests/faults/test_bad_uploads.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from sightline.api.context import AppContext
from sightline.service.tasks import TaskManager
from sightline.storage import EventQuery
from sightline.storage.models import Camera, Task
from sightline.uploads.receive import remove_stale_uploads, temp_dir
from tests.integration.api.api_helpers import FakeTasks, audit_actions
from tests.integration.api.conftest import Api
from tests.polling import wait_for
from tests.upload_media import clip

MP4 = {"Content-Type": "video/mp4"}


@pytest.fixture(scope="module")
def short_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return clip(tmp_path_factory.mktemp("media") / "clip.mp4", 6).read_bytes()


def upload(api: Api, data: bytes, role: str = "operator", name: str = "walk.mp4") -> Any:
    return api.as_(role).post(f"/api/videos?filename={name}", content=data, headers=MP4)


def test_upload_stores_the_file_once_and_lists_it(api: Api, ctx: AppContext, short_mp4: bytes) -> None:
    r = upload(api, short_mp4)
    assert r.status_code == 201, r.text
    video = r.json()
    assert video["filename"] == "walk.mp4" and video["codec"] == "h264"
    assert (video["width"], video["height"], video["frames"]) == (768, 576, 60)
    assert video["duration_s"] == pytest.approx(6.0, abs=0.2) and video["analyses"] == []
    stored = ctx.data_dir / "videos" / f"{video['id']}.mp4"
    assert stored.read_bytes() == short_mp4
    assert list((ctx.data_dir / "uploads-tmp").iterdir()) == []

    again = upload(api, short_mp4, name="copy.mp4")  # same bytes: the same video, not a second file
    assert again.status_code == 200 and again.json()["id"] == video["id"]
    assert len(list((ctx.data_dir / "videos").iterdir())) == 1

    listed = api.as_("viewer").get("/api/videos").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == video["id"]
    assert api.as_("viewer").get(f"/api/videos/{video['id']}").json()["frames"] == 60
    assert api.as_("east_viewer").get("/api/videos").json()["total"] == 0  # uploaded without a department
    assert ("video.upload", video["id"]) in audit_actions(ctx)

    # Another department uploading the same bytes never gets this row (name, uploader, analyses).
    theirs = upload(api, short_mp4, role="east_operator", name="east.mp4")
    assert theirs.status_code == 409 and "another department" in theirs.json()["detail"], theirs.text
    assert "walk.mp4" not in theirs.text
    assert list((ctx.data_dir / "uploads-tmp").iterdir()) == []


def test_analyze_creates_a_run_once_file_task_and_delete_waits_for_it(
    api: Api, ctx: AppContext, tasks: FakeTasks, short_mp4: bytes
) -> None:
    video_id = upload(api, short_mp4).json()["id"]
    r = api.as_("operator").post(f"/api/videos/{video_id}/analyze")
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "created" and run["frames_total"] == 60 and run["progress"] == 0
    assert ("apply", run["task_id"]) in tasks.calls
    with ctx.db.session() as s:
        camera = s.get(Camera, run["camera_id"])
        task = s.get(Task, run["task_id"])
        assert camera is not None and task is not None
        assert camera.source_options == {"loop": False} and camera.url.endswith(f"{video_id}.mp4")
        assert task.desired_state == "running"
        assert {z["id"] for z in task.config["zones"]} == {"lawn"}  # the default: the people demo config

    tasks.statuses[run["task_id"]] = {"state": "running", "decoded": 30, "events": 2}
    progress = api.as_("viewer").get(f"/api/videos/{video_id}").json()["analyses"][0]
    assert progress["frames_done"] == 30 and progress["progress"] == 0.5 and progress["events"] == 2
    busy = api.as_("operator").post(f"/api/videos/{video_id}/analyze")
    assert busy.status_code == 409 and run["task_id"] in busy.json()["detail"]
    refused = api.as_("operator").delete(f"/api/videos/{video_id}")
    assert refused.status_code == 409 and "stop it first" in refused.json()["detail"]

    tasks.statuses[run["task_id"]] = {"state": "finished", "decoded": 60, "events": 3}
    done = api.as_("viewer").get(f"/api/videos/{video_id}").json()["analyses"][0]
    assert done["status"] == "finished" and done["progress"] == 1.0
    assert api.as_("operator").delete(f"/api/videos/{video_id}").status_code == 204
    assert list((ctx.data_dir / "videos").iterdir()) == []
    with ctx.db.session() as s:
        assert s.get(Camera, run["camera_id"]) is None and s.get(Task, run["task_id"]) is None
    assert api.as_("viewer").get(f"/api/videos/{video_id}").status_code == 404


def test_analyze_takes_a_config_and_checks_it(api: Api, short_mp4: bytes) -> None:
    video_id = upload(api, short_mp4).json()["id"]
    bad = api.as_("operator").post(
        f"/api/videos/{video_id}/analyze", json={"config": {"zones": [{"id": "z", "points": [[0, 0]]}]}}
    )
    assert bad.status_code == 422
    config = {"detector": {"classes": ["car"]}, "rules": []}
    r = api.as_("operator").post(f"/api/videos/{video_id}/analyze", json={"name": "Cars", "config": config})
    assert r.status_code == 201 and r.json()["name"] == "Cars"


@pytest.mark.model
def test_a_real_analysis_runs_to_the_end_once_and_stores_events(
    api: Api, ctx: AppContext, short_mp4: bytes, model_path: Path
) -> None:
    manager = TaskManager(ctx)  # realtime=True, as served: a file played once is not paced all the same
    ctx.tasks = manager
    try:
        video_id = upload(api, short_mp4).json()["id"]
        run = api.as_("operator").post(f"/api/videos/{video_id}/analyze").json()

        def analysis() -> Any:
            return api.as_("viewer").get(f"/api/videos/{video_id}").json()["analyses"][0]

        assert wait_for(lambda: analysis()["status"] in ("finished", "error"), 120), analysis()
        final = analysis()
        assert final["status"] == "finished" and final["progress"] == 1.0, final
        assert final["frames_done"] == 60 and final["events"] > 0, final
        with ctx.db.session() as s:
            task = s.get(Task, run["task_id"])
            assert task is not None and (task.status, task.desired_state) == ("finished", "stopped")
        page = ctx.events.search(EventQuery(camera_ids=[run["camera_id"]], limit=50))
        assert 0 < (page.total or 0) <= final["events"] and {e.type for e in page.items} <= {
            "line.cross",
            "zone.enter",
            "zone.loiter",
        }
        time.sleep(1.0)  # it does not start over: a looped file would keep adding frames
        assert analysis()["frames_done"] == 60 and manager.status(run["task_id"])["decoded"] == 60
    finally:
        manager.stop_all()
    with ctx.db.session() as s:  # stopping the service keeps the finished state
        assert s.get(Task, run["task_id"]).status == "finished"  # type: ignore[union-attr]


@pytest.mark.model
def test_a_picture_comes_back_with_boxes(api: Api, bus_jpg: Path) -> None:
    data = bus_jpg.read_bytes()
    r = api.as_("reviewer").post("/api/images/analyze", content=data, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"], body["format"]) == (810, 1080, "image/jpeg")
    people = [d for d in body["detections"] if d["class_name"] == "person"]
    assert len(people) >= 3
    for d in body["detections"]:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= 810 and 0 <= y1 < y2 <= 1080 and d["confidence"] >= 0.4

    only = api.as_("reviewer").post(
        "/api/images/analyze?classes=bus&min_confidence=0.3",
        content=data,
        headers={"Content-Type": "image/jpeg"},
    )
    assert only.status_code == 200 and {d["class_name"] for d in only.json()["detections"]} == {"bus"}
    unknown = api.as_("reviewer").post(
        "/api/images/analyze?classes=unicorn", content=data, headers={"Content-Type": "image/jpeg"}
    )
    assert unknown.status_code == 422 and "unicorn" in unknown.text
    assert api.as_("viewer").post("/api/images/analyze", content=data).status_code == 403


def test_uploads_left_by_a_killed_process_are_removed_at_start(tmp_path: Path) -> None:
    folder = temp_dir(tmp_path)
    old, fresh, other = folder / "upload-old", folder / "upload-fresh", folder / "notes.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"x" * 10)
    now = time.time()
    os.utime(old, (now - 7200, now - 7200))
    os.utime(other, (now - 7200, now - 7200))
    assert remove_stale_uploads(tmp_path, now) == 1
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.txt",
        "upload-fresh",
    ]  # another may be receiving
