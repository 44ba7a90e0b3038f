"""Real servers for the delivery tests: a webhook receiver, Mosquitto, and uvicorn.

Why real: the point of E4 is what a receiver actually sees on the wire —
signatures over the exact bytes, retries after connection refusals, QoS 1
acknowledgements, retained messages — so the tests talk to real sockets on
127.0.0.1, never to mocks.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from fastapi import FastAPI
from paho.mqtt.enums import CallbackAPIVersion

from sightline.api.threaded import ThreadedServer
from sightline.delivery.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature
from tests.polling import wait_for


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- webhook receiver ----------------------------------------------------------------


class ReceiverState:
    """What a well-behaved receiver keeps (in its database, in real life): it
    verifies the signature, and processes each idempotency key once."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.lock = threading.Lock()
        self.raw: Counter[str] = Counter()  # receipts with a valid signature, per key
        self.processed: dict[str, dict[str, Any]] = {}  # key -> body, first receipt only
        # Repeats of a key whose body differs from its first receipt: deduplicating
        # by key is only right when a key always carries the same event.
        self.conflicts: list[str] = []
        self.rejected = 0  # bad or missing signature
        self.script: list[int] = []  # statuses to answer (in order) before the normal 200
        self.headers: list[dict[str, str]] = []

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        if not verify_signature(self.secret, headers.get(SIGNATURE_HEADER), body):
            with self.lock:
                self.rejected += 1
            return 401
        key = headers.get(IDEMPOTENCY_HEADER, "")
        with self.lock:
            self.raw[key] += 1
            self.headers.append(headers)
            if self.script:
                return self.script.pop(0)
            data = json.loads(body)
            if key not in self.processed:  # dedupe by idempotency key
                self.processed[key] = data
            elif self.processed[key].get("event") != data.get("event"):  # the attempt number may differ
                self.conflicts.append(key)
        return 200


class Receiver:
    """The receiver's HTTP server on 127.0.0.1; ``stop()`` kills it, ``start()``
    brings it back on the same port with the same state."""

    def __init__(self, state: ReceiverState, port: int | None = None) -> None:
        self.state = state
        self.port = port or free_tcp_port()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = state.handle({k: v for k, v in self.headers.items()}, body)
                payload = b'{"ok":true}' if status == 200 else b'{"error":"rejected"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class SilentServer:
    """Accepts TCP connections and never answers: a hung receiver."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.sock.close()


# -- Mosquitto ---------------------------------------------------------------------------

MOSQUITTO = "/usr/sbin/mosquitto"


def ensure_mosquitto() -> str | None:
    """Path to Debian's mosquitto, installing the package when missing (as root);
    None with the reason logged in the returned problem otherwise."""
    found = shutil.which("mosquitto") or (MOSQUITTO if os.path.exists(MOSQUITTO) else None)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "mosquitto"]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(cmd, env=env, capture_output=True, timeout=600)
    return shutil.which("mosquitto") or (MOSQUITTO if os.path.exists(MOSQUITTO) else None)


class Mosquitto:
    """A private broker on a free port (no persistence): ``stop()`` kills it,
    ``start()`` brings it back on the same port — empty, like a broker restart."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_tcp_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sightline-mosquitto-"))
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Mosquitto:
        self._proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        if not wait_for(listening, timeout):
            err = b""
            if self._proc.poll() is not None and self._proc.stderr is not None:
                err = self._proc.stderr.read()
            self.stop()
            raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{self.port}: {err.decode().strip()}")
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- uvicorn --------------------------------------------------------------------------------


class LiveServer(ThreadedServer):
    """A FastAPI app served by uvicorn in a thread (real HTTP streaming for SSE)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(app, lifespan="off", timeout_graceful_shutdown=1)

    def start(self, timeout: float = 10.0) -> LiveServer:  # type: ignore[override]
        super().start(timeout)
        return self


class Listener:
    """A plain paho client that records what arrives on ``topic_filter``."""

    def __init__(self, broker: Mosquitto, topic_filter: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subscribed = False
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda *a: setattr(self, "subscribed", True)
        self.client.on_connect = lambda c, *a: c.subscribe(topic_filter, qos=1)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert wait_for(lambda: self.subscribed, 5.0), "listener could not subscribe"

    def next(self, timeout: float = 5.0) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
