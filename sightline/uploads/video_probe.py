"""Is an uploaded video whole and decodable? Answer before anything is kept.

What is checked, and why this and not a full decode:

1. FFmpeg opens it and finds a video stream (garbage, audio-only files and
   still images are refused). An MP4 whose ``moov`` index is at the end and
   was cut off fails here: without the index nothing can be read.
2. The first frames decode (the codec is one FFmpeg can play).
3. **Every packet is demuxed** to the end, and what was read is compared
   with what the container declares: the number of frames (MP4 sample
   tables, AVI headers) and the duration. A file cut short (a "faststart" MP4
   with its index up front, an AVI without its tail) declares more than it
   holds, and is refused as truncated.

Demuxing reads every byte but decodes nothing, so it costs I/O only — a
2 GiB file is checked in seconds, where decoding every frame would cost
minutes of CPU inside the request. A corrupt packet in the middle of an
otherwise whole file is therefore not caught here; the analysis task counts
it as a decode error (``decode_errors`` in its source health) and skips to
the next keyframe, as it does for a live camera. Streams that declare
neither a frame count nor a duration (raw H.264, some MPEG-TS) cannot be
checked for truncation and are taken as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from sightline.uploads.errors import UploadRefused

OPEN_TIMEOUT_S = 10.0
FIRST_FRAMES = 3  # decoded to prove the codec works
# A declared count may be off by a frame or two (edit lists, a dropped last
# B-frame); a cut file misses far more.
MISSING_FRAMES_TOLERANCE = 0.01
MISSING_FRAMES_MIN = 2
# Container formats FFmpeg uses for single pictures: an image sent as a video.
STILL_IMAGE_FORMATS = ("image2", "_pipe")
#: Container format (FFmpeg's first name) → file extension of the stored video.
EXTENSIONS = {
    "mov": "mp4",
    "avi": "avi",
    "matroska": "mkv",
    "mpegts": "ts",
    "flv": "flv",
    "mpeg": "mpg",
    "asf": "wmv",
    "h264": "h264",
    "hevc": "hevc",
}
FIX = "upload the complete file again (or re-encode it, e.g. ffmpeg -i in -c:v libx264 out.mp4)"


@dataclass(frozen=True)
class VideoInfo:
    container: str  # FFmpeg format name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    extension: str
    codec: str
    width: int
    height: int
    fps: float | None
    frames: int  # video packets read = frames in the file
    duration_s: float


def probe_video(path: Path) -> VideoInfo:
    """The video's facts, or :class:`UploadRefused` (422) naming the problem."""
    try:
        container = av.open(str(path), mode="r", timeout=(OPEN_TIMEOUT_S, OPEN_TIMEOUT_S))
    except av.error.FFmpegError as exc:
        raise UploadRefused(
            422,
            "not a video FFmpeg can read: the file is corrupt, truncated (an MP4 cut short loses its "
            f"index) or not a video at all [{getattr(exc, 'strerror', None) or exc}]; {FIX}",
        ) from None
    with container:
        fmt = container.format.name
        if any(marker in fmt for marker in STILL_IMAGE_FORMATS):
            raise UploadRefused(
                422,
                f"this is a still image ({fmt}), not a video; analyse pictures with POST /api/images/analyze",
            )
        if not container.streams.video:
            raise UploadRefused(
                422, "the file holds no video stream (audio only?); upload a file with a video track"
            )
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        return _read_to_the_end(container, stream, fmt)


def _read_to_the_end(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, fmt: str
) -> VideoInfo:
    """One pass: every packet demuxed, the first few decoded."""
    time_base = stream.time_base
    packets = decoded = 0
    end_s = 0.0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet at the end
                continue
            packets += 1
            if packet.pts is not None and time_base is not None:
                end_s = max(end_s, float((packet.pts + (packet.duration or 0)) * time_base))
            if decoded < FIRST_FRAMES:
                decoded += len(packet.decode())
    except av.error.FFmpegError as exc:
        problem = "do not decode" if decoded < FIRST_FRAMES else f"break off after {packets} frames"
        raise UploadRefused(422, f"the video's frames {problem} ({exc}); {FIX}") from None
    if decoded == 0:
        raise UploadRefused(422, f"the video has no decodable frame; {FIX}")
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate and 0 < float(rate) < 1000 else None
    declared_frames = int(stream.frames or 0)
    missing = declared_frames - packets
    if declared_frames and missing > max(MISSING_FRAMES_MIN, declared_frames * MISSING_FRAMES_TOLERANCE):
        raise UploadRefused(
            422, f"the video is truncated: it declares {declared_frames} frames but holds {packets}; {FIX}"
        )
    declared_s = _declared_duration(container, stream)
    slack = max(1.0, 2.0 / fps if fps else 1.0)
    if declared_s and end_s and end_s + slack < declared_s:
        raise UploadRefused(
            422,
            f"the video is truncated: it declares {declared_s:.1f} s "
            f"but its frames end at {end_s:.1f} s; {FIX}",
        )
    cc = stream.codec_context
    return VideoInfo(
        container=fmt,
        extension=EXTENSIONS.get(fmt.split(",", 1)[0], "video"),
        codec=cc.name,
        width=cc.width,
        height=cc.height,
        fps=fps,
        frames=packets,
        duration_s=end_s or declared_s or 0.0,
    )


def _declared_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    return container.duration / 1_000_000 if container.duration else 0.0
