"""The platform's FastAPI app: every router, on one AppContext."""

from __future__ import annotations

from fastapi import FastAPI

from sightline import __version__
from sightline.api.context import AppContext
from sightline.api.routers import ROUTERS


def build_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        title="Sightline",
        version=__version__,
        description="Cameras, analysis tasks, events, review and delivery. Sign in at POST /api/auth/login.",
    )
    app.state.ctx = ctx
    for router in ROUTERS:
        app.include_router(router)
    return app
