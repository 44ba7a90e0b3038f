"""Reconnect back-off: the delay maths exactly, and AvSource's retry loop
driven against a real closed port with an injected sleep, so minutes of
back-off run in milliseconds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from sightline.sources import AvSource, Backoff, SourceConfig, SourceReader


def test_doubles_from_initial_up_to_the_cap_without_jitter() -> None:
    b = Backoff(initial_s=0.5, max_s=30.0, jitter=0.0)
    assert [b.next_delay() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert b.attempts == 9


def test_reset_starts_again_from_initial() -> None:
    b = Backoff(0.5, 30.0, 0.0)
    for _ in range(5):
        b.next_delay()
    b.reset()
    assert b.attempts == 0
    assert b.next_delay() == 0.5


@pytest.mark.parametrize(("u", "factor"), [(0.0, 0.8), (0.5, 1.0), (0.75, 1.1)])
def test_jitter_scales_by_one_plus_minus_fraction(u: float, factor: float) -> None:
    b = Backoff(1.0, 100.0, 0.2, rand=lambda: u)
    assert [b.next_delay() for _ in range(3)] == pytest.approx([1 * factor, 2 * factor, 4 * factor])


def test_cap_holds_after_jitter() -> None:
    high = Backoff(0.5, 30.0, 0.2, rand=lambda: 0.999999)
    low = Backoff(0.5, 30.0, 0.2, rand=lambda: 0.0)
    for _ in range(10):
        high.next_delay()
        low.next_delay()
    assert high.next_delay() == 30.0  # would be 36 if jitter came after the cap
    assert low.next_delay() == pytest.approx(24.0)  # at the cap jitter still spreads retries


def test_jitter_stays_in_bounds_with_real_randomness() -> None:
    b = Backoff(0.5, 30.0, 0.2)
    for attempt in range(200):
        base = b.base_delay(attempt)
        d = b.next_delay()
        assert 0.8 * base - 1e-9 <= d <= min(30.0, 1.2 * base) + 1e-9


def test_a_camera_down_for_days_does_not_overflow() -> None:
    b = Backoff(0.5, 30.0, 0.2, rand=lambda: 0.5)
    delays = [b.next_delay() for _ in range(5000)]  # 2.0**5000 would overflow a float
    assert delays[-1] == 30.0 and max(delays) == 30.0


@pytest.mark.parametrize(("initial", "maximum", "jitter"), [(0, 1, 0), (2, 1, 0), (1, 2, 1.5), (1, 2, -0.1)])
def test_rejects_nonsense(initial: float, maximum: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        Backoff(initial, maximum, jitter)


def test_config_rejects_cap_below_initial() -> None:
    with pytest.raises(ValueError, match="backoff_max_s"):
        SourceConfig(camera_id="c", url="rtsp://h/x", backoff_initial_s=5, backoff_max_s=1)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port  # nothing listens: connecting is refused at once


def test_source_retries_with_backoff_until_closed(closed_port: int) -> None:
    cfg = SourceConfig(camera_id="door", url=f"rtsp://admin:pw123@127.0.0.1:{closed_port}/s")
    delays: list[float] = []
    errors: list[str | None] = []
    source: AvSource

    def fake_sleep(seconds: float) -> None:
        delays.append(seconds)
        health = source.health
        errors.append(health.error)
        assert health.state == "offline"
        if len(delays) == 9:
            source.close()

    source = AvSource(cfg, sleep=fake_sleep, rand=lambda: 0.5)
    started = time.monotonic()
    assert list(source.frames()) == []
    assert time.monotonic() - started < 5  # 9 refused connects, ~33 s of back-off skipped

    assert delays == [0.5, 1, 2, 4, 5, 5, 5, 5, 5]  # default cap: 5 s (a camera back streams within 10 s)
    health = source.health
    assert health.state == "ended"  # closed
    assert health.reconnects == 8  # 9 attempts: the first connect and 8 reconnects
    first = errors[0]
    assert first is not None and "connection refused" in first and "'door'" in first
    assert all(e is not None and "pw123" not in e for e in errors)


def test_close_interrupts_a_long_backoff_wait(closed_port: int) -> None:
    cfg = SourceConfig(
        camera_id="door",
        url=f"rtsp://127.0.0.1:{closed_port}/s",
        backoff_initial_s=60,
        backoff_max_s=60,
    )
    reader = SourceReader(AvSource(cfg)).start()
    deadline = time.monotonic() + 10
    while reader.health.state != "offline":  # now waiting out a 48-72 s back-off
        assert time.monotonic() < deadline, reader.health
        reader.get(timeout=0.02)
    t0 = time.monotonic()
    assert reader.stop(timeout=5)
    assert time.monotonic() - t0 < 1.0
    assert reader.finished and reader.get(timeout=0) is None
