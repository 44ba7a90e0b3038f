"""One module per resource; each exports ``router``. The list below is the
one place that decides what the API serves."""

from fastapi import APIRouter

from sightline.api.routers import (
    auth,
    cameras,
    error_library,
    events,
    hazards,
    images,
    live,
    stats,
    strategies,
    subscriptions,
    system,
    tasks,
    ui,
    users,
    videos,
)

ROUTERS: list[APIRouter] = [
    system.router,
    auth.router,
    users.router,
    cameras.router,
    tasks.router,
    videos.router,
    images.router,
    events.router,
    hazards.router,
    stats.router,
    strategies.router,
    error_library.router,
    subscriptions.router,
    live.router,
    ui.router,  # last: it serves / and /ui/...
]
