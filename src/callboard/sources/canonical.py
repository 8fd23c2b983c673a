"""Canonical call records (SPEC §1) as JSON, NDJSON, CSV or Parquet.

The CSV and Parquet paths are columnar end to end (pyarrow.csv / pyarrow.parquet + pyarrow.compute):
ingest must reach 500,000 rows/s (SPEC §7), so there is no Python loop per row on the happy path.
Only when a vectorised check fails do we walk the offending column to name every bad row.

The local-time helpers here (:func:`local_to_utc`, :func:`check_time_zone`) are shared by the other
importers so that every source resolves ambiguous and skipped local times the same way.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from callboard.calls.schema import CALL_FIELDS, EXTRA_FIELD, FIELDS_BY_NAME, SEGMENT_SCHEMA
from callboard.sources.base import (
    MAX_REPORTED_ERRORS,
    Input,
    RowError,
    SourceError,
    finish_segments,
    read_bytes,
    source_label,
)

ENCODINGS = ("json", "ndjson", "csv", "parquet")
CONTENT_TYPES = {
    "application/json": "json",
    "text/json": "json",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/jsonlines": "ndjson",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
}
EXTENSIONS = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
VALID_NAMES: tuple[str, ...] = (*(f.name for f in CALL_FIELDS), EXTRA_FIELD)
_VALID_SET = frozenset(VALID_NAMES)
# Allowed values of the small integer fields.
INT_RANGES: dict[str, tuple[int, int]] = {"ans": (0, 1), "ref": (0, 1), "lost": (0, 1),
                                          "callType": (1, 2), "callDir": (1, 3)}
_OFFSET_RE = r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
_UTC = pa.timestamp("us", tz="UTC")
_NAIVE = pa.timestamp("us")


# ---- time zones ----------------------------------------------------------------------------------
def check_time_zone(source: str, time_zone: str | None) -> str:
    """The IANA zone to read local times in (UTC when none is configured)."""
    tz = time_zone or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(source, [RowError(None, None, f"unknown time zone {tz!r} (use an IANA name)")]) from None
    return tz


def local_to_utc(naive: pa.Array | pa.ChunkedArray, time_zone: str) -> pa.Array:
    """Naive local wall times → UTC instants, vectorised, with PEP 495 ``fold=0`` semantics.

    Ambiguous times (the repeated hour when clocks go back) take the *first* occurrence (the
    summer-time offset). Nonexistent times (the hour skipped when clocks go forward) are read with
    the offset in force *before* the change, exactly like ``datetime(..., tzinfo=ZoneInfo(tz))``:
    01:30 in Europe/London on 2025-03-30 is 01:30 UTC. Arrow alone would snap those to the transition.
    """
    if isinstance(naive, pa.ChunkedArray):
        naive = naive.combine_chunks()
    naive = naive.cast(_NAIVE)
    if time_zone in ("UTC", "Etc/UTC", "Z"):
        return naive.cast(_UTC)
    aware = pc.assume_timezone(naive, time_zone, ambiguous="earliest", nonexistent="latest")
    back = pc.local_timestamp(aware)
    gap = pc.fill_null(pc.not_equal(back, naive), False)
    if not pc.any(gap).as_py():
        return aware.cast(_UTC)
    # In a gap `aware` is the transition instant; the offset just before it is what fold=0 uses.
    before = pc.subtract(aware.cast(_UTC), pa.scalar(1, pa.duration("us")))
    offset = pc.subtract(pc.local_timestamp(before.cast(pa.timestamp("us", tz=time_zone))),
                         before.cast(_NAIVE))
    fixed = pc.subtract(naive, offset).cast(_UTC)
    return pc.if_else(gap, fixed, aware.cast(_UTC))


def parse_timestamps(values: pa.Array, time_zone: str) -> pa.Array:
    """ISO 8601 text → UTC. Values with ``Z`` or an offset are absolute; others are local times.

    Raises ``pa.ArrowInvalid`` when any value does not parse (the caller then locates the rows).
    """
    has_offset = pc.fill_null(pc.match_substring_regex(values, _OFFSET_RE), False)
    n_offset = pc.sum(has_offset).as_py() or 0
    if n_offset == len(values) - values.null_count and n_offset:
        return values.cast(_UTC)
    if n_offset == 0:
        return local_to_utc(values.cast(_NAIVE), time_zone)
    aware = pc.if_else(has_offset, values, pa.scalar(None, values.type)).cast(_UTC)
    local = local_to_utc(pc.if_else(has_offset, pa.scalar(None, values.type), values).cast(_NAIVE), time_zone)
    return pc.coalesce(aware, local)


def _locate_failures(values: pa.Array, convert: Callable[[pa.Array], Any], block: int = 4096) -> list[int]:
    """Indices whose value makes ``convert`` fail: blocks first, then single values (error path only)."""
    bad: list[int] = []
    for start in range(0, len(values), block):
        piece = values.slice(start, block)
        try:
            convert(piece)
            continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, TypeError):
            pass
        for i in range(len(piece)):
            try:
                convert(piece.slice(i, 1))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, TypeError):
                bad.append(start + i)
                if len(bad) >= MAX_REPORTED_ERRORS:
                    return bad
    return bad


# ---- the shared validation of canonical columns -------------------------------------------------
class _Errors:
    """Row errors of one file, in row order, capped (the whole file is refused anyway)."""

    def __init__(self, rows: Sequence[int] | None = None) -> None:
        self.items: list[RowError] = []
        self.rows = rows

    def row(self, index: int) -> int:
        return self.rows[index] if self.rows is not None else index + 1

    def add(self, index: int | None, column: str | None, reason: str) -> None:
        if len(self.items) < MAX_REPORTED_ERRORS * 4:
            self.items.append(RowError(None if index is None else self.row(index), column, reason))

    def add_mask(self, mask: pa.Array, column: str, reason: Callable[[int], str]) -> None:
        mask = pc.fill_null(mask, False)
        if pc.any(mask).as_py():
            for i in pc.indices_nonzero(mask).to_pylist()[:MAX_REPORTED_ERRORS]:
                self.add(i, column, reason(i))

    def raise_if_any(self, source: str) -> None:
        if self.items:
            items = sorted(self.items, key=lambda e: (e.row is not None, e.row or 0))
            raise SourceError(source, items[:MAX_REPORTED_ERRORS])


def _unknown_field_reason(name: str) -> str:
    return f"unknown field {name!r}; valid fields: {', '.join(VALID_NAMES)}"


def _blank_to_null(arr: pa.Array) -> pa.Array:
    if arr.null_count == len(arr):
        return arr
    blank = pc.equal(arr, "")
    return pc.if_else(blank, pa.scalar(None, arr.type), arr) if pc.any(blank).as_py() else arr


def _convert_string(name: str, arr: pa.Array, errors: _Errors, blanks: bool) -> pa.Array | None:
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    if pa.types.is_integer(arr.type) or pa.types.is_dictionary(arr.type):
        arr = arr.cast(pa.string())
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    if not pa.types.is_string(arr.type):
        errors.add(None, name, f"expected text, got {arr.type}")
        return None
    return _blank_to_null(arr) if blanks else arr


def _convert_float(name: str, arr: pa.Array, errors: _Errors) -> pa.Array | None:
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.float64())
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = arr.cast(pa.float64())
        except pa.ArrowInvalid:
            for i in _locate_failures(arr, lambda a: a.cast(pa.float64())):
                errors.add(i, name, f"not a number: {arr[i].as_py()!r}")
            return None
    elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        arr = arr.cast(pa.float64())
    else:
        errors.add(None, name, f"expected seconds as a number, got {arr.type}")
        return None
    bad = pc.or_(pc.or_(pc.is_nan(arr), pc.less(arr, 0.0)), pc.is_inf(arr))
    errors.add_mask(bad, name, lambda i: f"must be a number of seconds ≥ 0, got {arr[i].as_py()!r}")
    return arr


def _convert_int(name: str, arr: pa.Array, errors: _Errors) -> pa.Array | None:
    lo, hi = INT_RANGES[name]
    allowed = "0 or 1" if (lo, hi) == (0, 1) else f"an integer {lo}..{hi}"
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.int8())
    if pa.types.is_boolean(arr.type) and (lo, hi) == (0, 1):
        arr = arr.cast(pa.int64())
    elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = arr.cast(pa.int64())
        except pa.ArrowInvalid:
            for i in _locate_failures(arr, lambda a: a.cast(pa.int64())):
                errors.add(i, name, f"must be {allowed}, got {arr[i].as_py()!r}")
            return None
    elif pa.types.is_floating(arr.type):
        fractional = pc.not_equal(pc.floor(arr), arr)
        if pc.any(pc.fill_null(fractional, False)).as_py():
            errors.add_mask(fractional, name, lambda i: f"must be {allowed}, got {arr[i].as_py()!r}")
            return None
        arr = pc.fill_null(arr, None).cast(pa.int64(), safe=False)
    elif not pa.types.is_integer(arr.type):
        errors.add(None, name, f"must be {allowed}, got values of type {arr.type}")
        return None
    bad = pc.or_(pc.less(arr, lo), pc.greater(arr, hi))
    if pc.any(pc.fill_null(bad, False)).as_py():
        errors.add_mask(bad, name, lambda i: f"must be {allowed}, got {arr[i].as_py()!r}")
        return None
    return arr.cast(pa.int8())


def _convert_start(arr: pa.Array, errors: _Errors, tz: str) -> pa.Array | None:
    if arr.null_count:
        errors.add_mask(pc.is_null(arr), "start", lambda i: "start is required")
    if pa.types.is_timestamp(arr.type):
        return arr.cast(pa.timestamp("us", tz=arr.type.tz)).cast(_UTC) if arr.type.tz else \
            local_to_utc(arr, tz)
    if pa.types.is_date(arr.type):
        return local_to_utc(arr.cast(_NAIVE), tz)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        errors.add(None, "start", f"expected an ISO 8601 timestamp, got {arr.type}")
        return None
    arr = arr.cast(pa.string())
    blank = pc.equal(arr, "")
    if pc.any(pc.fill_null(blank, False)).as_py():
        errors.add_mask(blank, "start", lambda i: "start is required")
        return None
    try:
        return parse_timestamps(arr, tz)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i in _locate_failures(arr, lambda a: parse_timestamps(a, tz)):
        errors.add(i, "start", f"not an ISO 8601 timestamp: {arr[i].as_py()!r}")
    return None


def _check_extra(arr: pa.Array, errors: _Errors) -> pa.Array | None:
    """``extra`` is a JSON object stored as text; check each present value (usually none)."""
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        errors.add(None, EXTRA_FIELD, f"expected a JSON object as text, got {arr.type}")
        return None
    arr = _blank_to_null(arr.cast(pa.string()))
    if arr.null_count == len(arr):
        return arr
    present = pc.indices_nonzero(pc.is_valid(arr)).to_pylist()
    for i, text in zip(present, pc.drop_null(arr).to_pylist(), strict=True):
        try:
            ok = isinstance(orjson.loads(text), dict)
        except orjson.JSONDecodeError:
            ok = False
        if not ok:
            errors.add(i, EXTRA_FIELD, "must be a JSON object")
    return arr


def to_segments(table: pa.Table, *, source: str, time_zone: str, errors: _Errors | None = None,
                blanks: bool = True) -> pa.Table:
    """Validate canonical columns of any reasonable Arrow type and build :data:`SEGMENT_SCHEMA`."""
    errors = errors or _Errors()
    names = table.column_names
    for name in names:
        if name not in _VALID_SET:
            errors.add(None, name, _unknown_field_reason(name))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            errors.add(None, name, f"field {name!r} appears more than once")
        seen.add(name)
    if "start" not in names:
        errors.add(None, "start", "the required field 'start' is missing")
    errors.raise_if_any(source)

    columns: dict[str, pa.Array] = {}
    for name in names:
        arr = table.column(name).combine_chunks()
        field = FIELDS_BY_NAME.get(name)
        converted: pa.Array | None
        if name == EXTRA_FIELD:
            converted = _check_extra(arr, errors)
        elif name == "start":
            converted = _convert_start(arr, errors, time_zone)
        elif field is not None and field.type == "string":
            converted = _convert_string(name, arr, errors, blanks)
        elif field is not None and field.type == "float":
            converted = _convert_float(name, arr, errors)
        else:
            converted = _convert_int(name, arr, errors)
        if converted is not None:
            columns[name] = converted
    flags = [columns[f] for f in ("ans", "ref", "lost") if f in columns]
    if len(flags) > 1:
        total = flags[0].cast(pa.int16())
        for f in flags[1:]:
            total = pc.add(pc.fill_null(total, 0), pc.fill_null(f.cast(pa.int16()), 0))
        errors.add_mask(pc.greater(total, 1), "ans", lambda i: "at most one of ans, ref, lost may be 1")
    errors.raise_if_any(source)
    return finish_segments(columns)


# ---- the four encodings -------------------------------------------------------------------------
def detect_encoding(data: Input, options: dict[str, str], content_type: str | None,
                    head: bytes | None = None) -> str:
    """options["encoding"], then the content type, then the file extension, then the bytes."""
    enc = (options.get("encoding") or "").strip().lower()
    if enc:
        if enc in ("jsonl", "json-lines"):
            enc = "ndjson"
        if enc not in ENCODINGS:
            raise ValueError(f"unknown encoding {enc!r}; valid: {', '.join(ENCODINGS)}")
        return enc
    if content_type:
        ct = content_type.split(";", 1)[0].strip().lower()
        if ct in CONTENT_TYPES:
            return CONTENT_TYPES[ct]
    name = str(data) if isinstance(data, (str, Path)) else getattr(data, "name", None)
    if isinstance(name, str):
        suffix = Path(name).suffix.lower()
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
    head = head or b""
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return "ndjson" if len(lines) > 1 and lines[1].lstrip().startswith(b"{") else "json"
    return "csv"


def _csv_types() -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for f in CALL_FIELDS:
        if f.type == "string" or f.name == "start":
            types[f.name] = pa.string()
        elif f.type == "float":
            types[f.name] = pa.float64()
        else:
            types[f.name] = pa.int8()
    types[EXTRA_FIELD] = pa.string()
    return types


def _read_csv_table(raw: bytes, header: list[str], typed: bool, newlines: bool,
                    errors: _Errors) -> pa.Table:
    column_types = _csv_types() if typed else {name: pa.string() for name in header}

    def on_invalid(row: Any) -> str:
        line = row.number
        errors.add(None, None, f"expected {row.expected_columns} columns, got {row.actual_columns}")
        if line is not None:  # physical line; the header is line 1 = row 0
            errors.items[-1] = RowError(line - 1, None, errors.items[-1].reason)
        return "skip"

    return pacsv.read_csv(
        pa.BufferReader(raw),
        read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=newlines, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types=column_types, null_values=[""],
                                             strings_can_be_null=True, quoted_strings_can_be_null=True,
                                             true_values=["true"], false_values=["false"]),
    )


def read_csv(raw: bytes, *, source: str, time_zone: str) -> pa.Table:
    """CSV whose header names SPEC fields: typed vectorised read first, text read to locate errors."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    first_line = raw.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    if not first_line.strip():
        raise SourceError(source, [RowError(0, None, "missing header row (SPEC field names)")])
    header = next(csv.reader(io.StringIO(first_line)))
    errors = _Errors()
    for name in header:
        if name not in _VALID_SET:
            errors.add(None, name, _unknown_field_reason(name))
    if len(set(header)) != len(header):
        errors.add(0, None, "a column name appears more than once in the header")
    errors.raise_if_any(source)
    if raw.count(b"\n") <= 1 and not raw.split(b"\n", 1)[-1].strip():
        return finish_segments({"start": pa.array([], _UTC)})
    try:
        table = _read_csv_table(raw, header, True, False, errors)
        if errors.items:  # a quoted newline looks like a short row: retry the careful way
            errors = _Errors()
            table = _read_csv_table(raw, header, True, True, errors)
    except pa.ArrowInvalid:
        errors = _Errors()
        try:
            table = _read_csv_table(raw, header, False, b'"' in raw, errors)
        except pa.ArrowInvalid as exc:  # e.g. bytes that are not UTF-8 text
            reason = str(exc).splitlines()[0]
            raise SourceError(source, [RowError(None, None, f"not readable as UTF-8 CSV: {reason}")]) from None
    errors.raise_if_any(source)
    return to_segments(table, source=source, time_zone=time_zone, errors=errors, blanks=False)


def read_parquet(data: Input, *, source: str, time_zone: str) -> pa.Table:
    try:
        if isinstance(data, (str, Path)):
            table = pq.read_table(data)
        else:
            table = pq.read_table(pa.BufferReader(read_bytes(data)))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(source, [RowError(None, None, f"not a readable Parquet file: {exc}")]) from None
    return to_segments(table, source=source, time_zone=time_zone)


_PY_KIND = {"string": "text", "float": "a number of seconds ≥ 0", "flag": "0 or 1"}


def _json_columns(records: Sequence[Any], rows: Sequence[int], errors: _Errors) -> dict[str, pa.Array]:
    """Objects → typed Arrow columns (one Python pass per field, not per row)."""
    keys: set[str] = set()
    for i, rec in enumerate(records):
        if type(rec) is not dict:
            errors.add(i, None, f"expected a JSON object, got {type(rec).__name__}")
        else:
            keys.update(rec)
    for key in sorted(keys - _VALID_SET):
        hits = [i for i, r in enumerate(records) if type(r) is dict and key in r]
        for i in hits[:MAX_REPORTED_ERRORS]:
            errors.add(i, key, _unknown_field_reason(key))
    if errors.items:
        return {}
    columns: dict[str, pa.Array] = {}
    for name in VALID_NAMES:
        if name not in keys:
            continue
        values = [r.get(name) for r in records]
        field = FIELDS_BY_NAME.get(name)
        kind = "extra" if field is None else ("string" if name == "start" else field.type)
        if kind == "extra":
            ok = [v is None or type(v) is dict for v in values]
            values = [None if v is None else orjson.dumps(v).decode() if type(v) is dict else v
                      for v in values]
            reason = "must be a JSON object"
            arrow_type = pa.string()
        elif kind == "string":
            ok = [v is None or type(v) is str or (type(v) is int and name != "start") for v in values]
            values = [str(v) if type(v) is int else v for v in values]
            reason = "must be an ISO 8601 timestamp string" if name == "start" else "must be text"
            arrow_type = pa.string()
        elif kind == "float":
            ok = [v is None or (type(v) in (int, float) and math.isfinite(v)) for v in values]
            reason = f"must be {_PY_KIND['float']}"
            arrow_type = pa.float64()
        else:
            ok = [v is None or type(v) in (int, bool) for v in values]
            lo, hi = INT_RANGES[name]
            reason = "must be 0 or 1" if (lo, hi) == (0, 1) else f"must be an integer {lo}..{hi}"
            arrow_type = pa.int64()
        if all(ok):
            columns[name] = pa.array(values, arrow_type)
        else:
            for i, good in enumerate(ok):
                if not good:
                    errors.add(i, name, f"{reason}, got {values[i]!r}")
    return columns


def read_json(raw: bytes, *, source: str, time_zone: str, ndjson: bool) -> pa.Table:
    """A JSON array of objects (or one object), or NDJSON (row numbers are line numbers)."""
    records: list[Any]
    rows: list[int]
    errors = _Errors()
    if ndjson:
        records, rows = [], []
        for line_no, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(orjson.loads(line))
                rows.append(line_no)
            except orjson.JSONDecodeError as exc:
                errors.items.append(RowError(line_no, None, f"invalid JSON: {exc}"))
        errors.raise_if_any(source)
    else:
        try:
            doc = orjson.loads(raw) if raw.strip() else []
        except orjson.JSONDecodeError as exc:
            raise SourceError(source, [RowError(None, None, f"invalid JSON: {exc}")]) from None
        records = [doc] if isinstance(doc, dict) else doc
        if not isinstance(records, list):
            raise SourceError(source, [RowError(None, None, "expected a JSON array of call records")])
        rows = list(range(1, len(records) + 1))
    errors.rows = rows
    if not records:
        return finish_segments({"start": pa.array([], _UTC)})
    columns = _json_columns(records, rows, errors)
    errors.raise_if_any(source)
    if "start" not in columns:
        missing = [i for i, r in enumerate(records) if r.get("start") is None]
        for i in missing[:MAX_REPORTED_ERRORS]:
            errors.add(i, "start", "start is required")
        errors.raise_if_any(source)
    return to_segments(pa.table(columns), source=source, time_zone=time_zone, errors=errors)


def read(data: Input, *, source: str | None = None, time_zone: str | None = None,
         options: dict[str, str] | None = None, content_type: str | None = None) -> pa.Table:
    """Read canonical call records in any of the four encodings into canonical segments."""
    source = source or source_label(data)
    options = options or {}
    tz = check_time_zone(source, time_zone)
    name_hint = data
    if isinstance(data, (str, Path)):
        with open(data, "rb") as fh:
            head = fh.read(4096)
    else:
        data = read_bytes(data)
        head = data[:4096]
    try:
        enc = detect_encoding(name_hint, options, content_type, head)
    except ValueError as exc:
        raise SourceError(source, [RowError(None, None, str(exc))]) from None
    if enc == "parquet":
        return read_parquet(data, source=source, time_zone=tz)
    raw = read_bytes(data)
    if enc == "csv":
        return read_csv(raw, source=source, time_zone=tz)
    return read_json(raw, source=source, time_zone=tz, ndjson=enc == "ndjson")


__all__ = ["SEGMENT_SCHEMA", "check_time_zone", "detect_encoding", "local_to_utc", "parse_timestamps",
           "read", "to_segments"]
