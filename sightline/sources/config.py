"""Source configuration and URL helpers.

One ``SourceConfig`` describes one camera or file. Everything an operator may
tune per camera lives here (sampling, keyframe mode, resize, timeouts,
reconnect back-off) so the decoding code has no hidden constants. URLs may
carry credentials (``rtsp://user:pass@host/path``, as most cameras expect), so
this module also owns :func:`redact_url`: every log line and error message
goes through it.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Schemes FFmpeg reaches over the network. Their streams are live: on error or
# end of stream we reconnect. Anything else (a path, file://) is a file.
LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "tcp", "rtp"})

# userinfo inside any URL embedded in free text (FFmpeg error messages quote
# the URL they failed on, password included).
# Greedy up to the last "@" of the authority, so an unencoded "@" inside a
# password ("pa@ss") is still hidden.
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s'\"]+)@")


# Credentials passed as query parameters: Dahua/Hikvision HTTP snapshot URLs
# (``?user=admin&password=...``), tokens of cloud gateways (``?token=...``).
# A name is secret when it is, or ends in ``_``/``-`` plus, one of these words:
# ``access_key``, ``client_secret``, ``X-Amz-Signature``, ``auth_token``; not
# ``keyframe`` or ``monkey``. The value runs to the next ``&``, ``#`` or space
# (quotes included: a password may hold one).
SECRET_PARAM_RE = re.compile(
    r"(?P<name>(?<=[?&;])(?:[\w.-]*[_-])?"
    r"(?:password|passwd|pwd|pass|token|auth|api_?key|key|secret|sig|signature|credential))="
    r"(?P<value>[^&#\s]*)",
    re.IGNORECASE,
)


def redact_url(text: str) -> str:
    """Replace the ``user:password@`` part of every URL in ``text`` with ``***@``,
    and the value of secret query parameters (``password=``, ``token=`` ...) with ``***``.

    Works on whole messages too, not only on a bare URL, because FFmpeg puts
    the URL into its exception strings.
    """
    text = _USERINFO_RE.sub(lambda m: f"{m.group('scheme')}***@", text)
    return SECRET_PARAM_RE.sub(lambda m: f"{m.group('name')}=***" if m.group("value") else m.group(0), text)


def secret_params(url: str) -> list[tuple[str, str]]:
    """The secret query parameters of ``url`` in order, as (lower-case name, value)."""
    return [(m.group("name").lower(), m.group("value")) for m in SECRET_PARAM_RE.finditer(url)]


def url_scheme(url: str) -> str:
    """Lower-case scheme of ``url``; ``""`` for plain paths."""
    if "://" not in url:
        return ""
    return urlsplit(url).scheme.lower()


def is_live_url(url: str) -> bool:
    """True for network streams (which reconnect), False for files."""
    return url_scheme(url) in LIVE_SCHEMES


class SourceConfig(BaseModel):
    """How to read one camera or file.

    Timing: ``target_fps`` samples by presentation time (frame pts), not by
    wall clock, so a file replayed faster than real time gives the same
    frames as the live stream would.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str = Field(min_length=1)
    url: str = Field(
        min_length=1,
        description="File path, file:// URL, or stream URL such as rtsp://user:pass@host:554/path",
    )
    target_fps: float | None = Field(
        default=None,
        gt=0,
        description="Emit at most this many frames per source second (by pts); None = every decoded frame",
    )
    keyframes_only: bool = Field(
        default=False,
        description="Decode only keyframes (~10x cheaper); the rate is then the stream's keyframe rate",
    )
    resize_width: int | None = Field(
        default=None,
        ge=16,
        description="Scale to this width keeping the aspect ratio (never upscales); None = full size",
    )
    loop: bool = Field(default=False, description="Files only: restart at the end, pts keep increasing")
    rtsp_transport: Literal["tcp", "udp"] = "tcp"
    open_timeout_s: float = Field(
        default=10.0, gt=0, description="Give up connecting/probing after this long (RTSP opens take 2-4 s)"
    )
    read_timeout_s: float = Field(
        default=5.0, gt=0, description="Give up when no packet arrives for this long, then reconnect"
    )
    stall_s: float = Field(
        default=2.0, gt=0, description="Report 'degraded' when connected but no packet for this long"
    )
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait between reconnects; with opens of 2-4 s a camera that returns "
        "streams again within 10 s",
    )
    backoff_jitter: float = Field(
        default=0.2, ge=0, le=1, description="Each delay is scaled by a random factor in [1-j, 1+j]"
    )
    ffmpeg_options: dict[str, str] = Field(
        default_factory=dict,
        description="Extra FFmpeg demuxer/protocol options, e.g. {'analyzeduration': '1000000'}",
    )

    @field_validator("url")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("url must not be blank")
        return v

    @model_validator(mode="after")
    def _check_backoff(self) -> SourceConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be >= backoff_initial_s")
        return self

    @property
    def is_live(self) -> bool:
        """Network stream (reconnects forever) rather than a file."""
        return is_live_url(self.url)

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def file_path(self) -> str:
        """The path FFmpeg should open for a file source (``file://`` stripped)."""
        if url_scheme(self.url) == "file":
            return urlsplit(self.url).path
        return self.url
