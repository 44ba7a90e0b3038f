"""A limit on request body size, for every route.

Why: without one, a client can send a body of any size and the server reads
all of it into memory before validation even starts (a 2 GB JSON body is a
2 GB allocation). Bodies over the limit are refused with 413 before they are
read — at once when ``Content-Length`` says so, else as soon as the streamed
bytes pass the limit — so nothing is parsed or stored from them.

The limit is ``SIGHTLINE_MAX_BODY_BYTES`` (default 2 MiB: the largest JSON
the API takes, a task with many zones, is a few kilobytes).
"""

from __future__ import annotations

import json
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
ENV = "SIGHTLINE_MAX_BODY_BYTES"


class _TooLarge(Exception):
    pass


def max_body_bytes() -> int:
    value = os.environ.get(ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_BODY_BYTES


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or max_body_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, int(declared))
            return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
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
                    await self._refuse(send, None)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, limited_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, None)

    async def _refuse(self, send: Send, size: int | None) -> None:
        got = f"{size} bytes" if size is not None else f"more than {self.limit} bytes"
        body = json.dumps(
            {"detail": f"request body too large ({got}); the limit is {self.limit} bytes ({ENV})"}
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
