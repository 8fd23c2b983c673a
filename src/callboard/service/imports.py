"""Importing CDR files into a workspace: read with the format's importer, then one atomic append."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from callboard.settings import Settings
from callboard.sources import read_source
from callboard.sources.base import Input
from callboard.warehouse.store import AppendResult, Warehouse


def open_warehouse(settings: Settings) -> Warehouse:
    """The calls warehouse of a deployment (DuckDB file in the data folder unless configured)."""
    return Warehouse.connect(settings.engine, data_dir=settings.data_dir)


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
    return warehouse.append(workspace_id, segments)


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
