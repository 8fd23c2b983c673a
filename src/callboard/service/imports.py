"""Importing CDR files into a workspace: read with the format's importer, then one atomic append."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from callboard.service.admin import open_store
from callboard.settings import Settings
from callboard.sources import derives_call_flags, read_source
from callboard.sources.base import Input
from callboard.store.models import Workspace
from callboard.warehouse import AppendResult, Warehouse, connect


def open_warehouse(settings: Settings) -> Warehouse:
    """The calls warehouse of a deployment (DuckDB file in the data folder unless configured; an
    embedded DuckDB capped at ``memory_limit``, spilling to ``data_dir/tmp``, on ``engine_threads``)."""
    return connect(settings.engine, data_dir=settings.data_dir, memory_limit=settings.memory_limit,
                   threads=settings.engine_threads)


def import_data(
    warehouse: Warehouse,
    workspace_id: str,
    data: Input,
    fmt: str,
    *,
    source: str | None = None,
    time_zone: str | None = None,
    options: Mapping[str, str] | None = None,
    content_type: str | None = None,
) -> AppendResult:
    """Read one file/body and store it whole; raises ``SourceError`` (nothing stored) on bad rows."""
    segments = read_source(fmt, data, source=source, time_zone=time_zone, options=options,
                           content_type=content_type)
    return warehouse.append(workspace_id, segments, derive_call_flags=derives_call_flags(fmt))


def import_file(
    settings: Settings,
    workspace_id: str,
    path: Path,
    fmt: str,
    *,
    time_zone: str | None = None,
    options: Mapping[str, str] | None = None,
) -> AppendResult:
    warehouse = open_warehouse(settings)
    try:
        return import_data(warehouse, workspace_id, path, fmt, source=str(path), time_zone=time_zone,
                           options=options)
    finally:
        warehouse.close()


@dataclass(frozen=True)
class WorkspaceRef:
    id: str
    name: str
    time_zone: str


def find_workspace(settings: Settings, text: str) -> WorkspaceRef:
    """A workspace by id, or by name when exactly one workspace has it (LookupError otherwise)."""
    db = open_store(settings)
    try:
        with db.session() as session:
            found: list[Workspace] = []
            try:
                ws = session.get(Workspace, uuid.UUID(text))
                found = [ws] if ws else []
            except ValueError:
                pass
            if not found:
                found = list(session.scalars(select(Workspace).where(Workspace.name == text)))
            if len(found) != 1:
                reason = "no workspace has" if not found else f"{len(found)} workspaces have"
                raise LookupError(
                    f"--workspace {text!r}: {reason} that id or name; list them with the API "
                    "(GET /api/v1.0/workspaces) or create one with `callboard workspace create`"
                )
            ws = found[0]
            return WorkspaceRef(str(ws.id), ws.name, ws.time_zone)
    finally:
        db.dispose()


def resolve_workspace_id(settings: Settings, text: str) -> str:
    return find_workspace(settings, text).id
