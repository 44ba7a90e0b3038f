"""Multi-algorithm confirmation: keep an event only if another detector agrees."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sightline.core.event_types import check_event_types
from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase, box_tuple, iou, main_box, num
from sightline.strategies.recent import RecentEvents


class ConfirmConfig(ElementConfigBase):
    type: Literal["sightline/confirm@v1"] = "sightline/confirm@v1"
    requires: list[str] = Field(min_length=1, description="Event type codes, any of which confirms.")
    window_s: float = Field(gt=0.0, description="The confirming event must be at most this much older.")
    min_iou: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="When set, its box must overlap this event's box by IoU >= this.",
    )
    same_zone: bool = Field(
        default=False, description="When true, it must be in the same zone / on the same line."
    )

    _known_types = field_validator("requires")(check_event_types)


class Confirm(Element[ConfirmConfig]):
    """Looks back over the raw events of every type the engine has seen on the
    same camera (:class:`RecentEvents`); the chain or engine records them."""

    def __init__(self, config: ConfirmConfig, recent: RecentEvents) -> None:
        super().__init__(config)
        self._recent = recent
        recent.ensure_horizon(config.window_s)

    def check(self, candidate: RawEvent) -> Step:
        event = candidate.event
        cfg = self.config
        box = main_box(event)
        for seen in self._recent.before(event.camera_id, event.wall_time, cfg.window_s):
            if seen.event_id == event.id or seen.type not in cfg.requires:
                continue
            if cfg.same_zone and (seen.zone_id, seen.line_id) != (event.zone_id, event.line_id):
                continue
            overlap = None
            if cfg.min_iou is not None:
                if box is None or seen.box is None:
                    continue
                overlap = iou(box_tuple(box), seen.box)
                if overlap < cfg.min_iou:
                    continue
            age = event.wall_time - seen.wall_time
            extra = f", IoU {num(overlap)}" if overlap is not None else ""
            return self.passed(
                f"confirmed by {seen.type} {seen.event_id} {num(age)} s earlier{extra}",
                confirmed_by=seen.event_id,
                confirmed_type=seen.type,
                age_s=age,
                iou=overlap,
            )
        wanted = " or ".join(cfg.requires)
        conditions = "".join(
            [
                f" with IoU >= {num(cfg.min_iou)}" if cfg.min_iou is not None else "",
                " in the same zone" if cfg.same_zone else "",
            ]
        )
        return self.blocked(
            f"no {wanted} on {event.camera_id} within {num(cfg.window_s)} s before{conditions}",
            requires=cfg.requires,
            window_s=cfg.window_s,
        )
