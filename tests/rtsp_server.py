#!/usr/bin/python3
"""A small RTSP camera simulator for tests: serves one video file, looped at
real-time speed, as H.264 over RTSP.

Why this shape: Debian ships GStreamer's RTSP server library but no ready-made
server binary (``test-launch`` is not packaged, ffmpeg cannot serve RTSP
clients), and the venv Python has no PyGObject, so this script runs under
Debian's ``/usr/bin/python3``. Looping a file inside an RTSP-managed GStreamer
pipeline is fiddly (the server owns the pipeline state and seeks), so ffmpeg
does the part it is good at -- ``-re -stream_loop -1`` reads the file at
real-time speed forever with continuous timestamps and encodes H.264 with a
keyframe every second -- and sends RTP over loopback UDP; the RTSP
pipeline only re-times it (a jitter buffer in "synced" mode keeps the
sender's frame spacing; MPEG-TS via ``tsdemux`` was tried first and its
PCR handling produced 1.3 s timestamp jumps) and re-payloads it. Like a real camera, the stream is
already "live" when a client joins: one shared media per mount, and SPS/PPS
are repeated on every keyframe (``config-interval=-1``) so late joiners can
start decoding at the next keyframe.

Usage::

    /usr/bin/python3 tests/rtsp_server.py --file video.avi --port 8554 \
        [--mount /cam] [--user u --password p]

Prints ``READY`` on stdout once the RTSP port is listening. SIGTERM/SIGINT
stop it, and the ffmpeg child with it.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Run in the ffmpeg child: get SIGTERM if this server dies, even by
    SIGKILL, so a killed test never leaves an encoder running."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_ffmpeg(path: str, udp_port: int, keyint_s: float) -> subprocess.Popen[bytes]:
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        # -re: read at the file's own frame rate, like a camera; -stream_loop -1:
        # forever, with timestamps that keep increasing across loops.
        "-re", "-stream_loop", "-1", "-i", path,
        "-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-pix_fmt", "yuv420p", "-bf", "0", "-sc_threshold", "0",
        # One slice per picture: zerolatency's sliced threads cut keyframes
        # into several NAL units, each re-prefixed with SPS/PPS by the
        # payloader, and FFmpeg's client then splits one picture in two.
        "-threads", "1",
        # A keyframe every keyint_s seconds whatever the frame rate, so
        # keyframe-only clients get a picture per second.
        "-force_key_frames", f"expr:gte(t,n_forced*{keyint_s})",
        "-f", "rtp", f"rtp://127.0.0.1:{udp_port}?pkt_size=1200",
    ]  # fmt: skip
    # stdout gets ffmpeg's SDP text; ours must carry only "READY".
    return subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent
    )


def _make_auth(factory: GstRtspServer.RTSPMediaFactory, user: str, password: str) -> GstRtspServer.RTSPAuth:
    """Basic auth: only ``user`` may see and construct the media."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    factory.set_permissions(permissions)
    return auth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mount", default="/stream")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--keyint", type=float, default=1.0, help="seconds between keyframes")
    args = parser.parse_args()
    if not os.path.isfile(args.file):
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    if (args.user is None) != (args.password is None):
        print("--user and --password go together", file=sys.stderr)
        return 2

    Gst.init(None)
    udp_port = _free_udp_port()
    ffmpeg = _start_ffmpeg(args.file, udp_port, args.keyint)

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    # udpsrc is live, so the media is a live camera: clients join whatever is
    # playing now. A big socket buffer avoids losing packets when the machine
    # is busy (loss would show up as corrupt frames in the tests).
    factory.set_launch(
        f"( udpsrc port={udp_port} address=127.0.0.1 buffer-size=4194304 "
        'caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" '
        "! rtpjitterbuffer latency=200 mode=synced ! rtph264depay "
        "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)
    if args.user is not None:
        server.set_auth(_make_auth(factory, args.user, args.password))
    server.get_mount_points().add_factory(args.mount, factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        ffmpeg.terminate()
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1

    def stop(*_: object) -> bool:
        loop.quit()
        return GLib.SOURCE_REMOVE

    def watch_ffmpeg() -> bool:
        # Without its encoder the server would accept clients and send nothing.
        if ffmpeg.poll() is not None:
            print(f"ffmpeg exited with {ffmpeg.returncode}", file=sys.stderr)
            loop.quit()
            return GLib.SOURCE_REMOVE
        return GLib.SOURCE_CONTINUE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, stop)
    GLib.timeout_add(200, watch_ffmpeg)
    print("READY", flush=True)
    try:
        loop.run()
    finally:
        ffmpeg.terminate()
        try:
            ffmpeg.wait(timeout=5)
        except subprocess.TimeoutExpired:
            ffmpeg.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
