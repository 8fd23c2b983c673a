"""Reading result snapshots out: JSON rows (paged or streamed as one document) and CSV.

JSON rows are produced by DuckDB from the Parquet snapshot, one record batch at a time, so memory
stays flat however many rows there are and the bytes come at C++ speed: each row is concatenated
from ``,"name":value`` members, a null value giving no member at all (a field whose value is null is
left out of the row, as in the seed), timestamps formatted as the seed prints them (local
``2025-09-18T11:16:31``) and strings escaped by DuckDB's JSON writer.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BATCH_ROWS = 50_000
CSV_THREADS = 2
_BOM = b"\xef\xbb\xbf"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _field_names(t: pa.DataType, out: set[str]) -> None:
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            out.add(t.field(i).name)
            _field_names(t.field(i).type, out)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        _field_names(t.value_type, out)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _member_value(f: pa.Field) -> str:
    """SQL giving the JSON text of one column's value (NULL when the member is to be left out)."""
    q = _quote(f.name)
    t = f.type
    if pa.types.is_timestamp(t):
        return (f"CASE WHEN epoch_us({q}) % 1000000 = 0 THEN strftime({q}, '\"%Y-%m-%dT%H:%M:%S\"') "
                f"ELSE strftime({q}, '\"%Y-%m-%dT%H:%M:%S.%f\"') END")
    if pa.types.is_date(t):
        return f"strftime({q}, '\"%Y-%m-%d\"')"
    if pa.types.is_floating(t):
        return f"CASE WHEN isfinite({q}) THEN CAST({q} AS VARCHAR) END"  # NaN/inf are not JSON
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return f"CAST({q} AS VARCHAR)"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t):
        names: set[str] = set()
        _field_names(t, names)
        alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        pattern = f'"(?:{alt})":null,|,"(?:{alt})":null|"(?:{alt})":null'
        return f"regexp_replace(to_json({q})::VARCHAR, {_sql_text(pattern)}, '', 'g')"
    return f"to_json({q})::VARCHAR"  # strings: escaped by DuckDB's JSON writer


def _json_sql(schema: pa.Schema) -> str:
    """The SQL expression giving one JSON object text per row.

    Each member is ``,"name":value`` or empty when the value is null, concatenated and the leading
    comma cut: null fields are left out without any post-processing (nested children, rare and
    small, go through ``to_json`` with null members stripped by a pattern over their field names).
    Built by concatenation because DuckDB's ``to_json`` of a whole row is ~3x slower.
    """
    if not len(schema):
        return "'{}'"
    # ``||`` (unlike concat) is NULL when the value is, so a null value leaves no member
    members = [f"coalesce({_sql_text(',' + json.dumps(f.name) + ':')} || ({_member_value(f)}), '')"
               for f in schema]
    return f"concat('{{', substr(concat({', '.join(members)}), 2), '}}')"


_base_con: duckdb.DuckDBPyConnection | None = None
_base_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A connection of its own for one reader, from one in-memory database per process: a new
    ``duckdb.connect()`` costs 30-50 ms (as much as reading a page), a cursor well under 1 ms."""
    global _base_con
    with _base_lock:
        if _base_con is None:
            _base_con = duckdb.connect()
        return _base_con.cursor()


def _json_reader(snapshot: Path, offset: int, limit: int | None,
                 batch_rows: int = BATCH_ROWS) -> Iterator[pa.LargeStringArray]:
    """JSON texts of the snapshot's rows [offset, offset + limit), batch by batch.

    The row range is a filter on ``file_row_number`` rather than ``LIMIT/OFFSET``: DuckDB then
    prunes row groups before the range (a deep page is quick) and streams instead of buffering the
    result, so memory stays flat; insertion order is kept, which is the snapshot's sorted order.
    """
    schema = pq.read_schema(snapshot)
    lo = max(0, int(offset))
    hi = None if limit is None else lo + max(0, int(limit))
    sql = (f"SELECT {_json_sql(schema)} AS j FROM read_parquet(?, file_row_number = true) "
           "WHERE file_row_number >= ?" + (" AND file_row_number < ?" if hi is not None else ""))
    params: list[Any] = [str(snapshot), lo] + ([hi] if hi is not None else [])
    con = _cursor()
    try:
        for batch in con.sql(sql, params=params).to_arrow_reader(batch_rows):
            if batch.num_rows:
                yield batch.column(0).cast(pa.large_string())
    finally:
        con.close()


def iter_json_rows(snapshot: Path | str, offset: int = 0, limit: int | None = None) -> Iterator[bytes]:
    """Each row of the snapshot as one JSON object (UTF-8 bytes), null fields left out."""
    for arr in _json_reader(Path(snapshot), offset, limit):
        for value in arr.to_pylist():
            yield value.encode()


def json_rows_chunks(snapshot: Path | str, offset: int = 0, limit: int | None = None) -> Iterator[bytes]:
    """The rows as the inside of a JSON array (``{…},{…}``), in large chunks for streaming."""
    first = True
    for arr in _json_reader(Path(snapshot), offset, limit):
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(arr)], pa.int64()), arr),
                                 pa.scalar(",", pa.large_string()))
        chunk = joined[0].as_buffer().to_pybytes()
        yield chunk if first else b"," + chunk
        first = False


def json_document_chunks(document: Mapping[str, Any], snapshot: Path | str | None, *, offset: int = 0,
                         limit: int | None = None, data_key: str = "data", data_after: str = "totalCount",
                         chunk_bytes: int = 256 * 1024) -> Iterator[bytes]:
    """Stream a whole results document -- the one writer of results documents (the Results API
    and ``callboard report run --output json``): ``document``'s members in order, with
    ``"data": [rows…]`` placed after ``data_after`` (where the seed has it) or at the end; the rows
    as the engine renders them (one Arrow batch at a time, joined in C++, no Python work per row).
    Small pieces are gathered up to ``chunk_bytes`` so a server does not make one tiny write per
    piece; a batch is never held twice, so memory stays flat."""
    items = [(k, v) for k, v in document.items() if k != data_key]
    keys = [k for k, _ in items]
    cut = keys.index(data_after) + 1 if data_after in keys else len(items)
    head, tail = dict(items[:cut]), dict(items[cut:])
    prefix = (orjson.dumps(head)[:-1] + b"," if head else b"{") + orjson.dumps(data_key) + b":["
    suffix = b"]" + (b"," + orjson.dumps(tail)[1:] if tail else b"}")
    buf = bytearray(prefix)
    if snapshot is not None:
        for chunk in json_rows_chunks(snapshot, offset, limit):
            if len(buf) + len(chunk) <= chunk_bytes:
                buf += chunk
                continue
            if buf:
                yield bytes(buf)
                buf.clear()
            if len(chunk) >= chunk_bytes:
                yield chunk
            else:
                buf += chunk
    buf += suffix
    yield bytes(buf)


def read_page(snapshot: Path | str, page: int, page_size: int) -> list[dict[str, Any]]:
    """Rows of one 1-based page (``page_size`` < 1 means every row), formatted as in the JSON rows."""
    if page_size is None or page_size < 1:
        return [orjson.loads(b) for b in iter_json_rows(snapshot)]
    page = max(1, int(page))
    return [orjson.loads(b) for b in iter_json_rows(snapshot, (page - 1) * page_size, page_size)]


def snapshot_count(snapshot: Path | str) -> int:
    """Rows in a snapshot, from the Parquet footer (no data read)."""
    return pq.ParquetFile(snapshot).metadata.num_rows


def _csv_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Flat, text-friendly columns: timestamps as local ISO text, nested columns left out."""
    arrays, names = [], []
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_list(col.type) or pa.types.is_struct(col.type) or pa.types.is_large_list(col.type):
            continue
        if pa.types.is_timestamp(col.type):
            # Arrow's own cast to text is ~10x faster than strftime and gives the same ISO text
            # once the date/time separator is a "T".
            col = pc.replace_substring(col.cast(pa.timestamp("s"), safe=False).cast(pa.string()), " ", "T",
                                       max_replacements=1)
        arrays.append(col)
        names.append(name)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _csv_text(snapshot: Path | str, row_group: int, opts: pacsv.WriteOptions) -> pa.Buffer:
    """One row group of the snapshot as CSV text (no header). Its own reader: a ParquetFile is not
    shared between threads."""
    batch = pq.ParquetFile(snapshot).read_row_group(row_group)
    sink = pa.BufferOutputStream()
    for b in batch.to_batches():
        pacsv.write_csv(_csv_batch(b), sink, write_options=opts)
    return sink.getvalue()


def write_csv(snapshot: Path | str, out: BinaryIO, *, header_titles: Mapping[str, str] | None = None,
              bom: bool = False) -> None:
    """Stream the snapshot as UTF-8 CSV (header row of field names, or ``header_titles`` where given;
    nested ``children`` is JSON-only).

    Row groups (64k rows each) are turned into CSV text by ``CSV_THREADS`` threads -- decoding the
    Parquet, formatting the text: Arrow C++ work that releases the GIL -- and written in order, with
    at most ``2 × CSV_THREADS`` groups in flight, so memory stays flat for any row count.
    """
    pf = pq.ParquetFile(snapshot)
    if bom:
        out.write(_BOM)
    names = [f.name for f in pf.schema_arrow
             if not (pa.types.is_list(f.type) or pa.types.is_struct(f.type) or pa.types.is_large_list(f.type))]
    titles = [(header_titles or {}).get(n, n) for n in names]
    header = pa.RecordBatch.from_arrays([pa.array([t]) for t in titles], names=names)
    opts = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    pacsv.write_csv(header, out, write_options=opts)
    groups = pf.metadata.num_row_groups
    with ThreadPoolExecutor(CSV_THREADS, thread_name_prefix="csv") as pool:
        pending: deque[Future[pa.Buffer]] = deque()
        for g in range(groups):
            pending.append(pool.submit(_csv_text, snapshot, g, opts))
            if len(pending) >= 2 * CSV_THREADS:
                out.write(pending.popleft().result())
        while pending:
            out.write(pending.popleft().result())
