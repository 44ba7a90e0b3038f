"""Back-test on stored history (P3) and effectiveness statistics (P4), over
the API, on events that went through the real ingest path and were reviewed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sightline.api.context import AppContext
from sightline.service.tasks import TaskManager
from tests.integration.api.conftest import Api
from tests.integration.strategies.helpers import DAY, T0, crop_jpeg, raw_event, strategy

#: Confidence of raw events 0..9 and how a reviewer judged them (None: not reviewed).
HISTORY = [
    (0.55, "false"),
    (0.60, "false"),
    (0.65, None),
    (0.70, "true"),
    (0.75, None),
    (0.80, "true"),
    (0.85, "true"),
    (0.90, "true"),
    (0.95, "true"),
    (0.40, None),  # blocked live (below 0.5)
]


@pytest.fixture
def history(api: Api, manager: TaskManager) -> None:
    """Ten raw events judged live by 'gate-people' v1 (min confidence 0.5), then reviewed."""
    assert (
        api.as_("operator").post("/api/strategies", json={"spec": strategy(min_confidence=0.5)}).status_code
        == 201
    )
    manager.ingest(
        "t-1", [(raw_event(i, confidence=c), {"crop": crop_jpeg(i)}) for i, (c, _) in enumerate(HISTORY)]
    )
    reviewer = api.as_("reviewer")
    for i, (_, review) in enumerate(HISTORY):
        if review is not None:
            done = reviewer.post(f"/api/events/ev-gate-1-{i:05d}/review", json={"status": review})
            assert done.status_code == 201


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@pytest.mark.usefixtures("history")
def test_backtest_of_a_draft_against_the_live_strategy(api: Api) -> None:
    op = api.as_("operator")
    draft = strategy(min_confidence=0.75)
    report = op.post("/api/strategies/backtest", json={"spec": draft}).json()
    assert (report["total"], report["passed"], report["blocked"]) == (10, 5, 5)
    assert report["strategy_id"] == report["live_strategy_id"] == "gate-people"
    assert report["elements"] == [
        {
            "element_id": "confident",
            "element_type": "sightline/confidence-filter@v1",
            "passed": 5,
            "blocked": 5,
        }
    ]
    changed = {c["event_id"]: c for c in report["changed"]}
    assert sorted(changed) == [
        f"ev-gate-1-{i:05d}" for i in range(4)
    ]  # 0.55 .. 0.70: passed live, now blocked
    first = changed["ev-gate-1-00000"]
    assert (first["before"], first["after"], first["blocked_by"], first["review"]) == (
        "passed",
        "blocked",
        "confident",
        "false",
    )
    # Reviewed: true = 0.70, 0.80 .. 0.95 (5); false = 0.55, 0.60.
    assert report["draft_quality"] == {"reviewed": 7, "precision": 1.0, "recall": 0.8}
    assert report["live_quality"]["precision"] == pytest.approx(5 / 7)
    assert report["live_quality"]["recall"] == 1.0

    # The same draft as YAML text, on a time range (events 0..4) — what the UI sends.
    text = "id: gate-people\ncameras: [gate-1]\nevent_types: [line.cross]\nelements:\n"
    text += "  - {id: confident, type: sightline/confidence-filter@v1, min_confidence: 0.75}\n"
    ranged = op.post(
        "/api/strategies/backtest", json={"text": text, "from": _iso(T0), "to": _iso(T0 + 5 * 60)}
    ).json()
    assert (ranged["total"], ranged["passed"], len(ranged["changed"])) == (5, 1, 4)

    other_camera = op.post("/api/strategies/backtest", json={"spec": draft, "camera_id": "gate-9"}).json()
    assert other_camera["total"] == 0

    bad = op.post("/api/strategies/backtest", json={"spec": {**draft, "elements": [{"id": "x"}]}})
    assert bad.status_code == 422 and "type" in bad.json()["detail"][0]["msg"]
    swapped = op.post("/api/strategies/backtest", json={"spec": draft, "from": _iso(T0 + 60), "to": _iso(T0)})
    assert swapped.status_code == 422 and "swap" in swapped.json()["detail"][0]["msg"]


@pytest.mark.usefixtures("history")
def test_backtest_of_the_stored_strategy_reproduces_the_live_outcomes(api: Api) -> None:
    report = api.as_("operator").post("/api/strategies/gate-people/backtest", json={}).json()
    assert (report["total"], report["passed"], report["blocked"], report["changed"]) == (10, 9, 1, [])
    assert api.as_("operator").post("/api/strategies/nope/backtest", json={}).status_code == 404


def test_effectiveness_per_type_camera_and_day(api: Api, ctx: AppContext, manager: TaskManager) -> None:
    op = api.as_("operator")
    op.post("/api/strategies", json={"spec": strategy(min_confidence=0.5, cameras=())})
    day2 = T0 + DAY
    items = [
        # day 1, gate-1: 3 raw, 1 blocked
        (raw_event(1, wall_time=T0 + 10, confidence=0.9), {}),
        (raw_event(2, wall_time=T0 + 20, confidence=0.2), {}),
        (raw_event(3, wall_time=T0 + 30, confidence=0.8), {}),
        # day 1, gate-2: 2 raw, 2 blocked
        (raw_event(4, camera_id="gate-2", wall_time=T0 + 40, confidence=0.1), {}),
        (raw_event(5, camera_id="gate-2", wall_time=T0 + 50, confidence=0.3), {}),
        # day 2, gate-1: 1 raw zone.enter with no strategy (passes untouched), 1 line.cross passed
        (raw_event(6, type="zone.enter", wall_time=day2 + 10, zone_id="lawn", confidence=0.1), {}),
        (raw_event(7, wall_time=day2 + 20, confidence=0.7), {}),
    ]
    manager.ingest("t-1", items)
    out = api.as_("viewer").get("/api/strategies/effectiveness").json()
    assert out["total"] == {"raw": 7, "passed": 4, "blocked": 3, "pass_ratio": 0.5714, "block_ratio": 0.4286}
    by_type = {r["type"]: (r["raw"], r["passed"], r["blocked"]) for r in out["by_type"]}
    assert by_type == {"line.cross": (6, 3, 3), "zone.enter": (1, 1, 0)}
    assert out["by_type"][0]["name_zh"]  # names in both languages for the chart legend
    by_camera = {
        r["camera_id"]: (r["raw"], r["passed"], r["blocked"], r["block_ratio"]) for r in out["by_camera"]
    }
    assert by_camera == {"gate-1": (5, 4, 1, 0.2), "gate-2": (2, 0, 2, 1.0)}
    assert [(d["day"], d["raw"], d["blocked"]) for d in out["by_day"]] == [
        ("2024-05-01", 5, 3),
        ("2024-05-02", 2, 0),
    ]
    assert len(out["cells"]) == 4  # (day, type, camera) groups with events

    # Filters: time range and camera, like the events search; local days by offset.
    day1 = api.as_("viewer").get(f"/api/strategies/effectiveness?to={T0 + DAY}&camera_id=gate-1").json()
    assert (day1["total"]["raw"], day1["total"]["blocked"]) == (3, 1)
    shifted = api.as_("viewer").get("/api/strategies/effectiveness?tz_offset_minutes=-60").json()
    assert [d["day"] for d in shifted["by_day"]] == ["2024-04-30", "2024-05-01"]
    empty = api.as_("viewer").get(f"/api/strategies/effectiveness?from={T0 + 9 * DAY}").json()
    assert empty["total"] == {"raw": 0, "passed": 0, "blocked": 0, "pass_ratio": None, "block_ratio": None}
