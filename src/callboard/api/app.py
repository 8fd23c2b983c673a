"""The application factory: ``create_app(settings)`` wires the store, the warehouse, the routers,
the error handling and (when the app runs under a server) the in-process report workers."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from callboard.api import errors
from callboard.api.context import AppContext
from callboard.api.routes import calls, health, requests, saved_reports, templates, tenants, webex, workspaces
from callboard.service.admin import bootstrap_admin_token
from callboard.service.auth import RateLimiter
from callboard.service.imports import open_warehouse
from callboard.settings import Settings
from callboard.store.db import Database

log = logging.getLogger("callboard.api")
API_PREFIX = "/api/v1.0"


def _operation_id(route: APIRoute) -> str:
    return route.operation_id or f"{route.tags[0] if route.tags else 'api'}-{route.name}"


def create_app(
    settings: Settings | None = None,
    *,
    warehouse: Any = None,
    workers: int | None = None,
    announce: bool = True,
) -> FastAPI:
    """Build the API for one deployment.

    ``warehouse`` defaults to the one configured by ``settings.engine``; ``workers`` (default
    ``settings.workers``) report workers start with the app's lifespan and stop with it. On the first
    start of an empty data folder without ``CALLBOARD_ADMIN_TOKEN``, a system administrator token is
    created and printed once (``announce``).
    """
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.metadata_url)
    if warehouse is None:
        warehouse = open_warehouse(settings)
    ctx = AppContext(settings=settings, db=db, warehouse=warehouse,
                     limiter=RateLimiter(settings.rate_limit_per_minute))
    first_token = bootstrap_admin_token(db, settings)
    if first_token and announce:
        print(
            "callboard: created the system administrator token (shown only now; it manages tenants "
            f"and their tokens):\n{first_token}",
            file=sys.stderr,
            flush=True,
        )
    worker_count = settings.workers if workers is None else workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.start_workers(worker_count)
        try:
            yield
        finally:
            ctx.stop_workers()

    app = FastAPI(
        title="callboard",
        version="1.0",
        summary="Self-hosted call reporting: the Results API (seed 000).",
        description="Results API: workspaces, saved reports, report requests and their results. "
        "Authenticate with `Authorization: Bearer <token>`. Errors are "
        '`{"message", "errors": [{"description"}], "trackingId"}`.',
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.ctx = ctx
    app.state.first_admin_token = first_token
    errors.install(app)
    app.include_router(health.router)
    for module in (tenants, workspaces, templates, saved_reports, requests, calls):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(health.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(webex.router)  # Webex-compatible Reports API under /v1 (docs/webex.md)
    return app
