"""The application factory: ``create_app(settings)`` wires the store, the warehouse, the routers,
the error handling and (when the app runs under a server) the in-process report workers."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from callboard.api import errors
from callboard.api.context import AppContext
from callboard.api.routes import calls, health, requests, saved_reports, templates, tenants, webex, workspaces
from callboard.api.routes.admin_backup import router as admin_backup_router
from callboard.service import local_server
from callboard.service.admin import bootstrap_admin_token
from callboard.service.imports import open_warehouse
from callboard.service.rate_limits import Limiter, RateLimiter, SharedRateLimiter
from callboard.service.worker import PRIVATE_DIR, recover
from callboard.settings import Settings
from callboard.store.db import Database
from callboard.webex.service import recover_renders

log = logging.getLogger("callboard.api")
API_PREFIX = "/api/v1.0"
# Swagger UI and ReDoc ship inside the package (static/, see its README.md): /docs works offline.
STATIC_DIR = Path(__file__).parent / "static"
DOCS_STATIC = "/docs/static"
# ReDoc's sidebar shows an attribution logo from its vendor's CDN (an <img> that hides itself when it
# cannot load): images from this server only, so the pages never reach out, online or not.
DOCS_HEADERS = {"Content-Security-Policy": "img-src 'self' data:"}
def _operation_id(route: APIRoute) -> str:
    return route.operation_id or f"{route.tags[0] if route.tags else 'api'}-{route.name}"


def _install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` from the packaged assets, with same-origin URLs only
    (prefixed with the ASGI ``root_path`` when served under one)."""
    app.mount(DOCS_STATIC, StaticFiles(directory=STATIC_DIR), name="docs-static")

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = base(request)
        page = get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} – Swagger UI",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/swagger-ui/favicon-32x32.png",
            # no call to swagger.io's validator: the page makes requests to this server only
            swagger_ui_parameters={"validatorUrl": None},
        )
        return HTMLResponse(page.body, headers=DOCS_HEADERS)

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = base(request)
        page = get_redoc_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} – ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_STATIC}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
        return HTMLResponse(page.body, headers=DOCS_HEADERS)


def _install_openapi(app: FastAPI) -> None:
    """Add the models that describe bodies the routes read untyped (``webex.OPENAPI_MODELS``) to the
    document's components, where their requestBody ``$ref`` points."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in webex.OPENAPI_MODELS:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None,
    *,
    warehouse: Any = None,
    workers: int | None = None,
    announce: bool = True,
    local_url: str | None = None,
) -> FastAPI:
    """Build the API for one deployment.

    ``warehouse`` defaults to the one configured by ``settings.engine``; ``workers`` (default
    ``settings.workers``) report workers start with the app's lifespan and stop with it. On the first
    start of an empty data folder without ``CALLBOARD_ADMIN_TOKEN``, a system administrator token is
    created and printed once (``announce``). ``local_url``: the address this process serves at, for
    the command line on this machine; while the app runs it is announced in ``data_dir/server.json``
    with a local credential drawn now (``service.local_server``).
    """
    settings = settings or Settings()
    settings.data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    settings.results_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    db = Database(settings.metadata_url)
    if warehouse is None:
        warehouse = open_warehouse(settings)
    # Several API processes share a PostgreSQL store, so they share its rate-limit table; a SQLite
    # store is one machine's, where counting in each process's memory costs no round trip.
    limiter: Limiter = (SharedRateLimiter(db, settings.rate_limit_per_minute) if db.dialect == "postgresql"
                        else RateLimiter(settings.rate_limit_per_minute))
    ctx = AppContext(settings=settings, db=db, warehouse=warehouse, limiter=limiter)
    first_token = bootstrap_admin_token(db, settings)
    if first_token and announce:
        print(
            "callboard: created the system administrator token (shown only now; it manages tenants "
            f"and their tokens):\n{first_token}",
            file=sys.stderr,
            flush=True,
        )
    worker_count = settings.workers if workers is None else workers
    local_credential = local_server.new_credential() if local_url else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # what a previous process of this host left running is queued again before workers start
        recover(settings, db)
        recover_renders(db, settings)
        ctx.start_workers(worker_count)
        announced = None
        try:
            if local_url and local_credential:  # served: the command line on this machine comes here meanwhile
                announced = local_server.announce(settings, local_url, local_credential)
            yield
        finally:
            if announced and local_credential:  # first: the command line no longer comes here
                local_server.withdraw(announced, local_credential)
            ctx.stop_workers()

    app = FastAPI(
        title="callboard",
        version="1.0",
        summary="Self-hosted call reporting: the Results API (seed 000) and a Webex-compatible Reports API.",
        description="Results API (`/api/v1.0`): workspaces, saved reports, report requests and their results. "
        "Webex-compatible Reports API (`/v1`): templates, reports, zipped CSV downloads. "
        "Authenticate with `Authorization: Bearer <token>` (here: **Authorize**, then every "
        "\"Try it out\" sends it). Errors are "
        '`{"message", "errors": [{"description"}], "trackingId"}`.',
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served by _install_docs from the packaged assets instead of a CDN
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.local_credential = local_credential  # accepted by api.deps.current_principal
    app.state.first_admin_token = first_token
    # added before errors.install, so it runs inside the tracking middleware that answers its 413
    errors.install(app)
    app.include_router(health.router)
    for module in (tenants, workspaces, templates, saved_reports, requests, calls):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(admin_backup_router, prefix=API_PREFIX)  # POST /admin/backup (docs/deployment.md)
    app.include_router(health.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(webex.router)  # Webex-compatible Reports API under /v1 (docs/webex.md)
    _install_docs(app)
    _install_openapi(app)
    return app
