"""One error shape everywhere, a tracking id on every answer, and a cap on body size.

Every response carries a ``TrackingID`` header (the client's own, when it sent a sane one, as Webex
clients do) that also appears in the access log line and in error bodies, so a user's report of a
failure can be matched to the log. Errors are ``{"message", "errors": [{"description"}],
"trackingId"}``; no stack trace ever reaches a client, and bad input is always a 4xx.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callboard.service.errors import PayloadTooLarge, ServiceError
from callboard.service.schemas import ErrorBody

log = logging.getLogger("callboard.api")

TRACKING_HEADER = "TrackingID"
_SANE_TRACKING = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")

# Error answers documented on every route of the OpenAPI description.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input: malformed JSON, wrong types, unknown fields."},
    401: {"model": ErrorBody, "description": "Missing, unknown or expired token."},
    403: {"model": ErrorBody, "description": "The token lacks the scope this operation needs."},
    404: {"model": ErrorBody, "description": "Not found (or belongs to another tenant)."},
    413: {"model": ErrorBody, "description": "Body larger than the configured maximum."},
    429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After."},
}


def tracking_id(request: Request) -> str:
    return str(getattr(request.state, "trackingId", "") or "")


def error_body(tracking: str, status: int, message: str,
               errors: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    items = [{k: v for k, v in e.items() if v is not None} for e in (errors or [])] or [{"description": message}]
    for item in items:
        item.setdefault("description", message)
    return {"message": message, "errors": items, "trackingId": tracking}


def error_response(request: Request, status: int, message: str,
                   errors: Sequence[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    tid = tracking_id(request)
    return JSONResponse(error_body(tid, status, message, errors), status_code=status, headers=headers)


def _validation_description(err: dict[str, Any]) -> dict[str, Any]:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
    where = ".".join(loc)
    kind = err.get("type", "")
    if kind == "json_invalid":
        ctx = err.get("ctx") or {}
        return {"description": f"Malformed JSON: {ctx.get('error', err.get('msg', 'cannot be parsed'))}"}
    if kind == "extra_forbidden":
        return {"description": f"Unknown field {where!r}.", "field": where}
    msg = err.get("msg", "invalid value")
    return {"description": f"{where}: {msg}" if where else msg, "field": where or None}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this request's path (for ``Allow`` on a 405).

    The router answers a 405 from the first route whose path matched, so its ``Allow`` names that
    route's methods only; a path served by several routes (``GET`` and ``POST`` of a list) needs them
    all. Each method is tried against the routing table as it stands (included routers too): a route
    that fully matches the path with that method answers it. A mount of static files matches any
    method and answers ``GET`` and ``HEAD``.
    """
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles) and route.matches(request.scope)[0] != Match.NONE:
                allowed |= {"GET", "HEAD"}
            continue
        for method in _METHODS:
            if method not in allowed and route.matches({**request.scope, "method": method})[0] == Match.FULL:
                allowed.add(method)
    return [m for m in _METHODS if m in allowed]


def install(app: FastAPI) -> None:
    """Register the exception handlers and the tracking/size middleware on ``app``."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(request, exc.status, exc.message, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_validation_description(e) for e in exc.errors()]
        if any(e["description"].startswith("Malformed JSON") for e in errors):
            return error_response(request, 400, "The body is not valid JSON.", errors)
        return error_response(request, 400, "The request is not valid: " + errors[0]["description"], errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ServiceError):  # raised while FastAPI read the body
            cause = exc.__cause__
            return error_response(request, cause.status, cause.message, cause.errors, cause.headers)
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = f"No such resource: {request.url.path}"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            message = f"Method {request.method} is not allowed on {request.url.path}."
            if allowed := allowed_methods(request):
                headers["Allow"] = ", ".join(allowed)
        return error_response(request, exc.status_code, message, headers=headers or None)

    settings = app.state.ctx.settings

    def body_limit(scope: Scope) -> tuple[int, str]:
        path = str(scope.get("path", ""))
        if any(scope.get("method") == method and pattern.search(path) for method, pattern in LARGE_BODY_ROUTES):
            return settings.max_body_bytes, "CALLBOARD_MAX_BODY_BYTES"
        if settings.max_body_bytes < settings.max_json_body_bytes:  # the overall cap holds on every route
            return settings.max_body_bytes, "CALLBOARD_MAX_BODY_BYTES"
        return settings.max_json_body_bytes, ("CALLBOARD_MAX_JSON_BODY_BYTES for this route; only call-record "
                                              "ingest takes larger bodies")

    app.add_middleware(TrackingMiddleware, body_limit=body_limit)


# Routes whose bodies may be as large as CALLBOARD_MAX_BODY_BYTES (call-record batches); every other
# body is JSON of a few KB, capped at CALLBOARD_MAX_JSON_BODY_BYTES (docs/api.md, "Request limits").
LARGE_BODY_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("POST", re.compile(r"/workspaces/[^/]+/calls/?$")),
)


class TrackingMiddleware:
    """Pure ASGI (so streaming responses stay streams): tracking id, access log, body cap, and a
    last-resort 500 that carries the tracking id but never the exception text. ``body_limit(scope)``
    gives a route's largest body and the setting that sets it: a larger one is refused with 413 from
    its Content-Length before a byte is read, or (chunked) as soon as the bytes read pass it."""

    def __init__(self, app: ASGIApp, *, body_limit: Callable[[Scope], tuple[int, str]]) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get(TRACKING_HEADER.lower(), "")
        tid = given if _SANE_TRACKING.match(given) else f"CB_{uuid.uuid4()}"
        scope.setdefault("state", {})["trackingId"] = tid
        started = time.perf_counter()
        status_holder = {"status": 0, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"trackingid"]
                raw.append((TRACKING_HEADER.encode(), tid.encode("latin-1")))
                message = {**message, "headers": raw}
            await send(message)

        async def reply(status: int, message: str) -> None:
            body = JSONResponse(error_body(tid, status, message), status_code=status)
            await body(scope, receive, send_with_id)

        length = headers.get("content-length")
        limit, setting = self.body_limit(scope)
        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                if length.isdigit():
                    await reply(413, f"Body of {int(length)} bytes exceeds the limit of {limit} bytes ({setting}).")
                else:
                    await reply(400, "Invalid Content-Length header.")
                return
            received = 0

            async def capped_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise PayloadTooLarge(f"Body exceeds the limit of {limit} bytes ({setting}).")
                return message

            await self.app(scope, capped_receive, send_with_id)
        except PayloadTooLarge as exc:
            if not status_holder["started"]:
                await reply(413, exc.message)
        except Exception:
            log.exception("unhandled error trackingId=%s", tid)
            if not status_holder["started"]:
                await reply(500, "Internal error; quote the trackingId when reporting it.")
        finally:
            log.info("%s %s %s %.1fms trackingId=%s", scope.get("method"), scope.get("path"),
                     status_holder["status"] or "-", (time.perf_counter() - started) * 1000, tid)
