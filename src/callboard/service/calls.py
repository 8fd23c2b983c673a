"""Ingest over HTTP: one body is one atomic batch (every row stored, or none with the bad rows listed)."""

from __future__ import annotations

from typing import Any

from callboard.service.errors import BadRequest, Unprocessable, UnsupportedMediaType
from callboard.service.imports import import_data
from callboard.service.tenancy import check_time_zone
from callboard.sources import FORMATS, SourceError, UnknownFormat
from callboard.store.models import Workspace
from callboard.warehouse import AppendResult

# Encodings of the canonical format, also accepted as ?format= for convenience (``?format=parquet``).
CANONICAL_ENCODINGS = ("json", "ndjson", "csv", "parquet")
# What a canonical body may be labelled as; generic labels leave the importer to sniff the content.
CANONICAL_MEDIA_TYPES = ("application/json", "application/x-ndjson", "application/ndjson", "application/jsonl",
                         "text/csv", "application/vnd.apache.parquet", "application/x-parquet",
                         "application/octet-stream", "text/plain")


def ingest(
    warehouse: Any,
    workspace: Workspace,
    body: bytes,
    *,
    fmt: str = "canonical",
    time_zone: str | None = None,
    content_type: str | None = None,
    encoding: str | None = None,
) -> AppendResult:
    """Read ``body`` in source format ``fmt`` and append it to the workspace's calls."""
    fmt = (fmt or "canonical").strip().lower()
    if fmt in CANONICAL_ENCODINGS:
        fmt, encoding = "canonical", encoding or fmt
    if fmt not in FORMATS:
        raise BadRequest(f"Unknown format {fmt!r}.",
                         [f"Valid formats: {', '.join([*FORMATS, *CANONICAL_ENCODINGS])}."])
    if time_zone is not None:
        time_zone = check_time_zone(time_zone, "timeZone")  # the query parameter's name
    if not body:
        raise BadRequest("The body is empty: send the call records to store.")
    media = (content_type or "").split(";")[0].strip().lower()
    if fmt == "canonical" and not encoding and media and media not in CANONICAL_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {media!r} is not a canonical encoding.",
            [f"Send one of {', '.join(CANONICAL_MEDIA_TYPES)}, or name the encoding with ?encoding=json|ndjson|csv|"
             "parquet, or the source format with ?format=."],
        )
    options = {"encoding": encoding} if encoding else None
    try:
        return import_data(warehouse, str(workspace.id), body, fmt, source="body", time_zone=time_zone,
                           options=options, content_type=content_type)
    except UnknownFormat as exc:
        raise BadRequest(str(exc)) from None
    except SourceError as exc:
        errors = [
            {"description": _describe(e.row, e.column, e.reason), "row": e.row, "field": e.column}
            for e in exc.errors
        ]
        # Rows that could be read but are wrong: 422. A body that cannot be read at all: 400.
        if any(e.row is not None for e in exc.errors):
            raise Unprocessable(f"{len(exc.errors)} bad row(s); nothing was stored.", errors) from None
        raise BadRequest("The body could not be read; nothing was stored.", errors) from None


def _describe(row: int | None, column: str | None, reason: str) -> str:
    where = []
    if row is not None:
        where.append(f"row {row}")
    if column:
        where.append(f"field {column!r}")
    return f"{', '.join(where)}: {reason}" if where else reason
