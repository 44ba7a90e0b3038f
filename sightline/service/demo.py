"""First-run demo: a camera that loops the OpenCV sample video and a people
task (lawn zone + road line) so a fresh install shows events within a minute.

Only seeded into an empty database; an operator's own cameras are never
touched, and deleting the demo camera keeps it deleted."""

from __future__ import annotations

from pathlib import Path

from sightline.api.context import AppContext
from sightline.config.analysis import load_config
from sightline.storage.models import Camera, Task

DEMO_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "vtest.yaml"
DEMO_CAMERA_ID = "vtest"
DEMO_TASK_ID = "vtest-people"


def seed_demo(ctx: AppContext, video: Path = DEMO_VIDEO, config_path: Path = DEMO_CONFIG) -> bool:
    """Add the demo camera and task if the database has no camera yet."""
    config = load_config(config_path)
    with ctx.db.session() as s:
        if s.query(Camera).first() is not None:
            return False
        s.add(
            Camera(
                id=DEMO_CAMERA_ID,
                name="Demo: OpenCV vtest.avi (looped) / 演示视频",
                url=str(video),
                region="demo",
                department=None,
                tags=["demo"],
                source_options={"loop": True},
                enabled=True,
            )
        )
        s.flush()
        s.add(
            Task(
                id=DEMO_TASK_ID,
                camera_id=DEMO_CAMERA_ID,
                name="People: lawn zone + road line / 人员：草坪区域 + 道路断面",
                algorithm="sightline/people@v1",
                config=config.model_dump(mode="json", exclude={"camera_id"}),
                schedule=None,
                desired_state="running",
                status="created",
            )
        )
    return True
