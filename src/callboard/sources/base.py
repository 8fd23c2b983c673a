"""What every importer shares: the error type and the step that turns mapped columns into canonical
segments (defaults, derived ``docId``/``connId``, exact Arrow types).

An importer reads one file (or request body) into a single Arrow table of canonical segments; that
table is the atomic unit the warehouse stores. Any bad row raises :class:`SourceError` listing every
bad row found, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from callboard.calls.schema import CALL_FIELDS, EXTRA_FIELD, NUMERIC_DEFAULTS, SEGMENT_SCHEMA

MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class RowError:
    """One bad input row. ``row`` is 1-based and counts data rows (a CSV header is row 0)."""

    row: int | None
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.column, "reason": self.reason}


@dataclass
class SourceError(Exception):
    """The input cannot be imported; nothing of it is stored."""

    source: str
    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        shown = "; ".join(
            f"row {e.row}" * (e.row is not None)
            + (f", column {e.column!r}" if e.column else "")
            + f": {e.reason}"
            for e in self.errors[:5]
        )
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        return f"{self.source}: {shown}{more}"


Input = Path | str | bytes | IO[bytes]


def read_bytes(data: Input) -> bytes:
    """The raw bytes of a path, a byte string or a binary stream."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (str, Path)):
        return Path(data).read_bytes()
    return data.read()


def source_label(data: Input, fallback: str = "<body>") -> str:
    if isinstance(data, (str, Path)):
        return str(data)
    return getattr(data, "name", fallback) if not isinstance(data, bytes) else fallback


def _content_hash_ids(table: pa.Table, key_columns: Sequence[str]) -> pa.Array:
    """Deterministic ids from the listed columns, computed in DuckDB (no Python loop over rows)."""
    con = duckdb.connect()
    try:
        con.register("t", table)
        parts = ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '\x1f')" for c in key_columns)
        result = con.sql(f"SELECT md5(concat_ws('\x1e', {parts})) AS id FROM t").to_arrow_table()
        return result.column("id").combine_chunks()
    finally:
        con.close()


def finish_segments(
    columns: Mapping[str, pa.Array | Sequence[Any]],
    *,
    doc_id_from: Sequence[str] | None = None,
) -> pa.Table:
    """Build a table of :data:`SEGMENT_SCHEMA` from mapped columns.

    Missing fields become null (strings) or 0 (flags, ring, duration); a missing ``docId`` is
    derived from ``doc_id_from`` columns (the source's record key) or, failing that, from the whole
    record's content; a missing ``connId`` makes the segment a call of its own (``connId = docId``).
    Columns must already hold values of the right kind; ``start`` must be UTC.
    """
    n = None
    arrays: dict[str, pa.Array] = {}
    for f in SEGMENT_SCHEMA:
        if f.name in columns and columns[f.name] is not None:
            value = columns[f.name]
            arr = value if isinstance(value, (pa.Array, pa.ChunkedArray)) else pa.array(value, type=f.type)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            if arr.type != f.type:
                arr = arr.cast(f.type)
            arrays[f.name] = arr
            n = len(arr) if n is None else n
            if len(arr) != n:
                raise ValueError(f"column {f.name} has {len(arr)} values, expected {n}")
    if n is None:
        raise ValueError("no columns given")
    for name, default in NUMERIC_DEFAULTS.items():
        if name in arrays:
            arrays[name] = pc.fill_null(arrays[name], pa.scalar(default, SEGMENT_SCHEMA.field(name).type))
        else:
            arrays[name] = pa.array([default] * n, SEGMENT_SCHEMA.field(name).type)
    for f in SEGMENT_SCHEMA:
        if f.name not in arrays:
            arrays[f.name] = pa.nulls(n, f.type)
    table = pa.table([arrays[f.name] for f in SEGMENT_SCHEMA], schema=SEGMENT_SCHEMA)

    doc = table.column("docId")
    if doc.null_count:
        key = list(doc_id_from or [f.name for f in CALL_FIELDS if f.name != "docId"] + [EXTRA_FIELD])
        derived = _content_hash_ids(table, key)
        table = table.set_column(0, "docId", pc.coalesce(doc.combine_chunks(), derived))
    conn = table.column("connId")
    if conn.null_count:
        idx = table.schema.get_field_index("connId")
        filled = pc.coalesce(conn.combine_chunks(), table.column("docId").combine_chunks())
        table = table.set_column(idx, "connId", filled)
    return table


def check_no_errors(source: str, errors: list[RowError]) -> None:
    if errors:
        raise SourceError(source, errors[:MAX_REPORTED_ERRORS])
