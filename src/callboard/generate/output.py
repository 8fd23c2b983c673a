"""Writing generated segments: files (NDJSON, CSV, Parquet) and straight into the warehouse.

Files use the canonical field names only (no ``extra``), so ``callboard import --format canonical``
reads them back unchanged. Timestamps are ISO 8601 UTC with a ``Z``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from callboard.calls.schema import FIELD_NAMES, FIELDS_BY_NAME
from callboard.generate.config import OrgConfig
from callboard.generate.simulate import generate_batches
from callboard.warehouse.base import AppendResult, Warehouse

FORMATS = ("ndjson", "csv", "parquet")
Progress = Callable[[int], None]


def _iso_start(table: pa.Table) -> pa.Array:
    """``start`` as ``YYYY-MM-DDTHH:MM:SSZ`` (a fraction of a second is kept when present). Cast
    as naive UTC: Arrow's zone-aware formatting is ~15× slower."""
    start = table.column("start").combine_chunks()
    naive = pc.cast(start, pa.timestamp(start.type.unit))
    micros = pc.cast(pc.cast(naive, pa.timestamp("us")), pa.int64())
    fraction = pc.subtract(micros, pc.multiply(pc.divide(micros, 1_000_000), 1_000_000))
    if not pc.any(pc.not_equal(fraction, 0)).as_py():
        naive = pc.cast(naive, pa.timestamp("s"))
    text = pc.replace_substring(pc.cast(naive, pa.string()), " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(text, "Z", "")


def canonical_text_columns(table: pa.Table) -> pa.Table:
    """The canonical fields with ``start`` rendered as ISO 8601 text (for CSV and NDJSON)."""
    table = table.select(list(FIELD_NAMES))
    return table.set_column(table.schema.get_field_index("start"), "start", _iso_start(table))


def _json_escape(values: pa.Array) -> pa.Array:
    """Escape a string column for a JSON string literal (backslash, quote, control characters).
    Cheap checks first: generated values almost never need it."""
    data = values.buffers()[2]
    if data is None:
        return values
    raw = np.frombuffer(data, dtype=np.uint8)
    if not ((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any():
        return values
    out = pc.replace_substring(values, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    for ch, esc in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        out = pc.replace_substring(out, ch, esc)
    return pc.replace_substring_regex(out, "[\\x00-\\x1f]", " ")


def ndjson_lines(table: pa.Table) -> pa.Array:
    """One JSON object per segment, built column-wise with Arrow; null fields are left out."""
    table = canonical_text_columns(table)
    parts = []
    for name in FIELD_NAMES:
        col = table.column(name).combine_chunks()
        kind = FIELDS_BY_NAME[name].type
        if kind in ("string", "timestamp"):
            text = pc.binary_join_element_wise(f'"{name}":"', _json_escape(col), '"', "")
        else:
            text = pc.binary_join_element_wise(f'"{name}":', pc.cast(col, pa.string()), "")
        parts.append(text)
    body = pc.binary_join_element_wise(*parts, ",", null_handling="skip")
    return pc.binary_join_element_wise("{", body, "}\n", "")


def _write_ndjson(batches: Iterable[pa.Table], out: IO[bytes], progress: Progress | None) -> int:
    rows = 0
    for t in batches:
        lines = ndjson_lines(t)
        out.write(pc.binary_join(pa.array([lines], pa.list_(pa.string())), "")[0].as_buffer())
        rows += t.num_rows
        if progress:
            progress(t.num_rows)
    return rows


def _write_csv(batches: Iterable[pa.Table], out: IO[bytes], progress: Progress | None) -> int:
    rows = 0
    writer = None
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    out.write((",".join(FIELD_NAMES) + "\n").encode())
    try:
        for t in batches:
            text = canonical_text_columns(t)
            if writer is None:
                writer = pacsv.CSVWriter(out, text.schema, write_options=options)
            writer.write_table(text)
            rows += t.num_rows
            if progress:
                progress(t.num_rows)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_parquet(batches: Iterable[pa.Table], path: Path, progress: Progress | None) -> int:
    rows = 0
    writer = None
    try:
        for t in batches:
            t = t.select(list(FIELD_NAMES))
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema, compression="zstd")
            writer.write_table(t, row_group_size=256 * 1024)
            rows += t.num_rows
            if progress:
                progress(t.num_rows)
    finally:
        if writer is not None:
            writer.close()
    return rows


def write(config: OrgConfig, path: Path | str, fmt: str = "ndjson", progress: Progress | None = None) -> int:
    """Generate ``config``'s calls into one file; returns the rows written.

    ``progress`` is called after each monthly batch with the number of rows just written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    batches = generate_batches(config)
    if fmt == "parquet":
        return _write_parquet(batches, path, progress)
    with open(path, "wb") as out:
        return (_write_ndjson if fmt == "ndjson" else _write_csv)(batches, out, progress)


def run_generate(output: Path, fmt: str, seed: int, users: int, days: int, start: date, time_zone: str,
                 progress: Progress | None = None) -> int:
    """What ``callboard generate`` runs: a default organisation with the CLI's knobs, written to
    ``output``. Returns the rows written; ``progress`` gets the rows of each batch as written."""
    config = OrgConfig(seed=seed, users=users, days=days, start=start, time_zone=time_zone,
                       hunt_groups=min(4, max(0, users // 3)))
    return write(config, output, fmt, progress)


def load_into(warehouse: Warehouse, workspace: str, config: OrgConfig,
              progress: Progress | None = None) -> AppendResult:
    """Append ``config``'s calls to a workspace batch by batch; returns the summed append counts.
    Loading twice stores nothing new (docIds are deterministic)."""
    received = inserted = duplicates = 0
    seconds = 0.0
    for t in generate_batches(config):
        r = warehouse.append(workspace, t)
        received += r.received
        inserted += r.inserted
        duplicates += r.duplicates
        seconds += r.seconds
        if progress:
            progress(t.num_rows)
    return AppendResult(received, inserted, duplicates, seconds)

