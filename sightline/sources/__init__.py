"""Video sources: files and network cameras decoded into ``sightline.core.Frame``.

``AvSource`` decodes one camera or file with PyAV (sampling by pts, keyframe
mode, resize on decode, reconnect with back-off); ``SourceReader`` runs one
source per thread behind a drop-oldest queue so a dead camera never blocks
another; ``SourceHealth`` is what operators see. See docs/sources.md.
"""

from sightline.sources.av_source import AvSource, SourceError, describe_failure, output_size
from sightline.sources.backoff import Backoff
from sightline.sources.config import SourceConfig, is_live_url, redact_url
from sightline.sources.health import SourceHealth, SourceState
from sightline.sources.reader import SourceReader
from sightline.sources.timeline import PtsSampler, PtsTimeline

__all__ = [
    "AvSource",
    "Backoff",
    "PtsSampler",
    "PtsTimeline",
    "SourceConfig",
    "SourceError",
    "SourceHealth",
    "SourceReader",
    "SourceState",
    "describe_failure",
    "is_live_url",
    "output_size",
    "redact_url",
]
