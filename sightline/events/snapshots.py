"""Evidence images for an event: the full frame, a crop of the object, and an
annotated preview (zones, lines, every box, the event's box highlighted).

Written as JPEG next to each other under ``<out>/snapshots/<camera>/<day>/``;
the event keeps paths relative to ``<out>`` so a folder can be moved whole.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import supervision as sv

from sightline.core.detections import CLASS_NAME_KEY
from sightline.core.event import Event, EventSnapshot
from sightline.core.frame import Frame
from sightline.core.geometry import Line, Zone
from sightline.events.text import draw_labels

Image = npt.NDArray[np.uint8]

_ZONE_COLOUR = (0, 200, 255)
_LINE_COLOUR = (255, 0, 255)
_BOX_COLOUR = (180, 180, 180)
_EVENT_COLOUR = (0, 0, 255)
_CROP_MARGIN = 0.15  # fraction of the box added around a crop, for context


def crop_box(image: Image, box: tuple[float, float, float, float]) -> Image:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * _CROP_MARGIN, (y2 - y1) * _CROP_MARGIN
    xa, ya = max(0, int(x1 - mx)), max(0, int(y1 - my))
    xb, yb = min(w, int(x2 + mx) + 1), min(h, int(y2 + my) + 1)
    if xb <= xa or yb <= ya:
        return image
    return image[ya:yb, xa:xb]


def draw_annotations(
    image: Image,
    detections: sv.Detections,
    zones: Sequence[Zone],
    lines: Sequence[Line],
    event: Event | None = None,
) -> Image:
    out = image.copy()
    h, w = out.shape[:2]
    labels: list[tuple[str, tuple[int, int], tuple[int, int, int]]] = []
    for zone in zones:
        poly = zone.to_pixels(w, h).polygon.astype(np.int32)
        overlay = out.copy()
        cv2.fillPoly(overlay, [poly], _ZONE_COLOUR)
        cv2.addWeighted(overlay, 0.15, out, 0.85, 0, dst=out)
        cv2.polylines(out, [poly], True, _ZONE_COLOUR, 2)
        top = poly[np.argmin(poly[:, 1])]
        labels.append((zone.name or zone.id, (int(top[0]) + 4, max(0, int(top[1]) - 18)), _ZONE_COLOUR))
    for line in lines:
        lp = line.to_pixels(w, h)
        a, b = tuple(int(v) for v in lp.start), tuple(int(v) for v in lp.end)
        cv2.arrowedLine(out, a, b, _LINE_COLOUR, 2, tipLength=0.03)
        # Mark the "in" side (right-hand side walking start→end, y down).
        mid = (lp.start + lp.end) / 2
        d = lp.end - lp.start
        normal = np.array([-d[1], d[0]]) / max(1e-6, float(np.hypot(*d)))
        tip = mid + normal * 25
        cv2.arrowedLine(out, tuple(int(v) for v in mid), tuple(int(v) for v in tip), _LINE_COLOUR, 1)
        labels.append((f"{line.name or line.id} (in)", (int(tip[0]) + 3, int(tip[1]) - 8), _LINE_COLOUR))
    names = detections.data.get(CLASS_NAME_KEY, np.array([""] * len(detections)))
    tids = detections.tracker_id if detections.tracker_id is not None else np.full(len(detections), -1)
    for box, name, tid in zip(detections.xyxy, names, tids, strict=True):
        x1, y1, x2, y2 = (int(v) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), _BOX_COLOUR, 1)
        label = f"{name} #{tid}" if tid is not None and tid >= 0 else str(name)
        labels.append((label, (x1, max(0, y1 - 14)), _BOX_COLOUR))
    if event is not None:
        for eb in event.boxes:
            cv2.rectangle(out, (int(eb.x1), int(eb.y1)), (int(eb.x2), int(eb.y2)), _EVENT_COLOUR, 2)
        title = f"{event.type_name_zh} {event.type_name_en} {event.direction or ''} t={event.pts:.1f}s"
        draw_labels(out, [(title.strip(), (6, 4), (255, 255, 255))], size=16, background=True)
    return draw_labels(out, labels, size=12)


def encode_jpeg(image: Image, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode a JPEG")
    return bytes(buf.tobytes())


def render_evidence(
    event: Event,
    frame: Frame,
    detections: sv.Detections,
    zones: Sequence[Zone] = (),
    lines: Sequence[Line] = (),
    quality: int = 85,
    preview: bool = True,
) -> dict[str, bytes]:
    """JPEG bytes of the full frame, the object's crop and the annotated preview."""
    images = {"frame": encode_jpeg(frame.image, quality)}
    if event.boxes:
        b = event.boxes[0]
        images["crop"] = encode_jpeg(crop_box(frame.image, (b.x1, b.y1, b.x2, b.y2)), quality)
    if preview:
        images["preview"] = encode_jpeg(
            draw_annotations(frame.image, detections, zones, lines, event), quality
        )
    return images


class SnapshotWriter:
    """Writes frame, crop and preview JPEGs for an event as files under
    ``<out>/snapshots/<camera>/<day>/`` and records their relative paths (CLI)."""

    def __init__(self, out_dir: Path, jpeg_quality: int = 85, preview: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.quality = jpeg_quality
        self.preview = preview

    def attach(
        self,
        event: Event,
        frame: Frame,
        detections: sv.Detections,
        zones: Sequence[Zone] = (),
        lines: Sequence[Line] = (),
    ) -> Event:
        images = render_evidence(event, frame, detections, zones, lines, self.quality, self.preview)
        day = time.strftime("%Y%m%d", time.gmtime(event.wall_time))
        folder = Path("snapshots") / event.camera_id / day
        paths: dict[str, str] = {}
        for kind, data in images.items():
            rel = folder / f"{event.id}_{kind}.jpg"
            path = self.out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a JPEG
            paths[kind] = rel.as_posix()
        return event.model_copy(update={"snapshot": EventSnapshot(**paths)})


class ImageCollector:
    """Renders evidence JPEGs and keeps them by event id until the caller stores
    them (the service hands them to the EventStore's blob store)."""

    def __init__(self, jpeg_quality: int = 85) -> None:
        self.quality = jpeg_quality
        self._images: dict[str, dict[str, bytes]] = {}

    def attach(
        self,
        event: Event,
        frame: Frame,
        detections: sv.Detections,
        zones: Sequence[Zone] = (),
        lines: Sequence[Line] = (),
    ) -> Event:
        self._images[event.id] = render_evidence(event, frame, detections, zones, lines, self.quality)
        return event

    def pop(self, event_id: str) -> dict[str, bytes]:
        return self._images.pop(event_id, {})
