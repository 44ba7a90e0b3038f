"""Building blocks shared by the request and response models.

Why a module of small types: every request body is ``extra="forbid"`` (a
misspelt key is an error, never silently ignored), every id in a URL has the
same shape, and no free text may carry a NUL character (PostgreSQL refuses it,
which would surface as a 500 instead of a clear 422). Defining these once
keeps the 30-odd request fields consistent and the OpenAPI schema honest.

Errors the routers detect themselves (a bad ``bbox``, an unknown event type in
a query) are raised with :func:`unprocessable`, which produces exactly the
body FastAPI uses for its own validation errors, so clients parse one shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from sightline.api.context import AppContext
from sightline.api.deps import Principal, get_ctx, require_roles

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
#: Ids in URL paths: anything printable up to 64 characters (ids created
#: through the API are slugs, ids from YAML configs may be looser).
PATH_ID_PATTERN = r"^[^\x00-\x1f\x7f/]{1,64}$"


def _one_line(value: str) -> str:
    if _CONTROL_ONE_LINE.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters other than newlines and tabs")
    return value


#: A short one-line label (names, titles, regions).
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_one_line)
]
#: An optional short label; blank becomes ``None``.
OptionalLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_one_line)
]
#: Free text (notes, descriptions, comments).
Note = Annotated[str, StringConstraints(max_length=5000), AfterValidator(_multi_line)]
#: An id created through the API: lower-case letters, digits, '-' and '_'.
Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=SLUG_PATTERN),
    Field(description="lower-case letters, digits, '-' and '_', at most 64, starting with a letter or digit"),
]
#: A free-form query parameter (keyword, filter value, cursor): one line, bounded.
QueryText = Annotated[str, StringConstraints(max_length=512), AfterValidator(_one_line)]
#: A reference to an existing id (camera, user): printable, up to 64 characters.
IdRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_one_line)
]


class RequestModel(BaseModel):
    """Base of every request body: unknown keys are errors, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Message(BaseModel):
    """A plain acknowledgement."""

    detail: str


def unprocessable(loc: Sequence[str | int], msg: str, input_value: Any = None) -> HTTPException:
    """A 422 with the same body shape as FastAPI's own validation errors."""
    return HTTPException(
        422, detail=[{"type": "value_error", "loc": list(loc), "msg": msg, "input": input_value}]
    )


def finite_json(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by their names (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes | bytearray):  # a body that is not UTF-8 (e.g. a form upload)
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


async def validation_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body, but safe for inputs JSON cannot carry back.

    Python's JSON parser accepts ``NaN`` and ``Infinity`` in a request; the
    default handler echoes them in ``input`` and then fails to encode its own
    answer (a 500). Here they come back as strings, and so do raw bodies that
    are not UTF-8 (a multipart upload sent to a JSON route was a 500 too)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(finite_json(errors))})


def check_storable(value: Any, where: str = "") -> None:
    """``ValueError`` naming the first NaN, infinity or NUL character inside
    ``value`` (nested dicts and lists): JSON columns on PostgreSQL refuse them,
    which would otherwise surface as a 500 long after validation."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where or 'value'} is {value}; use a finite number")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where or 'value'} contains a NUL character")
    if isinstance(value, dict):
        for k, v in value.items():
            check_storable(str(k), f"{where} (a key)" if where else "a key")
            check_storable(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_storable(v, f"{where}[{i}]")


# -- FastAPI parameter aliases (``Annotated`` style: no calls in argument defaults) --------
#: The app context.
Ctx = Annotated[AppContext, Depends(get_ctx)]
#: The caller, admitted with at least the named role.
Viewer = Annotated[Principal, Depends(require_roles("viewer"))]
Reviewer = Annotated[Principal, Depends(require_roles("reviewer"))]
Operator = Annotated[Principal, Depends(require_roles("operator"))]


__all__ = [
    "PATH_ID_PATTERN",
    "QueryText",
    "Ctx",
    "Operator",
    "Reviewer",
    "Viewer",
    "SLUG_PATTERN",
    "check_storable",
    "finite_json",
    "validation_exception_handler",
    "IdRef",
    "Label",
    "Message",
    "Note",
    "OptionalLabel",
    "RequestModel",
    "Slug",
    "unprocessable",
]
