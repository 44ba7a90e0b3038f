"""The platform's FastAPI app: every router, on one AppContext."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sightline import __version__
from sightline.api.context import AppContext
from sightline.api.routers import ROUTERS
from sightline.api.routers.system import install_api_hooks
from sightline.auth.passwords import PasswordCheckBusy
from sightline.auth.service import install_auth
from sightline.security.cors import install_cors


def build_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        title="Sightline",
        version=__version__,
        description="Cameras, analysis tasks, events, review and delivery. Sign in at POST /api/auth/login.",
    )
    app.state.ctx = ctx
    install_auth(app)
    install_api_hooks(app)
    install_cors(app)  # no-op unless SIGHTLINE_CORS_ORIGINS lists origins
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(PasswordCheckBusy, _password_check_busy)
    return app


async def _password_check_busy(request: Request, exc: Exception) -> JSONResponse:
    # Any route that hashes or checks a password (sign-in, password change, new users).
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})
