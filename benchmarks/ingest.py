"""Ingest rates: callboard's importers end to end (read + validate + atomic idempotent append) beside
DuckDB's own ``read_parquet`` / ``read_csv`` into a table, measured in the same run on the same data.

    python -m benchmarks.ingest [--rows 1000000]

Run by hand; not a test. SPEC §7 aims at ≥ 500,000 canonical rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from callboard.generate import OrgConfig, generate_batches
from callboard.sources import read_source
from callboard.warehouse import DuckDBWarehouse


def make_data(rows: int, folder: Path) -> dict[str, Path]:
    """Canonical Parquet and CSV of ``rows`` synthetic segments, and the same calls as Asterisk Master.csv."""
    batches: list[pa.Table] = []
    total = 0
    config = OrgConfig(seed=7, users=200, days=3650, start=dt.date(2024, 1, 1))
    for batch in generate_batches(config):
        batches.append(batch)
        total += batch.num_rows
        if total >= rows:
            break
    table = pa.concat_tables(batches).slice(0, rows)
    paths = {"parquet": folder / "calls.parquet", "csv": folder / "calls.csv", "asterisk": folder / "Master.csv"}
    pq.write_table(table, paths["parquet"])
    con = duckdb.connect()
    con.register("t", table)
    # canonical CSV: field names as header, ISO 8601 UTC times
    con.execute(
        f"""COPY (SELECT * REPLACE (strftime(start AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS start) FROM t)
            TO '{paths['csv']}' (HEADER, DELIMITER ',')"""
    )
    # Asterisk 21-column Master.csv (newcdrcolumns=yes), UTC stamps, imported with --time-zone UTC
    con.execute(
        f"""COPY (SELECT coalesce(accountCode, '') AS accountcode, coalesce(cli, callUserNum, '') AS src,
                   coalesce(calledUserNum, '') AS dst, CASE WHEN callDir = 2 THEN 'from-trunk' ELSE 'from-internal'
                   END AS dcontext, '"' || coalesce(cliName, '') || '" <' || coalesce(cli, '') || '>' AS clid,
                   CASE WHEN callDir = 2 THEN 'PJSIP/' || coalesce(trunk, 'trunk') || '-0000' || docId[1:4]
                        ELSE 'PJSIP/' || coalesce(userNum, '100') || '-0000' || docId[1:4] END AS channel,
                   CASE WHEN callDir = 3 THEN 'PJSIP/' || coalesce(trunk, 'trunk') || '-0001' || docId[1:4]
                        ELSE 'PJSIP/' || coalesce(userNum, '100') || '-0001' || docId[1:4] END AS dstchannel,
                   'Dial' AS lastapp, '' AS lastdata,
                   strftime(start AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS start,
                   CASE WHEN ans = 1 THEN strftime((start AT TIME ZONE 'UTC') + to_seconds(CAST(ring AS BIGINT)),
                        '%Y-%m-%d %H:%M:%S') END AS answer,
                   strftime((start AT TIME ZONE 'UTC') + to_seconds(CAST(duration AS BIGINT)),
                        '%Y-%m-%d %H:%M:%S') AS "end",
                   CAST(duration AS BIGINT) AS duration,
                   CASE WHEN ans = 1 THEN CAST(duration - ring AS BIGINT) ELSE 0 END AS billsec,
                   CASE WHEN ans = 1 THEN 'ANSWERED' ELSE 'NO ANSWER' END AS disposition,
                   'DOCUMENTATION' AS amaflags, docId AS uniqueid, '' AS userfield, '' AS peeraccount,
                   connId AS linkedid, row_number() OVER () AS sequence
                 FROM t)
            TO '{paths['asterisk']}' (HEADER false, DELIMITER ',', QUOTE '"', FORCE_QUOTE *)"""
    )
    con.close()
    return paths


def timed(fn: Callable[[], int], repeats: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), rows


def callboard_import(path: Path, fmt: str, folder: Path, **kw: str) -> Callable[[], int]:
    def run() -> int:
        db = folder / f"wh-{time.perf_counter_ns()}.duckdb"
        wh = DuckDBWarehouse.open(db)
        try:
            result = wh.append("bench", read_source(fmt, path, time_zone=kw.get("time_zone")))
            return result.inserted
        finally:
            wh.close()
            db.unlink(missing_ok=True)
    return run


def duckdb_baseline(sql: str, folder: Path) -> Callable[[], int]:
    def run() -> int:
        db = folder / f"base-{time.perf_counter_ns()}.duckdb"
        con = duckdb.connect(str(db))
        try:
            con.execute(f"CREATE TABLE t AS {sql}")
            return con.execute("SELECT count(*) FROM t").fetchone()[0]
        finally:
            con.close()
            db.unlink(missing_ok=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = make_data(args.rows, folder)
        print(f"data: {args.rows:,} segments prepared in {time.perf_counter() - t0:.1f} s")
        cases = [
            ("canonical Parquet", callboard_import(paths["parquet"], "canonical", folder),
             duckdb_baseline(f"SELECT * FROM read_parquet('{paths['parquet']}')", folder)),
            ("canonical CSV", callboard_import(paths["csv"], "canonical", folder),
             duckdb_baseline(f"SELECT * FROM read_csv('{paths['csv']}')", folder)),
            ("Asterisk Master.csv", callboard_import(paths["asterisk"], "asterisk", folder, time_zone="UTC"),
             duckdb_baseline(f"SELECT * FROM read_csv('{paths['asterisk']}', header=false)", folder)),
        ]
        print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, "
              f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}; median of {args.repeats}")
        print(f"{'source':<22}{'callboard rows/s':>18}{'duckdb rows/s':>16}{'ratio':>8}")
        for name, ours, base in cases:
            t_ours, n_ours = timed(ours, args.repeats)
            t_base, n_base = timed(base, args.repeats)
            print(f"{name:<22}{n_ours / t_ours:>18,.0f}{n_base / t_base:>16,.0f}{t_ours / t_base:>7.2f}x")


if __name__ == "__main__":
    main()
