"""Error library check on real images: false-block and true-block rates.

Why: the error library blocks events whose crop looks like an operator-marked
false positive. Too loose and it silently drops real events of *other* people
or places (false blocks); too strict and the same false positive keeps coming
back. This measures both on OpenCV's street sample (vtest.avi, 768x576, 10 fps)
with the shipped pHash, at several thresholds.

A false positive an operator marks is something static the detector mistakes
for a person (a pole, a bin, a shadow): it comes back at the same place with
new sensor noise, light and compression, and a box jittered by a pixel or two.
So, with person boxes from the installed NanoDet detector (a grid of
person-sized windows stands in when no model is installed):

- library: person-sized (32x80 px) boxes of background, clear of every detected
  person, on one frame, JPEG quality 90;
- re-occurrences (should be blocked): the same boxes 1 to 10 s later while
  still clear, shifted by up to 2 px, JPEG quality 70;
- others (must not be blocked): every detected person of frames spread over
  the video, and background boxes at other places, on the same camera + type.

    .venv/bin/python bench/error_library.py
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from sightline.strategies.error_library import DEFAULT_MAX_DISTANCE, ErrorLibrary, fingerprint

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
SAMPLED_FRAMES = tuple(range(0, 795, 10))
LIBRARY_FRAME = 100
LATER_FRAMES = tuple(range(110, 210, 10))  # 1..10 s after the library frame
WINDOW_W, WINDOW_H = 32, 80  # a typical person box in vtest (median 32x77 px)
MAX_JITTER = 2

Image = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]


@dataclass
class CropSet:
    source: str  # "nanodet" or "grid"
    library: list[tuple[str, bytes]]  # (entry id, crop)
    reoccurrences: list[bytes]
    other_people: list[bytes]
    other_places: list[bytes]


def decode(frames: set[int]) -> dict[int, Image]:
    out: dict[int, Image] = {}
    with av.open(str(VTEST)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in frames:
                out[index] = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            if index >= max(frames):
                break
    return out


def person_boxes(images: dict[int, Image]) -> tuple[str, dict[int, list[Box]]]:
    try:
        from sightline.config.analysis import DetectorConfig
        from sightline.inference import build_detector

        detector = build_detector(DetectorConfig(confidence=0.4, threads=2))
    except Exception:  # no model installed: no people known, places only
        return "grid", {i: [] for i in images}
    boxes: dict[int, list[Box]] = {}
    for index, image in images.items():
        dets = detector.detect_images([image])[0]
        names = dets.data["class_name"]
        boxes[index] = [
            (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
            for b, name in zip(dets.xyxy, names, strict=True)
            if name == "person"
        ]
    return "nanodet", boxes


def crop(image: Image, box: Box, dx: int = 0, dy: int = 0, quality: int = 90) -> bytes | None:
    h, w = image.shape[:2]
    x1, y1 = max(0, int(box[0]) + dx), max(0, int(box[1]) + dy)
    x2, y2 = min(w, int(box[2]) + dx), min(h, int(box[3]) + dy)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    ok, jpeg = cv2.imencode(".jpg", image[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return jpeg.tobytes() if ok else None


def _touches(box: Box, others: list[Box], margin: float = 4.0) -> bool:
    return any(
        box[0] - margin < o[2]
        and o[0] < box[2] + margin
        and box[1] - margin < o[3]
        and o[1] < box[3] + margin
        for o in others
    )


def collect() -> CropSet:
    images = decode(set(SAMPLED_FRAMES))
    source, people = person_boxes(images)
    height, width = images[0].shape[:2]
    windows: list[Box] = [
        (float(x), float(y), float(x + WINDOW_W), float(y + WINDOW_H))
        for x in range(8, width - WINDOW_W - 8, 48)
        for y in range(40, height - WINDOW_H - 8, 96)
    ]
    # Every other clear window of the library frame is a marked false positive;
    # the windows in between are "other places" (they never overlap: 48 px steps).
    clear = [w for w in windows if not _touches(w, people[LIBRARY_FRAME])]
    marked, elsewhere = clear[::2], clear[1::2]
    rng = np.random.default_rng(7)
    library: list[tuple[str, bytes]] = []
    reoccurrences: list[bytes] = []
    for n, box in enumerate(marked):
        jpeg = crop(images[LIBRARY_FRAME], box)
        if jpeg is None:
            continue
        library.append((f"fp-{n}", jpeg))
        for later in LATER_FRAMES:
            if _touches(box, people[later]):
                continue  # someone walked in front: not the same picture any more
            dx, dy = (int(v) for v in rng.integers(-MAX_JITTER, MAX_JITTER + 1, size=2))
            again = crop(images[later], box, dx, dy, quality=70)
            if again is not None:
                reoccurrences.append(again)
    other_places = [
        c for f in SAMPLED_FRAMES[::8] for box in elsewhere if (c := crop(images[f], box)) is not None
    ]
    other_people = [c for f in SAMPLED_FRAMES for box in people[f] if (c := crop(images[f], box)) is not None]
    return CropSet(source, library, reoccurrences, other_people, other_places)


@dataclass(frozen=True)
class Rates:
    false_block_people: float  # share of other people's crops blocked
    false_block_places: float  # share of other places' crops blocked
    true_block: float  # share of re-occurrences blocked

    @property
    def false_block(self) -> float:
        return max(self.false_block_people, self.false_block_places)


def rates(crops: CropSet, max_distance: int = DEFAULT_MAX_DISTANCE) -> Rates:
    library = ErrorLibrary(max_distance)
    for entry_id, jpeg in crops.library:
        library.add(entry_id, "cam1", "zone.enter", fingerprint(jpeg))

    def blocked(group: list[bytes]) -> float:
        return sum(library.match("cam1", "zone.enter", c) is not None for c in group) / max(1, len(group))

    return Rates(blocked(crops.other_people), blocked(crops.other_places), blocked(crops.reoccurrences))


def main() -> int:
    crops = collect()
    print(
        f"crops (people from {crops.source}): {len(crops.library)} library entries, "
        f"{len(crops.reoccurrences)} re-occurrences, {len(crops.other_people)} other people, "
        f"{len(crops.other_places)} other places"
    )
    print("max_distance  false-block people  false-block places  true-block")
    for max_distance in sorted({4, 6, 8, 10, 12, 14, 16, 18, 20, DEFAULT_MAX_DISTANCE}):
        r = rates(crops, max_distance)
        mark = "  <- default" if max_distance == DEFAULT_MAX_DISTANCE else ""
        print(
            f"{max_distance:>12}  {r.false_block_people:>18.1%}  {r.false_block_places:>18.1%}"
            f"  {r.true_block:>10.1%}{mark}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
