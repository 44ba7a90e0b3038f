"""Ingest cost: CPU seconds per second of 1080p video through our AvSource.

Why: capacity planning. How many cameras one core can ingest decides node
sizing, and keyframe-only sampling is the main lever (infra.md measured ~10x).
This measures our own code path (AvSource: demux, one-thread decode, pts
sampling, BGR conversion at 640 wide), not bare FFmpeg.

Generates (ffmpeg, temp dir) a camera-like 1080p25 H.264 Main file, ~4 Mbps,
no B-frames, GOP 50 (a keyframe every 2 s), from OpenCV's street-scene sample
scaled up with light temporal noise so every frame carries new data (falls
back to ffmpeg's testsrc2 pattern when opencv-doc is not installed). Then,
best of --repeat runs each:

  full       decode every frame, convert each to BGR 640 wide
  full@5fps  decode every frame, convert 5 per second (detector-rate sampling)
  keyframe   decode keyframes only (one per 2 s here), convert each

CPU is ``time.process_time`` (all threads of this process). Files are read
as fast as possible; over RTSP add ~8-10 ms CPU per stream-second for
receiving and depacketising (infra.md).

    .venv/bin/python bench/ingest.py [--seconds 24] [--repeat 3] [--input FILE]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from sightline.sources import AvSource, SourceConfig

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def make_clip(path: Path, seconds: float) -> str:
    """Encode the benchmark clip; returns a description of its content."""
    if VTEST.is_file():
        source = ["-stream_loop", "-1", "-i", str(VTEST)]
        # fps=25 duplicates vtest's 10 fps frames; the temporal noise makes
        # each one differ, as sensor noise does on a real camera.
        vf = "fps=25,scale=1920:1080:flags=bicubic,noise=alls=4:allf=t"
        content = "vtest.avi street scene, upscaled, temporal noise"
    else:
        source = ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25"]
        vf = "noise=alls=4:allf=t"
        content = "ffmpeg testsrc2 pattern, temporal noise"
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *source, "-t", str(seconds),
        "-vf", vf, "-an", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
        "-pix_fmt", "yuv420p", "-b:v", "4M", "-maxrate", "4.4M", "-bufsize", "8M",
        "-bf", "0", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    return content


@dataclass
class Result:
    name: str
    frames: int
    decoded: int
    cpu_s: float
    wall_s: float


def measure(name: str, path: Path, repeat: int, **cfg: Any) -> Result:
    best: Result | None = None
    for _ in range(repeat):
        source = AvSource(SourceConfig(camera_id="bench", url=str(path), resize_width=640, **cfg))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        frames = 0
        for frame in source.frames():
            frames += 1
            assert frame.width == 640
        result = Result(
            name, frames, source.health.decoded, time.process_time() - cpu0, time.perf_counter() - wall0
        )
        if best is None or result.cpu_s < best.cpu_s:
            best = result
    assert best is not None
    return best


def probe(path: Path) -> tuple[float, int, int, float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        duration = float(c.duration or 0) / 1_000_000
        keys = sum(1 for p in c.demux(s) if p.is_keyframe)
        return duration, s.codec_context.width, s.codec_context.height, keys / duration if duration else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=24.0, help="clip length (20-30 s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the fastest counts")
    parser.add_argument("--input", type=Path, help="use this file instead of generating one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.input:
            clip, content = args.input, "given file"
        else:
            clip = Path(tmp) / "bench_1080p25.mp4"
            t0 = time.perf_counter()
            content = make_clip(clip, args.seconds)
            print(f"generated {clip.name} in {time.perf_counter() - t0:.1f} s ({content})", file=sys.stderr)
        duration, width, height, key_rate = probe(clip)
        bitrate = clip.stat().st_size * 8 / duration / 1e6
        print(
            f"clip: {width}x{height}, {duration:.1f} s, {bitrate:.2f} Mbps, "
            f"{key_rate:.2f} keyframes/s ({content})"
        )
        print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}, one decoder thread per stream\n")

        results = [
            measure("full", clip, args.repeat),
            measure("full@5fps", clip, args.repeat, target_fps=5),
            measure("keyframe", clip, args.repeat, keyframes_only=True),
        ]

    print(f"{'mode':<10} {'decoded':>8} {'emitted':>8} {'CPU s':>7} {'CPU/video-s':>12} {'streams/core':>13}")
    for r in results:
        per_s = r.cpu_s / duration
        print(
            f"{r.name:<10} {r.decoded:>8} {r.frames:>8} {r.cpu_s:>7.2f} "
            f"{per_s * 1000:>9.1f} ms {1 / per_s:>13.0f}"
        )
    full, keyframe = results[0], results[2]
    print(
        f"\nfull / keyframe CPU ratio: {full.cpu_s / keyframe.cpu_s:.1f}x\n"
        f"streams per core, one frame per 2 s from keyframes (GOP 50 @ 25 fps): "
        f"{duration / keyframe.cpu_s:.0f}\n"
        f"streams per core, full decode + BGR 640 of every frame: {duration / full.cpu_s:.1f}\n"
        "(file input; RTSP adds ~8-10 ms CPU per stream-second, which dominates keyframe mode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
