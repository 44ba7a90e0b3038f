"""A limit on request body size, for every route.

Why: without one, a client can send a body of any size and the server reads
all of it into memory before validation even starts (a 2 GB JSON body is a
2 GB allocation). Bodies over the limit are refused with 413 before they are
read — at once when ``Content-Length`` says so, else as soon as the streamed
bytes pass the limit — so nothing is parsed or stored from them.

The limit is ``SIGHTLINE_MAX_BODY_BYTES`` (default 2 MiB: the largest JSON
the API takes, a task with many zones, is a few kilobytes).

Upload routes (``MEDIA_LIMITS``) take a larger, per-route limit, but only for
bodies whose content type is media (``video/*``, ``image/*``): a video is
gigabytes, yet a JSON body sent to the same route is still held to 2 MiB, and
raising the global limit would let every JSON route read gigabytes. The upload
routes stream the body to disk, so the larger limit never means memory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
ENV = "SIGHTLINE_MAX_BODY_BYTES"


@dataclass(frozen=True)
class MediaLimit:
    """The body limit of one upload route, for media content types only."""

    env: str
    default: int
    media_prefix: str  # "video/" or "image/"

    def current(self) -> int:
        """Read at each request, so a changed setting (or a test) takes effect at once."""
        return _positive_int(os.environ.get(self.env, ""), self.default)


VIDEO_LIMIT = MediaLimit("SIGHTLINE_MAX_VIDEO_BYTES", 2 * 1024**3, "video/")
IMAGE_LIMIT = MediaLimit("SIGHTLINE_MAX_IMAGE_BYTES", 20 * 1024**2, "image/")
#: (method, path) of the upload routes → their limit for media bodies.
MEDIA_LIMITS: dict[tuple[str, str], MediaLimit] = {
    ("POST", "/api/videos"): VIDEO_LIMIT,
    ("POST", "/api/images/analyze"): IMAGE_LIMIT,
}


class _TooLarge(Exception):
    pass


def _positive_int(value: str, default: int) -> int:
    return int(value) if value.isdigit() and int(value) > 0 else default


def max_body_bytes() -> int:
    return _positive_int(os.environ.get(ENV, ""), DEFAULT_MAX_BODY_BYTES)


def _limit_for(scope: Scope, default: int) -> tuple[int, str]:
    """(limit, setting that sets it) for this request."""
    media = MEDIA_LIMITS.get((scope.get("method", ""), scope.get("path", "")))
    if media is not None:
        headers = dict(scope.get("headers") or ())
        content_type = headers.get(b"content-type", b"").decode("latin-1").strip().lower()
        if content_type.startswith(media.media_prefix):
            return media.current(), media.env
    return default, ENV


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or max_body_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = _limit_for(scope, self.limit)
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, int(declared), limit, setting)
            return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def limited_send(message: Message) -> None:
            # The app may catch the error while parsing (FastAPI answers 400
            # "error parsing the body"): the answer is 413 all the same.
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(send, None, limit, setting)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, limited_send)
        except _TooLarge:
            if not started:
                await _refuse(send, None, limit, setting)


async def _refuse(send: Send, size: int | None, limit: int, setting: str) -> None:
    got = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    body = json.dumps(
        {"detail": f"request body too large ({got}); the limit is {limit} bytes ({setting})"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
