"""Strategy center routes (P1–P4): strategies as data, validation, back-test
and effectiveness statistics.

Why it looks like this:

- **Every edit is a new version** (``PUT`` saves the next version and makes
  it current); the engine is rebuilt from the database at once
  (``engine.replace``), so the next event obeys the edit, no restart.
  Enable / disable is not an edit of the chain and makes no version.
- **One validator**: create, update, ``/validate`` and the draft back-test
  all call ``parse_spec``; its single message (naming the element and the
  fix) is the 422's ``msg``, so the UI editor shows the same text everywhere.
- **Back-test** replays stored raw events — passed *and* blocked, in
  ``wall_time`` order, crops read from the blob store when an error-library
  element needs them — through fresh chains of the draft and of the live
  version, and returns the pydantic ``BacktestReport`` as is.
- **Roles**: viewers read strategies and statistics; operators (and admins)
  edit and back-test (a back-test reads up to 200,000 events) — only those
  not limited to departments, since strategies and back-tests span them all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from sqlalchemy import select

from sightline.api.audit import AuditorDep
from sightline.api.deps import Principal, require_all_departments
from sightline.api.routers.events import event_filter, parse_time, scoped
from sightline.api.schemas.common import PATH_ID_PATTERN, Ctx, Message, Viewer, unprocessable
from sightline.api.schemas.strategies import (
    BacktestIn,
    CameraEffectiveness,
    DayEffectiveness,
    DraftBacktestIn,
    EffectivenessCell,
    EffectivenessCounts,
    EffectivenessOut,
    StrategyDetail,
    StrategyIn,
    StrategyOut,
    StrategyVersionOut,
    TypeEffectiveness,
    ValidationOut,
)
from sightline.core.event_types import EVENT_TYPES
from sightline.service.strategies import BacktestRange, BacktestTooLarge, StrategyCenter, strategy_center
from sightline.storage import EventFilter
from sightline.storage.models import Camera
from sightline.storage.strategies import StrategyExists, StrategyNotFound, StrategyRecord
from sightline.strategies.backtest import BacktestReport
from sightline.strategies.spec import StrategyError, StrategySpec, parse_spec, spec_to_yaml

router = APIRouter(tags=["strategies"])

StrategyId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="strategy id")]
# A strategy may apply to every camera, and a back-test reads every camera's
# history: editing and back-testing are for operators of all departments.
StrategyEditor = Annotated[Principal, Depends(require_all_departments("operator", "strategies"))]


def _parse(source: dict | str, loc: list[str | int]) -> StrategySpec:  # type: ignore[type-arg]
    try:
        return parse_spec(source)
    except StrategyError as exc:
        raise unprocessable(loc, str(exc)) from None


def _spec_json(spec: StrategySpec) -> dict:  # type: ignore[type-arg]
    return spec.model_dump(mode="json")


def _out(center: StrategyCenter, record: StrategyRecord) -> StrategyOut:
    try:
        text = spec_to_yaml(parse_spec(record.spec))
    except StrategyError:  # a retired element type: show what is stored, as JSON (valid YAML too)
        text = json.dumps(record.spec, indent=2, ensure_ascii=False)
    return StrategyOut.from_record(record, text, center.load_errors.get(record.id))


def _get(center: StrategyCenter, strategy_id: str) -> StrategyRecord:
    try:
        return center.store.get(strategy_id)
    except StrategyNotFound:
        raise HTTPException(
            404, f"no strategy {strategy_id!r}; list strategies with GET /api/strategies"
        ) from None


def _range(body: BacktestIn) -> BacktestRange:
    def when(value: str | float | None, name: str) -> float | None:
        if value is None:
            return None
        try:
            return parse_time(str(value), name)
        except HTTPException:
            raise unprocessable(
                ["body", name], f"{name} must be ISO 8601 or UNIX seconds, between 1970 and 9999", value
            ) from None

    start, end = when(body.time_from, "from"), when(body.time_to, "to")
    if start is not None and end is not None and start > end:
        raise unprocessable(["body", "to"], "to is before from; swap them", body.time_to)
    return BacktestRange(time_from=start, time_to=end, camera_id=body.camera_id)


def _run_backtest(
    center: StrategyCenter, draft: StrategySpec, live: StrategySpec | None, where: BacktestRange
) -> BacktestReport:
    try:
        return center.backtest(draft, live, where)
    except BacktestTooLarge as exc:
        raise unprocessable(["body", "from"], str(exc)) from None


def _mentions_enabled(source: dict | str) -> bool:  # type: ignore[type-arg]
    """Whether the body sets ``enabled`` itself (YAML and JSON text alike)."""
    if isinstance(source, dict):
        return "enabled" in source
    try:
        loaded = yaml.safe_load(source)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and "enabled" in loaded


def _live_spec(center: StrategyCenter, strategy_id: str) -> StrategySpec | None:
    try:
        return parse_spec(center.store.get(strategy_id).spec)
    except (StrategyNotFound, StrategyError):
        return None


# -- read ------------------------------------------------------------------------------


@router.get("/api/strategies", response_model=list[StrategyOut], summary="List strategies (viewer)")
def list_strategies(*, ctx: Ctx, principal: Viewer) -> list[StrategyOut]:
    center = strategy_center(ctx)
    return [_out(center, r) for r in center.store.list()]


@router.get(
    "/api/strategies/effectiveness",
    response_model=EffectivenessOut,
    summary="Raw / passed / blocked events per type, camera and day (viewer)",
)
def effectiveness(
    *,
    f: Annotated[EventFilter, Depends(event_filter)],
    tz_offset_minutes: Annotated[int, Query(ge=-720, le=840, description="local days: 480 for UTC+8")] = 0,
    ctx: Ctx,
    principal: Viewer,
) -> EffectivenessOut:
    f = scoped(f, principal)
    rows = strategy_center(ctx).store.effectiveness(f, tz_offset_minutes=tz_offset_minutes)
    by_type: dict[str, list[int]] = {}
    by_camera: dict[str, list[int]] = {}
    by_day: dict[object, list[int]] = {}
    total = [0, 0, 0]
    for r in rows:
        for bucket in (by_type.setdefault(r.type, [0, 0, 0]), by_camera.setdefault(r.camera_id, [0, 0, 0]),
                       by_day.setdefault(r.day, [0, 0, 0]), total):  # fmt: skip
            bucket[0] += r.raw
            bucket[1] += r.passed
            bucket[2] += r.blocked
    with ctx.db.session() as session:
        names = dict(
            session.execute(select(Camera.id, Camera.name).where(Camera.id.in_(list(by_camera)))).all()
        )
    types = []
    for code, (raw, passed, blocked) in sorted(by_type.items(), key=lambda kv: (-kv[1][0], kv[0])):
        et = EVENT_TYPES.get(code)
        types.append(
            TypeEffectiveness(
                **EffectivenessCounts.of(raw, passed, blocked).model_dump(),
                type=code,
                name_en=et.name_en if et else code,
                name_zh=et.name_zh if et else code,
            )
        )
    cameras = [
        CameraEffectiveness(
            **EffectivenessCounts.of(*c).model_dump(), camera_id=cid, camera_name=names.get(cid)
        )
        for cid, c in sorted(by_camera.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    days = [
        DayEffectiveness(**EffectivenessCounts.of(*c).model_dump(), day=d) for d, c in sorted(by_day.items())
    ]  # type: ignore[arg-type]
    cells = [
        EffectivenessCell(
            **EffectivenessCounts.of(r.raw, r.passed, r.blocked).model_dump(), day=r.day, type=r.type,
            camera_id=r.camera_id,
        )
        for r in rows
    ]  # fmt: skip
    return EffectivenessOut(
        time_from=None if f.time_from is None else datetime.fromtimestamp(f.time_from, UTC),
        time_to=None if f.time_to is None else datetime.fromtimestamp(f.time_to, UTC),
        tz_offset_minutes=tz_offset_minutes,
        total=EffectivenessCounts.of(*total),
        by_type=types,
        by_camera=cameras,
        by_day=days,
        cells=cells,
    )


@router.post(
    "/api/strategies/validate",
    response_model=ValidationOut,
    summary="Check a strategy without saving it (viewer)",
)
def validate_strategy(*, body: StrategyIn, principal: Viewer) -> ValidationOut:
    try:
        spec = parse_spec(body.source())
    except StrategyError as exc:
        return ValidationOut(valid=False, error=str(exc), spec=None)
    return ValidationOut(valid=True, error=None, spec=_spec_json(spec))


@router.post(
    "/api/strategies/backtest",
    response_model=BacktestReport,
    summary="Back-test a draft strategy on stored events (operator)",
)
def backtest_draft(*, body: DraftBacktestIn, ctx: Ctx, principal: StrategyEditor) -> BacktestReport:
    draft = _parse(body.source(), ["body", "spec" if body.spec is not None else "text"])
    center = strategy_center(ctx)
    return _run_backtest(center, draft, _live_spec(center, draft.id), _range(body))


@router.get(
    "/api/strategies/{strategy_id}",
    response_model=StrategyDetail,
    summary="One strategy with its versions (viewer)",
)
def get_strategy(*, strategy_id: StrategyId, ctx: Ctx, principal: Viewer) -> StrategyDetail:
    center = strategy_center(ctx)
    record = _get(center, strategy_id)
    versions = [StrategyVersionOut.from_record(v) for v in center.store.versions(strategy_id)]
    return StrategyDetail(**_out(center, record).model_dump(), versions=versions)


@router.post(
    "/api/strategies/{strategy_id}/backtest",
    response_model=BacktestReport,
    summary="Back-test the stored strategy on stored events (operator)",
)
def backtest_stored(
    *, strategy_id: StrategyId, body: BacktestIn, ctx: Ctx, principal: StrategyEditor
) -> BacktestReport:
    center = strategy_center(ctx)
    record = _get(center, strategy_id)
    spec = _parse(record.spec, ["path", "strategy_id"])
    return _run_backtest(center, spec, spec, _range(body))


# -- write -----------------------------------------------------------------------------


@router.post(
    "/api/strategies", response_model=StrategyOut, status_code=201, summary="Create a strategy (operator)"
)
def create_strategy(
    *, body: StrategyIn, ctx: Ctx, principal: StrategyEditor, auditor: AuditorDep
) -> StrategyOut:
    spec = _parse(body.source(), ["body", "spec" if body.spec is not None else "text"])
    center = strategy_center(ctx)
    try:
        record = center.store.create(_spec_json(spec), author=principal.name)
    except StrategyExists:
        raise HTTPException(
            409, f"strategy {spec.id!r} exists already; change it with PUT /api/strategies/{spec.id}"
        ) from None
    center.reload()
    auditor("strategy.create", spec.id, {"version": record.current_version, "name": record.name})
    return _out(center, record)


@router.put(
    "/api/strategies/{strategy_id}",
    response_model=StrategyOut,
    summary="Save a new version of a strategy; the next event uses it (operator)",
)
def update_strategy(
    *, strategy_id: StrategyId, body: StrategyIn, ctx: Ctx, principal: StrategyEditor, auditor: AuditorDep
) -> StrategyOut:
    center = strategy_center(ctx)
    current = _get(center, strategy_id)
    source = body.source()
    if isinstance(source, dict):
        if source.get("id", strategy_id) != strategy_id:
            raise unprocessable(
                ["body", "spec", "id"],
                f"the spec's id {source['id']!r} differs from the URL's {strategy_id!r}; "
                "a strategy cannot be renamed, create a new one instead",
                source["id"],
            )
        source = {**source, "id": strategy_id}
    spec = _parse(source, ["body", "spec" if body.spec is not None else "text"])
    if spec.id != strategy_id:
        raise unprocessable(
            ["body", "text"],
            f"the spec's id {spec.id!r} differs from the URL's {strategy_id!r}; "
            "a strategy cannot be renamed, create a new one instead",
        )
    data = _spec_json(spec)
    if not _mentions_enabled(source):
        data["enabled"] = current.enabled  # a chain edit does not switch a strategy on or off
    record = center.store.update(strategy_id, data, author=principal.name)
    center.reload()
    auditor("strategy.update", strategy_id, {"version": record.current_version})
    return _out(center, record)


def _set_enabled(ctx: Ctx, strategy_id: str, enabled: bool, auditor: AuditorDep) -> StrategyOut:
    center = strategy_center(ctx)
    try:
        record = center.store.set_enabled(strategy_id, enabled)
    except StrategyNotFound:
        raise HTTPException(
            404, f"no strategy {strategy_id!r}; list strategies with GET /api/strategies"
        ) from None
    center.reload()
    auditor("strategy.enable" if enabled else "strategy.disable", strategy_id)
    return _out(center, record)


@router.post(
    "/api/strategies/{strategy_id}/enable",
    response_model=StrategyOut,
    summary="Switch a strategy on (operator)",
)
def enable_strategy(
    *, strategy_id: StrategyId, ctx: Ctx, principal: StrategyEditor, auditor: AuditorDep
) -> StrategyOut:
    return _set_enabled(ctx, strategy_id, True, auditor)


@router.post(
    "/api/strategies/{strategy_id}/disable",
    response_model=StrategyOut,
    summary="Switch a strategy off (operator)",
)
def disable_strategy(
    *, strategy_id: StrategyId, ctx: Ctx, principal: StrategyEditor, auditor: AuditorDep
) -> StrategyOut:
    return _set_enabled(ctx, strategy_id, False, auditor)


@router.delete(
    "/api/strategies/{strategy_id}", response_model=Message, summary="Delete a strategy (operator)"
)
def delete_strategy(
    *, strategy_id: StrategyId, ctx: Ctx, principal: StrategyEditor, auditor: AuditorDep
) -> Message:
    center = strategy_center(ctx)
    try:
        center.store.delete(strategy_id)
    except StrategyNotFound:
        raise HTTPException(
            404, f"no strategy {strategy_id!r}; list strategies with GET /api/strategies"
        ) from None
    center.reload()
    auditor("strategy.delete", strategy_id)
    return Message(detail=f"strategy {strategy_id!r} deleted; its events keep its id and version")
