"""Image analysis (T1): one picture in, the detector's findings out.

Upload form: the **raw request body** is the picture with its content type
(``image/jpeg``, ``image/png``, ``image/webp`` or ``image/bmp``), at most
``SIGHTLINE_MAX_IMAGE_BYTES`` (default 20 MiB; 413 beyond). The picture is
checked before it is decoded (:mod:`sightline.uploads.image_probe`: 413 for
more than ``SIGHTLINE_MAX_IMAGE_PIXELS`` declared pixels, 422 for garbage or
a truncated file) and nothing is stored: the answer is the detections.

Role: reviewer or higher. It changes nothing, but it spends detector time,
so it is not open to viewers; applications use it with a reviewer API key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from sightline.api.context import AppContext
from sightline.api.limits import IMAGE_LIMIT
from sightline.api.routers.videos import refused
from sightline.api.schemas.common import Ctx, Reviewer, unprocessable
from sightline.api.schemas.uploads import DetectionOut, ImageAnalysisOut
from sightline.inference.coco import COCO_CLASSES
from sightline.service.image_analysis import DEFAULT_MIN_CONFIDENCE, SharedDetector, process_detector
from sightline.uploads import UploadRefused
from sightline.uploads.content_types import IMAGE_TYPES, require_image_type
from sightline.uploads.image_probe import decode_image

router = APIRouter(tags=["images"])

_IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "description": "the picture itself (not a form), with its image/* content type",
        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in IMAGE_TYPES},
    }
}


def detector_of(ctx: AppContext) -> SharedDetector:
    """The process's detector (tests put their own in ``ctx.extra['image_detector']``)."""
    own = ctx.extra.get("image_detector")
    return own if isinstance(own, SharedDetector) else process_detector()


async def _read_limited(request: Request, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:  # the middleware refuses first; this guards direct use
            raise UploadRefused(
                413, f"upload too large (more than {limit} bytes); the limit is {IMAGE_LIMIT.env}"
            )
    if not data:
        raise UploadRefused(422, "the request body is empty; send the picture's bytes as the body")
    return bytes(data)


@router.post(
    "/api/images/analyze",
    response_model=ImageAnalysisOut,
    summary="Detect objects in one picture: the raw body with its image/* type (reviewer)",
    openapi_extra=_IMAGE_BODY,
)
async def analyze_image(
    *,
    request: Request,
    classes: Annotated[
        list[str], Query(default_factory=list, max_length=80, description="keep only these COCO classes")
    ],
    min_confidence: Annotated[float, Query(gt=0, le=1)] = DEFAULT_MIN_CONFIDENCE,
    ctx: Ctx,
    _: Reviewer,
) -> ImageAnalysisOut:
    unknown = sorted(set(classes) - set(COCO_CLASSES))
    if unknown:
        raise unprocessable(
            ["query", "classes"], f"unknown class(es) {unknown}; use COCO names such as person, car, bus"
        )
    try:
        require_image_type(request.headers.get("content-type"))
        data = await _read_limited(request, IMAGE_LIMIT.current())
        image = await run_in_threadpool(decode_image, data)
    except UploadRefused as err:
        raise refused(err) from None
    try:
        found = await run_in_threadpool(detector_of(ctx).detect, image.bgr, classes, min_confidence)
    except (RuntimeError, OSError) as err:  # the model is missing or broken: the server's problem
        raise HTTPException(503, f"the detector is not available: {err}") from None
    return ImageAnalysisOut(
        width=image.width,
        height=image.height,
        format=image.format,
        detections=[DetectionOut(class_name=d.class_name, confidence=d.confidence, box=d.box) for d in found],
    )
