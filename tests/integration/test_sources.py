"""AvSource and SourceReader against real media: the OpenCV sample clip decoded
by FFmpeg, and a real GStreamer RTSP server that tests stop, freeze and
restart like a camera losing power. Waits poll a condition with a deadline,
never a fixed sleep followed by an assert.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sightline.core.frame import Frame
from sightline.sources import AvSource, SourceConfig, SourceHealth, SourceReader

VTEST_FRAMES = 795
VTEST_KEYFRAMES = [0, 250, 500, 750]  # ffprobe -show_entries frame=key_frame

# FFmpeg probes an RTSP stream for ~3 s before returning from open by
# default; 1 s is plenty for a single H.264 stream and keeps tests short.
FAST_OPEN = {"analyzeduration": "1000000"}


def file_config(path: Path, **kw: Any) -> SourceConfig:
    return SourceConfig(camera_id="vtest", url=str(path), **kw)


def rtsp_config(url: str, **kw: Any) -> SourceConfig:
    base: dict[str, Any] = dict(
        camera_id="cam1",
        url=url,
        open_timeout_s=5.0,
        read_timeout_s=3.0,
        backoff_initial_s=0.2,
        backoff_max_s=1.0,
        ffmpeg_options=FAST_OPEN,
    )
    base.update(kw)
    return SourceConfig(**base)


def wait_for(reader: SourceReader, cond: Callable[[SourceHealth], bool], timeout: float) -> list[Frame]:
    """Drain ``reader`` until ``cond(health)`` holds; returns the frames read.
    Fails with the last health when the deadline passes."""
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while True:
        health = reader.health
        if cond(health):
            return frames
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s; health: {health!r}")
        frame = reader.get(timeout=0.05)
        if frame is not None:
            frames.append(frame)


def read_n(reader: SourceReader, n: int, timeout: float) -> list[Frame]:
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while len(frames) < n:
        remaining = deadline - time.monotonic()
        frame = reader.get(timeout=max(0.0, remaining))
        if frame is None:
            pytest.fail(f"got {len(frames)}/{n} frames in {timeout} s; health: {reader.health!r}")
        frames.append(frame)
    return frames


def assert_increasing(frames: list[Frame]) -> None:
    pts = [f.pts for f in frames]
    backwards = [(a, b) for a, b in zip(pts, pts[1:], strict=False) if b <= a]
    assert not backwards, f"pts went backwards: {backwards[:5]}"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections (kernel backlog) but never answers: a hung camera."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on return: connections are refused


# -- files ------------------------------------------------------------------------------------


def test_file_emits_every_frame_with_source_pts(vtest_path: Path) -> None:
    source = AvSource(file_config(vtest_path))
    frames = list(source.frames())

    assert len(frames) == VTEST_FRAMES
    assert [f.seq for f in frames] == list(range(VTEST_FRAMES))
    # 10 fps, time base 1/10: frame i is at exactly i/10 s.
    assert [f.pts for f in frames] == [i / 10 for i in range(VTEST_FRAMES)]
    assert [i for i, f in enumerate(frames) if f.keyframe] == VTEST_KEYFRAMES
    first = frames[0]
    assert first.camera_id == "vtest"
    assert first.image.shape == (576, 768, 3) and first.image.dtype == np.uint8
    assert first.image.flags.c_contiguous
    assert abs(first.wall_time - time.time()) < 60
    # A file played once runs on its own clock: open time + pts, however fast it decodes.
    assert [round(f.wall_time - first.wall_time, 6) for f in frames] == [f.pts for f in frames]
    # Real pixels, not a blank buffer: the sample is a street scene.
    assert 30 < float(first.image.mean()) < 220 and float(first.image.std()) > 20
    health = source.health
    assert health.state == "ended" and health.error is None
    assert (health.frames, health.decoded, health.codec) == (VTEST_FRAMES, VTEST_FRAMES, "msmpeg4")
    assert (health.width, health.height) == (768, 576)


def test_image_is_bgr(tmp_path: Path) -> None:
    """A pure red clip must come out as (B, G, R) = (0, 0, 255)."""
    import av

    path = tmp_path / "red.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        red = np.zeros((48, 64, 3), np.uint8)
        red[..., 0] = 255  # RGB
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(red, format="rgb24")))
        out.mux(stream.encode(None))
    frame = next(AvSource(file_config(path)).frames())
    b, g, r = frame.image[24, 32].tolist()
    assert r > 200 and g < 40 and b < 40, (b, g, r)


def test_target_fps_samples_by_pts(vtest_path: Path) -> None:
    frames = list(AvSource(file_config(vtest_path, target_fps=2)).frames())
    duration = VTEST_FRAMES / 10
    assert abs(len(frames) - 2 * duration) <= 1
    steps = {round(b.pts - a.pts, 6) for a, b in zip(frames, frames[1:], strict=False)}
    assert steps == {0.5}
    assert [f.seq for f in frames] == list(range(len(frames)))


def test_keyframes_only_decodes_only_keyframes(vtest_path: Path) -> None:
    full = AvSource(file_config(vtest_path))
    t0 = time.thread_time()  # decoding runs in this thread (one decoder thread)
    n_full = sum(1 for _ in full.frames())
    cpu_full = time.thread_time() - t0

    keys = AvSource(file_config(vtest_path, keyframes_only=True))
    t0 = time.thread_time()
    frames = list(keys.frames())
    cpu_keys = time.thread_time() - t0

    assert n_full == VTEST_FRAMES
    assert [f.pts for f in frames] == [i / 10 for i in VTEST_KEYFRAMES]
    assert all(f.keyframe for f in frames)
    assert keys.health.decoded == len(VTEST_KEYFRAMES)  # the decoder skipped the rest
    assert cpu_keys < cpu_full / 5, (cpu_keys, cpu_full)


def test_resize_keeps_aspect(vtest_path: Path) -> None:
    source = AvSource(file_config(vtest_path, resize_width=384, target_fps=1))
    frames = list(source.frames())
    assert frames and all(f.resolution == (384, 288) for f in frames)
    assert all(f.image.flags.c_contiguous for f in frames)
    assert (source.health.width, source.health.height) == (768, 576)  # what the camera sends


def test_loop_keeps_pts_increasing(vtest_path: Path) -> None:
    source = AvSource(file_config(vtest_path, loop=True, keyframes_only=True))
    frames: list[Frame] = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 3 * len(VTEST_KEYFRAMES):
            source.close()
    assert len(frames) == 12
    assert_increasing(frames)
    # Each pass starts where the previous one ended (79.5 s), none reconnects.
    assert [f.pts for f in frames[4:8]] == [79.5 + i / 10 for i in VTEST_KEYFRAMES]
    assert source.health.reconnects == 0 and source.health.state == "ended"


def test_missing_file_stops_with_clear_error(tmp_path: Path) -> None:
    source = AvSource(file_config(tmp_path / "nope.mp4"))
    assert list(source.frames()) == []
    health = source.health
    assert health.state == "offline"
    assert health.error is not None and "file not found" in health.error and "'vtest'" in health.error


# -- RTSP -------------------------------------------------------------------------------------


@pytest.mark.rtsp
def test_rtsp_reads_live_frames(rtsp_server: Callable[..., Any]) -> None:
    server = rtsp_server()
    with SourceReader(AvSource(rtsp_config(server.url, resize_width=384)), maxsize=64) as reader:
        frames = read_n(reader, 25, timeout=20)
        health = reader.health
    assert all(f.resolution == (384, 288) and f.camera_id == "cam1" for f in frames)
    assert_increasing(frames)
    assert frames[0].keyframe  # decoding starts at a keyframe
    # 10 fps source: frames 0.1 s apart in stream time.
    steps = np.diff([f.pts for f in frames])
    assert np.allclose(steps, 0.1, atol=0.02), steps
    assert health.state == "online" and health.codec == "h264" and (health.width, health.height) == (768, 576)
    assert health.measured_fps > 5 and health.error is None


@pytest.mark.rtsp
def test_rtsp_credentials_in_url(rtsp_server: Callable[..., Any]) -> None:
    server = rtsp_server(user="admin", password="s3cr3t")
    with SourceReader(AvSource(rtsp_config(server.url, keyframes_only=True))) as reader:
        assert read_n(reader, 1, timeout=20)[0].resolution == (768, 576)

    bad_url = server.url.replace("s3cr3t", "wrong-pw")
    with SourceReader(AvSource(rtsp_config(bad_url, camera_id="cam-bad"))) as reader:
        wait_for(reader, lambda h: h.error is not None, timeout=10)
        health = reader.health
    assert health.state in ("offline", "connecting") and health.frames == 0
    assert health.error is not None
    assert "authentication failed" in health.error and "'cam-bad'" in health.error
    assert "wrong-pw" not in health.error and "admin" not in health.error
    assert "rtsp://***@127.0.0.1" in health.error


@pytest.mark.rtsp
def test_rtsp_keyframes_only_gives_one_frame_per_gop(rtsp_server: Callable[..., Any]) -> None:
    server = rtsp_server()
    with SourceReader(AvSource(rtsp_config(server.url, keyframes_only=True))) as reader:
        frames = read_n(reader, 3, timeout=20)
    assert all(f.keyframe for f in frames)
    steps = np.diff([f.pts for f in frames])
    assert np.allclose(steps, 1.0, atol=0.15), steps  # the server sends a keyframe per second


@pytest.mark.rtsp
def test_rtsp_reconnects_after_server_restart(rtsp_server: Callable[..., Any]) -> None:
    server = rtsp_server(user="op", password="pw")
    reader = SourceReader(AvSource(rtsp_config(server.url)), maxsize=256).start()
    try:
        before = read_n(reader, 10, timeout=20)
        assert reader.health.state == "online"

        server.stop()  # camera loses power mid-stream
        before += wait_for(reader, lambda h: h.state in ("offline", "connecting") and h.error is not None, 10)
        down = reader.health
        assert down.error is not None and "'cam1'" in down.error and "pw@" not in down.error

        server.start()  # same port, same mount
        restarted = time.monotonic()
        after = wait_for(reader, lambda h: h.state == "online" and h.reconnects >= 1, timeout=10)
        resumed_in = time.monotonic() - restarted
        after += read_n(reader, 5, timeout=5)
    finally:
        assert reader.stop(timeout=5)

    frames = before + after
    assert_increasing(frames)
    assert [f.seq for f in frames] == list(range(frames[0].seq, frames[0].seq + len(frames)))
    # The outage lasted real seconds; frame time shows it (no 0.1 s jump across it).
    gap = max(b.pts - a.pts for a, b in zip(frames, frames[1:], strict=False))
    assert gap > 1.0
    assert resumed_in < 10
    assert reader.health.error is None


@pytest.mark.rtsp
def test_rtsp_hung_camera_is_degraded_then_reconnected(rtsp_server: Callable[..., Any]) -> None:
    server = rtsp_server()
    cfg = rtsp_config(server.url, stall_s=0.5, read_timeout_s=2.0, open_timeout_s=2.0)
    reader = SourceReader(AvSource(cfg), maxsize=256).start()
    try:
        frames = read_n(reader, 5, timeout=20)
        server.freeze()  # connection stays open, nothing arrives
        frames += wait_for(reader, lambda h: h.state == "degraded", timeout=5)
        assert "no data" in (reader.health.error or "")
        frames += wait_for(reader, lambda h: h.state in ("offline", "connecting"), timeout=5)
        assert "no data within 2 s" in (reader.health.error or "")
        server.thaw()
        frames += wait_for(reader, lambda h: h.state == "online" and h.reconnects >= 1, timeout=15)
    finally:
        server.thaw()
        assert reader.stop(timeout=5)
    assert_increasing(frames)


def test_dead_cameras_do_not_block_other_sources(
    vtest_path: Path, closed_port: int, silent_port: int
) -> None:
    refused = SourceReader(
        AvSource(rtsp_config(f"rtsp://admin:hunter2@127.0.0.1:{closed_port}/live", camera_id="refused"))
    )
    hung = SourceReader(
        AvSource(
            rtsp_config(
                f"rtsp://admin:hunter2@127.0.0.1:{silent_port}/live", camera_id="hung", open_timeout_s=2
            )
        )
    )
    file_reader = SourceReader(AvSource(file_config(vtest_path, target_fps=5)), maxsize=1000)
    with refused, hung:
        started = time.monotonic()
        with file_reader:
            got = wait_for(file_reader, lambda h: h.state == "ended", timeout=30)
            while (frame := file_reader.get(timeout=0)) is not None:
                got.append(frame)
            file_elapsed = time.monotonic() - started
        assert len(got) + file_reader.dropped == 398  # 79.5 s at 5 fps
        assert file_elapsed < 20  # alone it takes ~1-2 s; blocked it would never end

        wait_for(refused, lambda h: h.error is not None and h.reconnects >= 1, timeout=10)
        wait_for(hung, lambda h: h.error is not None, timeout=10)
        refused_health, hung_health = refused.health, hung.health

        # Closing a camera blocked inside FFmpeg's open returns within its timeout.
        t0 = time.monotonic()
        assert hung.stop(timeout=5)
        assert time.monotonic() - t0 < 2.5
    assert refused_health.state in ("offline", "connecting") and refused_health.frames == 0
    assert refused_health.error is not None and "connection refused" in refused_health.error
    assert "'refused'" in refused_health.error
    assert (
        hung_health.error is not None and "no answer (or no valid RTSP reply) within 2 s" in hung_health.error
    )
    for h in (refused_health, hung_health):
        assert h.error is not None and "hunter2" not in h.error and "rtsp://***@127.0.0.1" in h.error


def test_a_recording_with_late_timestamps_is_timed_from_its_first_frame(tmp_path: Path) -> None:
    # MPEG-TS from a recorder starts at whatever its clock said (here 1000 s).
    import subprocess

    clip = tmp_path / "late.ts"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
         "-output_ts_offset", "1000", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    before = time.time()
    frames = list(AvSource(file_config(clip)).frames())
    assert len(frames) == 20 and frames[0].pts > 999
    assert before - 1 <= frames[0].wall_time <= time.time()  # not 1000 s in the future
    offsets = [round(f.wall_time - frames[0].wall_time, 6) for f in frames]
    assert offsets == [round(f.pts - frames[0].pts, 6) for f in frames]
