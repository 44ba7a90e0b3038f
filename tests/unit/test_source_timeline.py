"""Pure pieces of the sources package: pts timeline across loops and
reconnects, pts sampling, URL redaction, output size and config rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sightline.core.clock import ManualClock
from sightline.sources import PtsSampler, PtsTimeline, SourceConfig, output_size, redact_url


def run(tl: PtsTimeline, raws: list[float | None], dur: float = 0.1) -> list[float]:
    out = []
    for raw in raws:
        tl.packet(raw, dur)
        out.append(tl.frame(raw))
    return out


def test_first_run_keeps_source_timestamps() -> None:
    tl = PtsTimeline(live=False)
    tl.new_run(0.1)
    assert run(tl, [12.0, 12.1, 12.2]) == pytest.approx([12.0, 12.1, 12.2])


def test_file_loop_continues_where_the_file_ended() -> None:
    tl = PtsTimeline(live=False)
    tl.new_run(0.1)
    run(tl, [0.0, 0.1, 0.2])  # file of 0.3 s: last packet 0.2 + 0.1
    tl.new_run(0.1)
    assert run(tl, [0.0, 0.1]) == pytest.approx([0.3, 0.4])


def test_loop_in_keyframe_mode_uses_packet_end_not_last_decoded_frame() -> None:
    tl = PtsTimeline(live=False)
    tl.new_run(0.1)
    tl.packet(0.0, 0.1)
    assert tl.frame(0.0) == 0.0
    for i in range(1, 50):  # packets read, frames skipped by the decoder
        tl.packet(i / 10, 0.1)
    tl.new_run(0.1)
    tl.packet(0.0, 0.1)
    assert tl.frame(0.0) == pytest.approx(5.0)


def test_live_reconnect_adds_the_outage_time() -> None:
    clock = ManualClock(100.0)
    tl = PtsTimeline(live=True, monotonic=clock.now)
    tl.new_run(0.1)
    run(tl, [0.0, 0.1, 0.2])
    clock.advance(30.0)  # camera away for 30 s; its RTP clock restarts
    tl.new_run(0.1)
    assert run(tl, [0.0, 0.1]) == pytest.approx([30.3, 30.4])


def test_time_going_backwards_inside_a_run_is_stepped_over() -> None:
    tl = PtsTimeline(live=True, monotonic=ManualClock().now)
    tl.new_run(0.1)
    out = run(tl, [5.0, 5.1, 0.0, 0.1, 0.1])  # clock reset, then a duplicate
    assert out == pytest.approx([5.0, 5.1, 5.2, 5.3, 5.4])


def test_untimed_first_frame_goes_first() -> None:
    # FFmpeg's RTSP client: the first packet (a keyframe) has no pts yet.
    tl = PtsTimeline(live=True, monotonic=ManualClock().now)
    tl.new_run(0.1)
    assert run(tl, [None, 0.1, 0.2]) == pytest.approx([0.0, 0.1, 0.2])
    tl.new_run(0.1)
    after = run(tl, [None, 7.0, 7.1])
    assert after == pytest.approx([0.3, 0.4, 0.5])


def test_untimed_frames_mid_run_follow_the_previous_one() -> None:
    tl = PtsTimeline(live=False)
    tl.new_run(0.04)
    assert run(tl, [1.0, None, None, 1.12]) == pytest.approx([1.0, 1.04, 1.08, 1.12])


def test_sampler_hits_target_rate_exactly_on_a_non_multiple_source() -> None:
    sampler = PtsSampler(2.0)
    taken = [i * 0.04 for i in range(2500) if sampler.take(i * 0.04)]  # 100 s at 25 fps
    assert len(taken) == 200
    gaps = [b - a for a, b in zip(taken, taken[1:], strict=False)]
    assert min(gaps) >= 0.5 - 0.04 - 1e-9 and max(gaps) <= 0.5 + 0.04 + 1e-9


def test_sampler_on_exact_multiple_takes_every_fifth() -> None:
    sampler = PtsSampler(2.0)
    assert [i for i in range(20) if sampler.take(i / 10)] == [0, 5, 10, 15]


def test_sampler_restarts_its_grid_after_a_gap() -> None:
    sampler = PtsSampler(1.0)
    assert [p for p in [0.0, 0.5, 1.0, 7.3, 7.9, 8.3] if sampler.take(p)] == [0.0, 1.0, 7.3, 8.3]


def test_sampler_without_target_takes_everything() -> None:
    sampler = PtsSampler(None)
    assert all(sampler.take(p / 100) for p in range(10))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:secret@10.0.0.5:554/ch1", "rtsp://***@10.0.0.5:554/ch1"),
        ("rtsp://admin@10.0.0.5/ch1", "rtsp://***@10.0.0.5/ch1"),
        ("rtsp://u:p@ss@cam/x", "rtsp://***@cam/x"),  # unencoded @ in the password
        ("rtsp://10.0.0.5/ch1", "rtsp://10.0.0.5/ch1"),
        ("/videos/a@b.mp4", "/videos/a@b.mp4"),
        (
            "Server returned 401: 'rtsp://u:pw@h/x' then http://a:b@c/d, mail ops@example.com",
            "Server returned 401: 'rtsp://***@h/x' then http://***@c/d, mail ops@example.com",
        ),
    ],
)
def test_redact_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


@pytest.mark.parametrize(
    ("size", "width", "expected"),
    [
        ((768, 576), 384, (384, 288)),
        ((1920, 1080), 640, (640, 360)),
        ((640, 360), 1280, (640, 360)),  # never upscales
        ((768, 576), None, (768, 576)),
    ],
)
def test_output_size(size: tuple[int, int], width: int | None, expected: tuple[int, int]) -> None:
    assert output_size(*size, width) == expected


def test_config_kinds_and_validation() -> None:
    assert SourceConfig(camera_id="a", url="rtsp://u:p@h/x").is_live
    assert SourceConfig(camera_id="a", url="rtsp://u:p@h/x").redacted_url == "rtsp://***@h/x"
    f = SourceConfig(camera_id="a", url="file:///data/v.mp4")
    assert not f.is_live and f.file_path == "/data/v.mp4"
    assert SourceConfig(camera_id="a", url="/data/v.mp4").file_path == "/data/v.mp4"
    with pytest.raises(ValidationError):
        SourceConfig(camera_id="a", url="/v.mp4", fps=5)  # type: ignore[call-arg]  # extra="forbid"
    with pytest.raises(ValidationError):
        SourceConfig(camera_id="a", url="rtsp://h/x", rtsp_transport="http")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SourceConfig(camera_id="a", url="  ")
    with pytest.raises(ValidationError):
        SourceConfig(camera_id="a", url="/v.mp4", target_fps=0)
