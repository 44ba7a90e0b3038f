"""EventStore on SQLite and PostgreSQL: round trip, images, search, paging,
review history, statistics, and what a failed image write leaves behind."""

from __future__ import annotations

import errno
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sightline.storage import BlobStore, BlobWriteError, EventFilter, EventNotFound, EventQuery, EventStore
from sightline.storage.models import Camera, User
from tests.integration.storage.helpers import BASE_TIME, DAY, jpeg, make_event


def test_add_and_get_round_trip_with_images(store: EventStore, blobs: BlobStore) -> None:
    event = make_event(zone_id="yard", wall_time=BASE_TIME + 0.123456789)
    frame, crop = jpeg(1), jpeg(2)
    assert store.add(
        event, {"frame": frame, "crop": crop}, task_id="task-1", trace=[{"step": "dedupe", "pass": True}]
    )
    got = store.get(event.id)
    assert got is not None
    # Every core field comes back exactly, floats bit for bit.
    stored_only = {"status", "task_id", "trace", "reviewed_at", "snapshot"}
    decision = {"outcome", "blocked_by", "strategy_id", "strategy_version"}
    core = got.model_dump(exclude=stored_only | decision)
    assert core == event.model_dump(exclude={"snapshot"})
    assert got.wall_time == event.wall_time and got.frame_size == (768, 576)
    assert got.status == "pending" and got.task_id == "task-1"
    assert got.trace == [{"step": "dedupe", "pass": True}]
    assert got.snapshot.frame is not None and got.snapshot.crop is not None and got.snapshot.preview is None
    assert got.snapshot.frame.endswith(".jpg")
    assert blobs.get(got.snapshot.frame) == frame
    assert blobs.get(got.snapshot.crop) == crop
    assert store.get("no-such-id") is None


def test_same_jpeg_twice_is_one_file_and_adding_again_is_a_no_op(store: EventStore, blobs: BlobStore) -> None:
    shared = jpeg(7)
    a, b = make_event(), make_event(wall_time=BASE_TIME + 1)
    assert store.add(a, {"frame": shared})
    assert store.add(b, {"frame": shared, "crop": jpeg(8)})
    assert store.add(a, {"frame": shared}) is False  # retried add: nothing changes
    assert store.count() == 2
    stored = list(blobs.iter_blobs())
    assert len(stored) == 2  # the shared frame once, plus b's crop
    ga, gb = store.get(a.id), store.get(b.id)
    assert ga is not None and gb is not None and ga.snapshot.frame == gb.snapshot.frame


def test_snapshot_that_is_already_a_blob_key_is_kept(store: EventStore, blobs: BlobStore) -> None:
    key = blobs.put(jpeg(3), "image/jpeg")
    event = make_event(snapshot={"frame": key})
    assert store.add(event)
    got = store.get(event.id)
    assert got is not None and got.snapshot.frame == key


def test_bad_images_are_refused_before_anything_is_stored(store: EventStore, blobs: BlobStore) -> None:
    with pytest.raises(ValueError, match="unknown image kind"):
        store.add(make_event(), {"thumbnail": jpeg(1)})
    with pytest.raises(ValueError, match="not a blob key"):
        store.add(make_event(snapshot={"frame": "snapshots/cam1/2024-01-01/x.jpg"}), {"crop": jpeg(1)})
    assert store.count() == 0
    assert list(blobs.iter_blobs()) == []


def _no_files(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("fail_at", ["replace", "fsync"])
def test_disk_full_leaves_no_partial_file_and_no_row(
    db_and_fsync_store: tuple[EventStore, BlobStore], monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    store, blobs = db_and_fsync_store

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, fail_at, disk_full)
    event = make_event()
    with pytest.raises(OSError) as info:
        store.add(event, {"frame": jpeg(1)})
    monkeypatch.undo()
    err = info.value
    assert isinstance(err, BlobWriteError) and err.errno == errno.ENOSPC
    assert "disk is full" in str(err) and str(blobs.root) in str(err)
    assert _no_files(blobs.root) == []  # no blob, no temporary file
    assert store.get(event.id) is None and store.count() == 0
    # Once there is space again, the same add works.
    assert store.add(event, {"frame": jpeg(1)})
    assert len(_no_files(blobs.root)) == 1


@pytest.fixture
def db_and_fsync_store(store: EventStore, tmp_path: Path) -> tuple[EventStore, BlobStore]:
    blobs = BlobStore(tmp_path / "durable-blobs", fsync=True)
    return EventStore(store.db, blobs), blobs


def _seed(store: EventStore) -> list[str]:
    """12 events on 3 cameras, 2 types, 2 zones, one per hour."""
    with store.db.session() as s:
        s.add_all([
            Camera(id="north-1", name="N1", url="rtsp://n1", region="north", department="security"),
            Camera(id="north-2", name="N2", url="rtsp://n2", region="north", department="traffic"),
            Camera(id="south-1", name="S1", url="rtsp://s1", region="south", department="security"),
        ])  # fmt: skip
    ids = []
    cams = ["north-1", "north-2", "south-1"]
    for i in range(12):
        e = make_event(
            camera_id=cams[i % 3],
            type="line.cross" if i % 2 == 0 else "zone.enter",
            zone_id="yard" if i % 4 < 2 else "dock",
            wall_time=BASE_TIME + i * 3600,
        )
        store.add(e)
        ids.append(e.id)
    return ids


def _ids(store: EventStore, **q: object) -> list[str]:
    return [e.id for e in store.search(EventQuery(limit=100, **q)).items]  # type: ignore[arg-type]


def test_search_filters_and_sorting(store: EventStore) -> None:
    ids = _seed(store)
    newest_first = list(reversed(ids))
    assert _ids(store) == newest_first
    assert _ids(store, order="asc") == ids
    assert _ids(store, camera_ids=["north-1"]) == [ids[i] for i in (9, 6, 3, 0)]
    assert _ids(store, camera_ids=["north-1", "south-1"], types=["zone.enter"]) == [
        ids[i] for i in (11, 9, 5, 3)
    ]
    assert _ids(store, zone_ids=["dock"], order="asc") == [ids[i] for i in (2, 3, 6, 7, 10, 11)]
    assert _ids(store, time_from=BASE_TIME + 2 * 3600, time_to=BASE_TIME + 5 * 3600, order="asc") == ids[2:5]
    assert _ids(store, regions=["south"]) == [ids[i] for i in (11, 8, 5, 2)]
    assert _ids(store, departments=["traffic"], order="asc") == [ids[i] for i in (1, 4, 7, 10)]
    store.set_status(ids[4], "true")
    store.set_status(ids[7], "false")
    assert _ids(store, statuses=["true", "false"]) == [ids[7], ids[4]]
    assert _ids(store, statuses=["pending"], types=["line.cross"], order="asc") == [
        ids[i] for i in (0, 2, 6, 8, 10)
    ]
    page = store.search(EventQuery(camera_ids=["north-2"], limit=3))
    assert page.total == 4 and len(page.items) == 3 and page.next_cursor is not None
    assert store.search(EventQuery(camera_ids=["nobody"])).items == []
    assert store.search(EventQuery(with_total=False)).total is None


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_keyset_paging_through_1000_events_misses_nothing(store: EventStore, order: str) -> None:
    # 1,000 events on 250 distinct times (4 per time): ties must be broken by id.
    events = [make_event(camera_id=f"cam{i % 5}", wall_time=BASE_TIME + (i // 4) * 0.5) for i in range(1000)]
    assert store.add_many((e, None) for e in events) == 1000
    expected = sorted(((e.wall_time, e.id) for e in events), reverse=order == "desc")
    seen: list[tuple[float, str]] = []
    cursor, pages = None, 0
    while True:
        page = store.search(EventQuery(order=order, limit=37, cursor=cursor, with_total=pages == 0))  # type: ignore[arg-type]
        if pages == 0:
            assert page.total == 1000
        seen += [(e.wall_time, e.id) for e in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        if pages == 5:  # events keep arriving while someone pages: no page shifts
            newer = [make_event(wall_time=BASE_TIME + 10_000 + i) for i in range(10)]
            older = [make_event(wall_time=BASE_TIME - 10_000 - i) for i in range(10)]
            store.add_many((e, None) for e in newer + older)
            if order == "desc":
                expected += sorted(((e.wall_time, e.id) for e in older), reverse=True)
            else:
                expected += sorted((e.wall_time, e.id) for e in newer)
    assert pages == 28
    assert len(seen) == len(set(seen)) == 1010
    assert seen == expected


def test_offset_paging_and_cursor_errors(store: EventStore) -> None:
    events = [make_event(wall_time=BASE_TIME + i) for i in range(25)]
    store.add_many((e, None) for e in events)
    by_offset = []
    for offset in range(0, 25, 10):
        by_offset += [e.id for e in store.search(EventQuery(order="asc", limit=10, offset=offset)).items]
    assert by_offset == [e.id for e in events]
    page = store.search(EventQuery(limit=5))
    assert page.next_cursor is not None
    with pytest.raises(ValueError, match="same order"):
        store.search(EventQuery(order="asc", cursor=page.next_cursor))
    with pytest.raises(ValueError, match="invalid cursor"):
        store.search(EventQuery(cursor="garbage!"))
    with pytest.raises(ValueError, match="either cursor or offset"):
        store.search(EventQuery(cursor=page.next_cursor, offset=5))


def test_review_history_and_status(store: EventStore) -> None:
    with store.db.session() as s:
        s.add_all([User(id="alice", username="alice", password_hash="h", role="reviewer"),
                   User(id="bob", username="bob", password_hash="h", role="reviewer")])  # fmt: skip
    event = make_event()
    store.add(event)
    t1 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    t2 = datetime(2024, 5, 1, 8, 5, tzinfo=UTC)
    t3 = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
    store.set_status(event.id, "pending", reviewer_id="alice", note="looking", now=t1)
    store.set_status(event.id, "false", reviewer_id="alice", note="a shadow", now=t2)
    r3 = store.set_status(event.id, "true", reviewer_id="bob", note="no, a person", now=t3)
    assert r3.status == "true" and r3.reviewer_id == "bob" and r3.created_at == t3
    history = store.reviews(event.id)
    assert [(r.status, r.reviewer_id, r.note) for r in history] == [
        ("pending", "alice", "looking"),
        ("false", "alice", "a shadow"),
        ("true", "bob", "no, a person"),
    ]
    assert [r.created_at for r in history] == [t1, t2, t3]
    got = store.get(event.id)
    assert got is not None and got.status == "true" and got.reviewed_at == t3
    with pytest.raises(EventNotFound):
        store.set_status("missing", "true")
    with pytest.raises(ValueError, match="unknown review status"):
        store.set_status(event.id, "maybe")  # type: ignore[arg-type]
    assert store.reviews("missing") == []


def test_statistics_by_type_and_day_and_by_camera(store: EventStore) -> None:
    day0 = 1_704_067_200.0  # 2024-01-01T00:00:00Z
    spec = [  # (hours after day0, camera, type)
        (1, "a", "line.cross"),
        (2, "a", "line.cross"),
        (3, "b", "zone.enter"),
        (20, "b", "line.cross"),  # 2024-01-01 20:00Z = 2024-01-02 04:00 at UTC+8
        (25, "a", "zone.enter"),
        (49, "c", "zone.crowd"),
    ]
    ids = []
    for hours, cam, typ in spec:
        e = make_event(camera_id=cam, type=typ, wall_time=day0 + hours * 3600)
        store.add(e)
        ids.append(e.id)
    store.set_status(ids[0], "true")
    store.set_status(ids[1], "false")
    store.set_status(ids[4], "ignored")
    utc = [(s.day, s.type, s.count) for s in store.stats_by_type_day()]
    assert utc == [
        (date(2024, 1, 1), "line.cross", 3),
        (date(2024, 1, 1), "zone.enter", 1),
        (date(2024, 1, 2), "zone.enter", 1),
        (date(2024, 1, 3), "zone.crowd", 1),
    ]
    cst = [(s.day, s.type, s.count) for s in store.stats_by_type_day(tz_offset_minutes=480)]
    assert cst == [
        (date(2024, 1, 1), "line.cross", 2),
        (date(2024, 1, 1), "zone.enter", 1),
        (date(2024, 1, 2), "line.cross", 1),
        (date(2024, 1, 2), "zone.enter", 1),
        (date(2024, 1, 3), "zone.crowd", 1),
    ]
    only_a = store.stats_by_type_day(EventFilter(camera_ids=["a"], time_to=day0 + DAY))
    assert [(s.day, s.type, s.count) for s in only_a] == [(date(2024, 1, 1), "line.cross", 2)]
    by_cam = [(c.camera_id, c.total, c.pending, c.true, c.false, c.ignored) for c in store.stats_by_camera()]
    assert by_cam == [("a", 3, 0, 1, 1, 1), ("b", 2, 2, 0, 0, 0), ("c", 1, 1, 0, 0, 0)]
    assert [c.camera_id for c in store.stats_by_camera(EventFilter(types=["zone.crowd"]))] == ["c"]
