"""Property-based fuzzing of our own OpenAPI with schemathesis: every
operation gets generated requests (valid and invalid bodies, queries and path
parameters), sent to the real app in-process (ASGI) as an admin. Checks: no
5xx, and every response conforms to its documented schema and content type.

Deterministic (``derandomize``), so a CI failure reproduces locally; the
number of requests sent is counted and asserted (at least 1,000).
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from sightline.api.context import AppContext
from sightline.api.deps import current_principal
from sightline.api.factory import build_app
from tests.integration.api.api_helpers import PRINCIPALS, FakeTasks, add_users, make_event, store_event

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}  # per operation
MIN_REQUESTS = 1000
# Streams that never end by themselves (SSE) cannot be fuzzed request/response.
SKIP_PATHS = ("/api/live/",)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    ctx = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'sightline.db'}")
    ctx.blobs.fsync = False
    add_users(ctx)
    ctx.tasks = FakeTasks()
    for i in range(3):
        store_event(ctx, make_event(i))
    application = build_app(ctx)
    application.dependency_overrides[current_principal] = lambda: PRINCIPALS["admin"]
    yield application
    ctx.db.dispose()


def _fuzzer(strategy: object, examples: int, count: Callable[[], None]) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        count()
        response = case.call()
        case.validate_response(response, checks=CHECKS)

    return fuzz  # type: ignore[no-any-return]


@pytest.mark.slow
def test_fuzz_every_operation_no_5xx_and_schema_conformant(
    app: FastAPI, measure: Callable[..., None]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if operation.path.startswith(SKIP_PATHS):
            continue

        for mode, examples in EXAMPLES.items():
            # Negative: bodies, queries and path parameters that violate the schema (must be 4xx).
            fuzz = _fuzzer(operation.as_strategy(mode), examples, lambda key=label: sent.update([key]))
            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect all, then report
                if isinstance(exc, Unsatisfiable):
                    continue  # nothing to generate in this mode (e.g. no parameters to break)
                failures[f"{label} ({mode.value})"] = "".join(traceback.format_exception(exc))[-3000:]

    total = sum(sent.values())
    measure("fuzzed_requests", total, f"over {len(sent)} operations")
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    assert total >= MIN_REQUESTS, f"only {total} generated requests"
