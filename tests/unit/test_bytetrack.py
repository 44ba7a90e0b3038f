"""ByteTracker on scripted detections with explicit pts (no clocks, no sleeping)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from sightline.core.protocols import Tracker
from sightline.tracking import ByteTracker, TrackerConfig, TrackState

NAMES = {0: "person", 2: "car"}
Box = tuple[float, float, float, float]


def dets(
    boxes: Sequence[Box], conf: Sequence[float] | None = None, cls: Sequence[int] | None = None
) -> sv.Detections:
    n = len(boxes)
    conf = [0.9] * n if conf is None else conf
    cls = [0] * n if cls is None else cls
    return sv.Detections(
        xyxy=np.array(boxes, dtype=np.float32).reshape(n, 4),
        confidence=np.array(conf, dtype=np.float32),
        class_id=np.array(cls, dtype=np.int64),
        data={"class_name": np.array([NAMES[c] for c in cls], dtype=str)},
    )


def box(cx: float, cy: float, w: float = 40.0, h: float = 100.0) -> Box:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def ids(out: sv.Detections) -> list[int]:
    assert out.tracker_id is not None
    return [int(i) for i in out.tracker_id]


def test_two_objects_in_straight_lines_keep_ids_for_50_frames() -> None:
    tracker = ByteTracker()
    seen: list[list[int]] = []
    for k in range(50):
        a = box(100 + 5 * k, 200)  # walks right
        b = box(500, 100 + 4 * k)  # walks down
        out = tracker.update(dets([a, b]), pts=k / 10)
        assert len(out) == 2
        np.testing.assert_array_equal(out.xyxy, np.array([a, b], dtype=np.float32))  # detector boxes
        seen.append(ids(out))
    assert seen[0] == seen[1] == [-1, -1]
    first = seen[2]
    assert all(i >= 1 for i in first) and first[0] != first[1]
    assert all(s == first for s in seen[2:])


def test_ids_confirmed_only_after_min_hits() -> None:
    tracker = ByteTracker(TrackerConfig(min_hits=4))
    got = [ids(tracker.update(dets([box(100 + 3 * k, 100)]), pts=k * 0.04)) for k in range(6)]
    assert got == [[-1], [-1], [-1], [1], [1], [1]]
    assert [t.state for t in tracker.tracks] == [TrackState.TRACKED]

    immediate = ByteTracker(TrackerConfig(min_hits=1))
    assert ids(immediate.update(dets([box(100, 100)]), pts=0.0)) == [1]


def test_tentative_track_that_misses_once_is_removed() -> None:
    tracker = ByteTracker()
    assert ids(tracker.update(dets([box(100, 100)]), pts=0.0)) == [-1]
    assert ids(tracker.update(dets([box(100, 100)]), pts=0.1)) == [-1]
    tracker.update(dets([]), pts=0.2)
    assert tracker.tracks == ()
    # starts over: two more tentative frames before an id
    got = [ids(tracker.update(dets([box(100, 100)]), pts=0.3 + k * 0.1)) for k in range(3)]
    assert got == [[-1], [-1], [1]]


@pytest.mark.parametrize("occluded_behind", [False, True])
def test_crossing_people_keep_ids(occluded_behind: bool) -> None:
    """A walks right, B walks left, crossing at x=250; optionally B is hidden behind A
    while they overlap, so only constant velocity carries B through."""
    tracker = ByteTracker()
    id_a: set[int] = set()
    id_b: set[int] = set()
    for k in range(31):
        xa, xb = 100 + 10 * k, 400 - 10 * k
        a, b = box(xa, 200), box(xb, 210)
        hidden = occluded_behind and abs(xa - xb) < 40
        out = tracker.update(dets([a] if hidden else [a, b]), pts=k / 10)
        got = ids(out)
        if k >= 2:
            id_a.add(got[0])
            if not hidden:
                id_b.add(got[1])
    assert len(id_a) == 1 and len(id_b) == 1
    assert id_a != id_b and min(id_a | id_b) >= 1


def test_object_occluded_for_one_second_gets_its_id_back() -> None:
    tracker = ByteTracker()
    fps = 10
    old_id = None
    for k in range(60):
        t = k / fps
        visible = not (20 <= k < 30)  # hidden for exactly 1 s
        out = tracker.update(dets([box(100 + 30 * t, 200)] if visible else []), pts=t)
        if k == 19:
            old_id = ids(out)[0]
        if not visible:
            assert len(out) == 0
            assert [(tr.id, tr.state) for tr in tracker.tracks] == [(old_id, TrackState.LOST)]
        elif k >= 30:
            assert ids(out) == [old_id]
    assert old_id == 1


def test_object_occluded_longer_than_lost_after_s_gets_a_new_id() -> None:
    tracker = ByteTracker(TrackerConfig(lost_after_s=3.0))
    for k in range(5):
        old = ids(tracker.update(dets([box(300, 300)]), pts=k * 0.1))
    assert old == [1]
    ended: list[tuple[float, int]] = []
    t = 0.4
    while t < 4.0:  # 3.6 s without the object, last seen at 0.4
        t = round(t + 0.1, 1)
        tracker.update(dets([]), pts=t)
        ended += [(t, i) for i in tracker.ended_ids]
    assert ended == [(3.5, 1)]  # first frame more than 3.0 s after it was last seen
    assert tracker.tracks == ()
    got = [ids(tracker.update(dets([box(300, 300)]), pts=t + 0.1 * (k + 1))) for k in range(3)]
    assert got == [[-1], [-1], [2]]


def test_ended_ids_reported_once() -> None:
    tracker = ByteTracker(TrackerConfig(lost_after_s=1.0, min_hits=1))
    tracker.update(dets([box(100, 100)]), pts=0.0)
    tracker.update(dets([]), pts=0.5)
    assert not tracker.ended_ids
    tracker.update(dets([]), pts=1.1)
    assert tracker.ended_ids == (1,)
    tracker.update(dets([]), pts=1.2)
    assert not tracker.ended_ids


def test_car_and_person_with_same_box_never_share_an_id_and_ids_are_not_reused() -> None:
    tracker = ByteTracker(TrackerConfig(lost_after_s=1.0))
    same = box(300, 300, 80, 80)
    all_ids: list[int] = []
    for k in range(10):
        out = tracker.update(dets([same, same], cls=[0, 2]), pts=k * 0.1)
        assert list(out.data["class_name"]) == ["person", "car"]
        if k >= 2:
            person, car = ids(out)
            assert person != car and person >= 1 and car >= 1
            all_ids += [person, car]
    assert len(set(all_ids)) == 2
    # both vanish for longer than lost_after_s: their tracks die
    for k in range(10, 25):
        tracker.update(dets([]), pts=k * 0.1)
    assert tracker.tracks == ()
    # same place, same classes again: fresh ids, never the old ones
    for k in range(25, 28):
        out = tracker.update(dets([same, same], cls=[0, 2]), pts=k * 0.1)
    new = ids(out)
    assert min(new) > max(all_ids) and new[0] != new[1]


def test_class_agnostic_mode_lets_class_flicker_keep_the_id() -> None:
    tracker = ByteTracker(TrackerConfig(class_aware=False))
    got = [ids(tracker.update(dets([box(200, 200)], cls=[k % 2 * 2]), pts=k * 0.1)) for k in range(6)]
    assert got[2:] == [[1]] * 4
    aware = ByteTracker()
    got = [ids(aware.update(dets([box(200, 200)], cls=[k % 2 * 2]), pts=k * 0.1)) for k in range(6)]
    assert got == [[-1]] * 6  # each class restarts a tentative track every frame


def test_low_confidence_detection_never_starts_a_track() -> None:
    tracker = ByteTracker()
    for k in range(20):
        out = tracker.update(dets([box(200, 200)], conf=[0.3]), pts=k * 0.1)
        assert len(out) == 0
    assert tracker.tracks == ()
    # between high_threshold and new_track_threshold: matched first, but cannot start a track
    for k in range(20, 30):
        assert len(tracker.update(dets([box(200, 200)], conf=[0.55]), pts=k * 0.1)) == 0
    # below low_threshold: ignored entirely
    assert len(tracker.update(dets([box(200, 200)], conf=[0.05]), pts=3.0)) == 0


def test_low_confidence_detection_continues_an_existing_track() -> None:
    tracker = ByteTracker()
    for k in range(5):
        tracker.update(dets([box(100 + 4 * k, 200)]), pts=k * 0.1)
    # partly occluded: the detector's score drops below high_threshold
    for k in range(5, 15):
        out = tracker.update(dets([box(100 + 4 * k, 200)], conf=[0.25]), pts=k * 0.1)
        assert ids(out) == [1]
        assert out.confidence is not None and out.confidence[0] == pytest.approx(0.25)
    for k in range(15, 20):
        assert ids(tracker.update(dets([box(100 + 4 * k, 200)]), pts=k * 0.1)) == [1]
    # a low-confidence detection far from every track is dropped
    out = tracker.update(dets([box(180, 200), box(900, 200)], conf=[0.9, 0.3]), pts=2.0)
    assert ids(out) == [1] and len(out) == 1


def test_irregular_sampling_2fps_then_10fps() -> None:
    tracker = ByteTracker()
    speed = 60.0  # px/s; 30 px per step at 2 fps with a 60 px wide box
    times = [k * 0.5 for k in range(10)] + [5.0 + k * 0.1 for k in range(1, 31)]
    got = []
    for t in times:
        got.append(ids(tracker.update(dets([box(100 + speed * t, 300, 60, 120)]), pts=t)))
    assert got[:2] == [[-1], [-1]]
    assert all(g == [1] for g in got[2:])


def test_prediction_uses_elapsed_time_not_frame_count() -> None:
    """Fast object: at 10 fps it moves 15 px/frame; at 2 fps 75 px, more than its
    width, so only a prediction over the real dt can keep the track."""
    tracker = ByteTracker()
    speed = 150.0
    times = [k * 0.1 for k in range(20)] + [2.0 + k * 0.5 for k in range(1, 9)] + [6.1, 6.2, 6.3]
    got = [ids(tracker.update(dets([box(100 + speed * t, 300, 60, 120)]), pts=t)) for t in times]
    assert all(g == [1] for g in got[2:])


def test_output_keeps_input_order_data_and_boxes() -> None:
    tracker = ByteTracker(TrackerConfig(min_hits=1))
    boxes = [box(100, 100), box(300, 100, 90, 60), box(500, 100)]
    out = tracker.update(dets(boxes, conf=[0.9, 0.8, 0.05], cls=[0, 2, 0]), pts=0.0)
    assert len(out) == 2
    np.testing.assert_array_equal(out.xyxy, np.array(boxes[:2], dtype=np.float32))
    assert list(out.data["class_name"]) == ["person", "car"]
    assert out.class_id is not None and list(out.class_id) == [0, 2]
    assert ids(out) == [1, 2]
    (t1, t2) = tracker.tracks
    assert (t1.id, t1.class_id, t1.hits, t1.first_seen_pts) == (1, 0, 1, 0.0)
    assert t2.xyxy == pytest.approx(boxes[1])


def test_empty_frames_and_tracker_protocol() -> None:
    tracker: Tracker = ByteTracker()  # mypy checks the protocol
    out = tracker.update(sv.Detections.empty(), pts=0.0)
    assert len(out) == 0 and out.tracker_id is not None and len(out.tracker_id) == 0


def test_reset_and_pts_going_back_never_reuse_ids() -> None:
    tracker = ByteTracker(TrackerConfig(min_hits=1))
    assert ids(tracker.update(dets([box(100, 100)]), pts=10.0)) == [1]
    tracker.reset()
    assert tracker.ended_ids == (1,) and tracker.tracks == ()
    assert ids(tracker.update(dets([box(100, 100)]), pts=0.0)) == [2]
    assert ids(tracker.update(dets([box(100, 100)]), pts=0.1)) == [2]
    # the source restarted: pts went back
    assert ids(tracker.update(dets([box(100, 100)]), pts=0.0)) == [3]
    assert tracker.ended_ids == (2,)
    with pytest.raises(ValueError, match="finite"):
        tracker.update(dets([]), pts=float("nan"))


def test_config_validation() -> None:
    with pytest.raises(ValidationError):
        TrackerConfig(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="low_threshold"):
        TrackerConfig(low_threshold=0.7)
    with pytest.raises(ValidationError, match="new_track_threshold"):
        TrackerConfig(new_track_threshold=0.4)
    with pytest.raises(ValidationError):
        TrackerConfig(min_hits=0)


def test_detection_of_another_class_never_continues_a_track() -> None:
    """A person leaves and a car shows up at the same spot while the person's track
    is lost: the car gets its own, new id."""
    tracker = ByteTracker()
    spot = box(300, 300, 80, 80)
    for k in range(5):
        out = tracker.update(dets([spot], cls=[0]), pts=k * 0.1)
    assert ids(out) == [1]
    got = [ids(tracker.update(dets([spot], cls=[2]), pts=0.5 + k * 0.1)) for k in range(4)]
    assert got == [[-1], [-1], [2], [2]]
    assert [(t.id, t.class_id, t.state) for t in tracker.tracks] == [
        (1, 0, TrackState.LOST),
        (2, 2, TrackState.TRACKED),
    ]


def test_separable_kalman_equals_the_full_8x8_filter() -> None:
    """kalman.py stores only the four 2x2 blocks of the covariance; check it against
    the textbook filter with full matrices over irregular time steps."""
    from sightline.tracking import kalman

    rng = np.random.default_rng(1)
    z0 = np.array([[100.0, 200.0, 40.0, 100.0], [300.0, 50.0, 120.0, 60.0]])
    mean, cov = kalman.initiate(z0)
    full_mean = mean.copy()
    full_cov = np.zeros((2, 8, 8))
    for i in range(4):
        for a, b, k in ((i, i, 0), (i, i + 4, 1), (i + 4, i, 1), (i + 4, i + 4, 2)):
            full_cov[:, a, b] = cov[:, k, i]
    h_mat = np.eye(4, 8)
    for dt in (0.1, 0.5, 0.033, 1.0, 0.2):
        size = np.maximum(full_mean[:, [2, 3, 2, 3]], 1.0)
        f_mat = np.eye(8) + dt * np.eye(8, k=4)
        q = np.concatenate((kalman._POS_NOISE_VAR * size**2, kalman._VEL_NOISE_VAR * size**2), axis=1) * dt
        full_mean = full_mean @ f_mat.T
        full_cov = f_mat @ full_cov @ f_mat.T + np.stack([np.diag(x) for x in q])
        kalman.predict(mean, cov, dt)
        z = full_mean[:, :4] + rng.normal(0, 3, (2, 4))
        size = np.maximum(full_mean[:, [2, 3, 2, 3]], 1.0)
        s = h_mat @ full_cov @ h_mat.T + np.stack([np.diag(x) for x in kalman._MEAS_VAR * size**2])
        gain = full_cov @ h_mat.T @ np.linalg.inv(s)
        full_mean = full_mean + (gain @ (z - full_mean[:, :4])[:, :, None])[:, :, 0]
        full_cov = full_cov - gain @ h_mat @ full_cov
        kalman.update(mean, cov, np.arange(2), z)
        np.testing.assert_allclose(mean, full_mean, rtol=1e-9, atol=1e-9)
        for i in range(4):
            np.testing.assert_allclose(cov[:, 0, i], full_cov[:, i, i], rtol=1e-9)
            np.testing.assert_allclose(cov[:, 1, i], full_cov[:, i, i + 4], rtol=1e-9)
            np.testing.assert_allclose(cov[:, 2, i], full_cov[:, i + 4, i + 4], rtol=1e-9)
            assert np.all(full_cov[:, i, [j for j in range(8) if j not in (i, i + 4)]] == 0)
