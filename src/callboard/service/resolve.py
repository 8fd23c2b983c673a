"""Resolving a posted request for a workspace: the seam between the Results API and the reports
(``callboard.reports.request``).

Request resolution and validation belong to the reports; this module only decides *what* is
resolved for a workspace (its time zone under a saved report's fields, under the posted body) and
turns a ``RequestError`` into a 400 naming the offending part and the valid choices.

A queued request is stored as its *inputs* (body, defaults, reference time, settle lag) -- its
*spec* --, not as the in-memory resolution: the worker resolves the spec again, which is
deterministic, so the run sees exactly the period and filters that were validated and echoed at
submission.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from callboard.reports.request import RequestError, ResolvedRequest, resolve_request
from callboard.service.errors import BadRequest
from callboard.settings import Settings
from callboard.store.models import SavedReport, Workspace

SPEC_VERSION = 1


def request_error(exc: RequestError) -> BadRequest:
    """``RequestError(.part, .message, .choices)`` → BadRequest with one description per detail."""
    part = getattr(exc, "part", None)
    message = getattr(exc, "message", None) or str(exc)
    choices = list(getattr(exc, "choices", None) or [])
    details: list[dict[str, Any]] = [{"description": f"{part}: {message}" if part else message, "field": part}]
    if choices:
        shown = ", ".join(str(c) for c in choices[:200])
        details.append({"description": f"Valid choices: {shown}.", "field": part})
    return BadRequest(f"Invalid request: {part + ': ' if part else ''}{message}", details)


def defaults_for(workspace: Workspace, report: SavedReport | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """What the posted body is laid over: the workspace's time zone, then the saved report."""
    defaults: dict[str, Any] = {"timeZoneId": workspace.time_zone}
    if report is not None:
        named = body.get("reportTemplateName")
        if named is not None and named != report.template:
            raise BadRequest(
                f"reportTemplateName: this saved report runs {report.template!r}, not {named!r}.",
                [{"description": "Omit reportTemplateName, or post an ad-hoc request to "
                                 "/workspaces/{ws}/requests.", "field": "reportTemplateName"}],
            )
        defaults.update(report.defaults or {})
        defaults["reportTemplateName"] = report.template
    return defaults


def resolve(
    settings: Settings,
    workspace: Workspace,
    body: Mapping[str, Any],
    *,
    report: SavedReport | None = None,
    now: datetime | None = None,
) -> tuple[ResolvedRequest, dict[str, Any]]:
    """Validate ``body`` for ``workspace``: its ``ResolvedRequest`` and the stored spec that
    reproduces it (:func:`from_spec`), or :class:`BadRequest`."""
    if not isinstance(body, Mapping):
        raise BadRequest("The request body must be a JSON object of request fields.")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    spec = {
        "version": SPEC_VERSION,
        "body": dict(body),
        "defaults": defaults_for(workspace, report, body),
        "reference": now.isoformat(),
        "settleLagMinutes": settings.settle_lag_minutes,
    }
    req = from_spec(spec)
    wire = req.request
    spec.update(priorityLevel=int(wire.priorityLevel), pageSize=int(wire.pageSize), rowLimit=int(wire.rowLimit),
                reportTemplateName=req.template.name)
    return req, spec


def from_spec(spec: Mapping[str, Any]) -> ResolvedRequest:
    """The ``ResolvedRequest`` of a stored spec (:class:`BadRequest` if it no longer resolves)."""
    try:
        return resolve_request(
            spec["body"],
            now=datetime.fromisoformat(spec["reference"]),
            defaults=spec["defaults"],
            settle_lag=timedelta(minutes=spec["settleLagMinutes"]),
        )
    except RequestError as exc:
        raise request_error(exc) from None
