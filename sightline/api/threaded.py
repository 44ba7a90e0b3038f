"""The app served by uvicorn from a background thread, on 127.0.0.1 and a
free port: for embedding Sightline's API in another Python process, for the
benchmarks and for the tests that need real HTTP (SSE streaming, TLS,
a browser). ``sightline serve`` runs uvicorn in the foreground instead.

Port 0 lets the kernel pick the port when uvicorn binds, so two servers
started at once can never race for the same "free" port.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    """``with ThreadedServer(app) as url: ...`` or ``start()`` / ``stop()``.

    ``options`` go to :class:`uvicorn.Config` (e.g. ``ssl_certfile``,
    ``lifespan``); the base URL is ``https://`` when a certificate is given."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        options.setdefault("log_level", "warning")
        options.setdefault("timeout_graceful_shutdown", 3)
        self.host = host
        self.scheme = "https" if options.get("ssl_certfile") else "http"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **options))
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start serving; returns the base URL. Raises RuntimeError when uvicorn
        did not come up within ``timeout`` seconds (its log says why)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.host} within {timeout:.0f} s")
            time.sleep(0.02)
        return self.base_url

    def stop(self, timeout: float = 15.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
