"""Decode one camera or file with PyAV (FFmpeg) into ``sightline.core.Frame``.

Why it looks like this:

* One decoder thread per source (``thread_type="NONE"``): on a node running
  many streams side by side, FFmpeg's own threading only makes one stream
  faster while costing more CPU per frame (see shared/infra.md).
* ``keyframes_only`` uses ``skip_frame="NONKEY"``: the decoder still sees
  every packet but only decodes keyframes, about 10x cheaper for low rates.
* Every blocking FFmpeg call runs under PyAV's ``timeout=(open, read)``
  interrupt, so a dead or hanging camera never blocks forever and
  :meth:`AvSource.close` takes effect at the latest one timeout later (it
  cannot safely free a container another thread is reading from).
* Live streams reconnect forever with capped exponential back-off and
  jitter; :class:`~sightline.sources.timeline.PtsTimeline` keeps pts
  increasing across loops and reconnects.
* Sleeping, randomness and clocks are constructor arguments so reconnect
  behaviour is tested without waiting.
* URLs may hold passwords: every message goes through ``redact_url``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Literal

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.container import InputContainer
from av.video.frame import VideoFrame

from sightline.core.frame import Frame
from sightline.sources.backoff import Backoff
from sightline.sources.config import SourceConfig, redact_url, url_scheme
from sightline.sources.health import HealthTracker, SourceHealth
from sightline.sources.timeline import PtsSampler, PtsTimeline

log = logging.getLogger(__name__)

# A timeout shows up as whatever error the demuxer makes of the interrupted
# call (RTSP reports "Invalid data"), so it is recognised by elapsed time.
_TIMEOUT_SLACK = 0.9


class SourceError(Exception):
    """A failure with an operator-facing message (credentials already redacted)."""


def describe_failure(
    config: SourceConfig, exc: BaseException, *, phase: Literal["open", "read"], elapsed_s: float
) -> str:
    """One clear line: which camera, what went wrong, and what to check."""
    if isinstance(exc, SourceError):
        return str(exc)
    where = f"camera {config.camera_id!r} ({config.redacted_url})"
    timeout = config.open_timeout_s if phase == "open" else config.read_timeout_s
    raw = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    detail = redact_url(str(raw))
    live = config.is_live
    if isinstance(exc, ConnectionRefusedError):
        hint = (
            "connection refused: nothing listens at that host:port; check the port "
            "(RTSP default 554) and that the camera's RTSP service is enabled"
        )
    elif isinstance(exc, av.error.ExitError) or elapsed_s >= _TIMEOUT_SLACK * timeout:
        proto = (url_scheme(config.url) or "video").upper()
        # A camera that answers with garbage or never finishes its reply
        # looks the same to FFmpeg as a silent one: the open is cut off.
        what = f"no answer (or no valid {proto} reply)" if phase == "open" else "no data"
        hint = (
            f"{what} within {timeout:g} s; check that the camera is reachable from this machine "
            f"(ping, firewall, VPN) and serves {proto} on that port, or raise {phase}_timeout_s on slow links"
        )
    elif isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        hint = (
            "authentication failed: check the user name and password in the URL "
            "(percent-encode special characters: @ as %40, : as %3A, / as %2F)"
        )
    elif isinstance(exc, av.error.HTTPNotFoundError):
        hint = "stream path not found (404): check the path after host:port in the camera's manual"
    elif isinstance(exc, FileNotFoundError) and not live:
        hint = "file not found: check the path"
    elif isinstance(exc, PermissionError):
        hint = "permission denied: check file permissions or camera user rights"
    elif isinstance(exc, av.error.InvalidDataError):
        hint = (
            "the answer is not a stream FFmpeg can play; check the URL scheme and path"
            if live
            else "not a video FFmpeg can read (corrupt file or unsupported format)"
        )
    elif isinstance(exc, OSError) and live:
        hint = "network error: check that the host name resolves and the host is reachable"
    else:
        hint = f"unexpected {type(exc).__name__}"
    return f"{where}: {hint} [{detail}]"


def output_size(width: int, height: int, resize_width: int | None) -> tuple[int, int]:
    """Frame size after resizing to ``resize_width`` keeping the aspect ratio.

    Never upscales: enlarging costs CPU and adds no detail for detectors.
    """
    if resize_width is None or resize_width >= width or width <= 0:
        return width, height
    return resize_width, max(1, round(height * resize_width / width))


class AvSource:
    """One camera or file as an iterator of :class:`~sightline.core.Frame`.

    ``frames()`` may be called once. File sources stop at the end (state
    ``ended``) unless ``loop``; a file that cannot be opened or read stops
    with state ``offline`` and an error. Live sources never stop by
    themselves: they reconnect until :meth:`close`.

    ``sleep(seconds)`` waits between reconnect attempts (default: a wait
    that :meth:`close` interrupts), ``rand()`` draws the back-off jitter in
    [0, 1), ``wall_clock()`` stamps ``Frame.wall_time`` (for a file played once:
    its open time + (pts - first pts)) and ``monotonic()``
    measures stalls and outages.
    """

    def __init__(
        self,
        config: SourceConfig,
        *,
        sleep: Callable[[float], object] | None = None,
        rand: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = config
        self._closed = threading.Event()
        self._sleep: Callable[[float], object] = sleep if sleep is not None else self._closed.wait
        self._wall = wall_clock
        self._mono = monotonic
        self._backoff = Backoff(config.backoff_initial_s, config.backoff_max_s, config.backoff_jitter, rand)
        self._health = HealthTracker(
            config.camera_id, config.redacted_url, config.stall_s, monotonic=monotonic
        )
        self._timeline = PtsTimeline(live=config.is_live, monotonic=monotonic)
        self._sampler = PtsSampler(config.target_fps)
        self._seq = 0
        # A recorded file played once is decoded faster (or slower) than real
        # time: its frames are stamped open time + (pts - first pts), so the
        # time windows of rules and strategies see the recording's own clock,
        # not decode speed. (Relative to the first pts: MPEG-TS and some MP4
        # files start at large timestamps.)
        self._recorded = not config.is_live and not config.loop
        self._file_epoch: float | None = None
        self._first_pts: float | None = None
        self._gen: Generator[Frame, None, None] | None = None
        self._last_packet_mono = 0.0
        self._owner: int | None = None
        self._lock = threading.Lock()

    # -- public API ----------------------------------------------------------------------
    @property
    def config(self) -> SourceConfig:
        return self._cfg

    @property
    def health(self) -> SourceHealth:
        return self._health.snapshot()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def frames(self) -> Iterator[Frame]:
        """The frames, in order, until the file ends or :meth:`close`."""
        with self._lock:
            if self._gen is not None:
                raise RuntimeError("AvSource.frames() can only be iterated once")
            self._owner = threading.get_ident()
            self._gen = self._run()
            return self._gen

    def close(self) -> None:
        """Stop the source. Safe from any thread and more than once.

        The iterator ends after the current packet; if the reading thread is
        blocked inside FFmpeg it ends when the open/read timeout fires.
        """
        self._closed.set()
        gen = self._gen
        if gen is None or inspect.getgeneratorstate(gen) == inspect.GEN_CREATED:
            # Nothing is running; an iterator started later sees the flag and
            # ends at once.
            self._health.ended()
        if gen is not None and threading.get_ident() == self._owner:
            # Same thread as the iterator: it is suspended at a ``yield`` (or
            # never started), so closing it runs its cleanup (container
            # close) now rather than at garbage collection. ValueError
            # "generator already executing" means close() was called from
            # code the generator itself runs; the flag alone ends it then.
            with contextlib.suppress(ValueError):
                gen.close()

    def __enter__(self) -> AvSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AvSource({self._cfg.camera_id!r}, {self._cfg.redacted_url!r})"

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> Generator[Frame, None, None]:
        cfg = self._cfg
        live = cfg.is_live
        first_attempt = True
        try:
            while not self._closed.is_set():
                self._health.connecting(reconnect=live and not first_attempt)
                first_attempt = False
                try:
                    container = self._open()
                except Exception as exc:  # noqa: BLE001 - any failure means "retry later" for a camera
                    message = exc.args[0] if isinstance(exc, SourceError) else str(exc)
                    if not live:
                        self._health.failed(message)
                        log.error("%s", message)
                        return
                    self._wait_before_retry(message)
                    continue

                emitted_before = self._seq
                failure: str | None = None
                try:
                    yield from self._read(container)
                except Exception as exc:  # noqa: BLE001 - see above; logged with the reason
                    failure = describe_failure(
                        cfg, exc, phase="read", elapsed_s=self._mono() - self._last_packet_mono
                    )
                finally:
                    self._close_container(container)
                if self._closed.is_set():
                    break
                got_frames = self._seq > emitted_before

                if not live:
                    if failure is not None:
                        self._health.failed(failure)
                        log.error("%s", failure)
                        return
                    if cfg.loop and got_frames:
                        continue  # next loop: the timeline keeps pts increasing
                    if cfg.loop:
                        self._health.failed(
                            f"camera {cfg.camera_id!r} ({cfg.redacted_url}): a whole pass over the "
                            "file produced no frame; check that it holds decodable video"
                        )
                        return
                    self._health.ended()
                    log.info("camera %r (%s): end of file", cfg.camera_id, cfg.redacted_url)
                    return

                if got_frames:
                    self._backoff.reset()  # it worked for a while: retry quickly first
                if failure is None:
                    failure = (
                        f"camera {cfg.camera_id!r} ({cfg.redacted_url}): stream ended, the server "
                        "closed the connection (camera rebooting or stream reconfigured?)"
                    )
                self._wait_before_retry(failure)
        finally:
            # Failures above already set "offline" with their reason; only a
            # close ends the source here.
            if self._closed.is_set():
                self._health.ended()

    def _wait_before_retry(self, message: str) -> None:
        self._health.failed(message)
        delay = self._backoff.next_delay()
        log.warning("%s; retrying in %.1f s (attempt %d)", message, delay, self._backoff.attempts)
        if not self._closed.is_set():
            self._sleep(delay)

    def _open(self) -> InputContainer:
        cfg = self._cfg
        options = dict(cfg.ffmpeg_options)
        if url_scheme(cfg.url) in ("rtsp", "rtsps"):
            options.setdefault("rtsp_transport", cfg.rtsp_transport)
        log.info("camera %r: opening %s", cfg.camera_id, cfg.redacted_url)
        started = self._mono()
        try:
            container = av.open(
                cfg.file_path,
                mode="r",
                options=options,
                timeout=(cfg.open_timeout_s, cfg.read_timeout_s),
            )
        except Exception as exc:  # noqa: BLE001 - turned into a clear message
            raise SourceError(
                describe_failure(cfg, exc, phase="open", elapsed_s=self._mono() - started)
            ) from exc
        if not container.streams.video:
            container.close()
            raise SourceError(
                f"camera {cfg.camera_id!r} ({cfg.redacted_url}): no video stream in it "
                "(audio-only or metadata stream?); check the URL/channel"
            )
        return container

    def _close_container(self, container: InputContainer) -> None:
        try:
            container.close()
        except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail; nothing to do
            log.debug("camera %r: error while closing: %s", self._cfg.camera_id, redact_url(str(exc)))

    def _read(self, container: InputContainer) -> Iterator[Frame]:
        cfg = self._cfg
        stream = container.streams.video[0]
        cc = stream.codec_context
        # Set before the first decode opens the codec.
        cc.thread_type = "NONE"
        cc.thread_count = 1
        if cfg.keyframes_only:
            cc.skip_frame = "NONKEY"
        time_base = stream.time_base
        if time_base is None:
            raise SourceError(f"camera {cfg.camera_id!r} ({cfg.redacted_url}): stream has no time base")
        rate = stream.average_rate or stream.guessed_rate
        # Nominal frame spacing: steps the timeline across frames without pts.
        frame_duration = 1.0 / float(rate) if rate and 0 < float(rate) < 1000 else None
        self._timeline.new_run(frame_duration)
        if self._recorded and self._file_epoch is None:
            self._file_epoch = self._wall()
        self._health.connected(cc.width, cc.height, cc.name)
        self._last_packet_mono = self._mono()
        log.info(
            "camera %r: connected, %s %dx%d, %s fps",
            cfg.camera_id, cc.name, cc.width, cc.height, f"{float(rate):g}" if rate else "?",
        )  # fmt: skip

        for packet in container.demux(stream):
            if self._closed.is_set():
                return
            wall = self._wall()  # "received" time: before decode/convert delay
            self._last_packet_mono = self._mono()
            self._health.packet()
            if packet.pts is not None:
                # Exact rational maths, then float: 225000 * 1/90000 is 2.5, not 2.5000000000000004.
                dur = float(packet.duration * time_base) if packet.duration else None
                self._timeline.packet(float(packet.pts * time_base), dur)
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError as exc:
                # Corrupt or lost data: the decoder recovers at the next keyframe.
                self._health.decode_error(redact_url(str(getattr(exc, "strerror", exc))))
                continue
            for vf in decoded:
                if not isinstance(vf, VideoFrame):
                    continue
                self._health.decoded_frame()
                pts = self._timeline.frame(float(vf.pts * time_base) if vf.pts is not None else None)
                if not self._sampler.take(pts):
                    continue
                frame = Frame(
                    camera_id=cfg.camera_id,
                    seq=self._seq,
                    pts=pts,
                    wall_time=wall if self._file_epoch is None else self._recorded_time(pts),
                    image=self._to_bgr(vf),
                    keyframe=bool(vf.key_frame),
                )
                self._seq += 1
                self._health.emitted(wall, pts)
                yield frame
                if self._closed.is_set():
                    return

    def _recorded_time(self, pts: float) -> float:
        assert self._file_epoch is not None  # set at open, before any frame
        if self._first_pts is None:
            self._first_pts = pts
        return self._file_epoch + (pts - self._first_pts)

    def _to_bgr(self, vf: VideoFrame) -> npt.NDArray[np.uint8]:
        width, height = output_size(vf.width, vf.height, self._cfg.resize_width)
        # FAST_BILINEAR and one swscale thread: the cheapest path per frame
        # when many decoders run side by side (infra.md: 0.9 ms vs 2.4-3 ms).
        bgr = vf.reformat(
            width=width, height=height, format="bgr24", interpolation="FAST_BILINEAR", threads=1
        )
        array = bgr.to_ndarray()
        # to_ndarray slices off line padding, which can leave a strided view.
        return np.ascontiguousarray(array, dtype=np.uint8)
