"""The seam between the Results API and the report engine (``callboard.reports``).

Request resolution and validation belong to the engine; this module only decides *what* is resolved
for a workspace (its time zone as the default, a saved report's fields under the request's) and turns
the engine's ``RequestError`` into a 400 naming the offending part and the valid choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from callboard.service.errors import BadRequest
from callboard.settings import Settings
from callboard.store.models import SavedReport, Workspace


def request_error(exc: Any) -> BadRequest:
    """``RequestError(.part, .message, .choices)`` → BadRequest with one description per detail."""
    part = getattr(exc, "part", None)
    message = getattr(exc, "message", None) or str(exc)
    choices = list(getattr(exc, "choices", None) or [])
    details: list[dict[str, Any]] = [{"description": f"{part}: {message}" if part else message, "field": part}]
    if choices:
        shown = ", ".join(str(c) for c in choices[:200])
        details.append({"description": f"Valid choices: {shown}.", "field": part})
    return BadRequest(f"Invalid request: {part + ': ' if part else ''}{message}", details)


def merged_body(body: Mapping[str, Any], report: SavedReport | None) -> dict[str, Any]:
    """The request fields of a run: the saved report's defaults, overridden by the posted body."""
    if report is None:
        return dict(body)
    named = body.get("reportTemplateName")
    if named is not None and named != report.template:
        raise BadRequest(
            f"reportTemplateName: this saved report runs {report.template!r}, not {named!r}.",
            [{"description": "Omit reportTemplateName, or post an ad-hoc request to /workspaces/{ws}/requests.",
              "field": "reportTemplateName"}],
        )
    return {**(report.defaults or {}), **body, "reportTemplateName": report.template}


def resolve(
    settings: Settings,
    workspace: Workspace,
    body: Mapping[str, Any],
    *,
    report: SavedReport | None = None,
    now: datetime | None = None,
) -> Any:
    """A ``ResolvedRequest`` for ``body`` run in ``workspace``, or :class:`BadRequest`."""
    from callboard.reports.request import RequestError, resolve_request

    if not isinstance(body, Mapping):
        raise BadRequest("The request body must be a JSON object of request fields.")
    merged = merged_body(body, report)
    try:
        return resolve_request(
            merged,
            now=now,
            defaults={"timeZoneId": workspace.time_zone},
            settle_lag=timedelta(minutes=settings.settle_lag_minutes),
        )
    except RequestError as exc:
        raise request_error(exc) from None
