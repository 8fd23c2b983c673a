"""Ingest rates: callboard's importers end to end (read + validate + atomic idempotent append) beside
DuckDB's own ``read_parquet`` / ``read_csv`` into a table, measured in the same run on the same data;
then ``callboard import`` offline beside the same import through a running ``callboard serve`` (the
path the command takes while a server holds the data folder), rows/s side by side.

    python -m benchmarks.ingest [--rows 1000000] [--server-only] [--files 4]

Run by hand; not a test. SPEC §7 aims at ≥ 500,000 canonical rows/s; an import through the server
should keep ≥ 80 % of the offline rate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.common import free_port
from callboard.generate import OrgConfig, generate_batches, ndjson_lines
from callboard.service.admin import create_tenant, create_workspace
from callboard.service.imports import import_file
from callboard.service.local_server import running_server
from callboard.service.via_server import FileImporter, ServerClient
from callboard.settings import Settings
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
    paths = {"parquet": folder / "calls.parquet", "csv": folder / "calls.csv", "asterisk": folder / "Master.csv",
             "ndjson": folder / "calls.ndjson"}
    pq.write_table(table, paths["parquet"])
    # canonical NDJSON as `callboard generate` writes it (its default output)
    paths["ndjson"].write_bytes(pc.binary_join(pa.array([ndjson_lines(table)], pa.list_(pa.string())), "")[0]
                                .as_buffer().to_pybytes())
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


# ---- offline vs through a running server ---------------------------------------------------------
def split(path: Path, parts: int, folder: Path) -> list[Path]:
    """``path`` (one record per line after an optional header) cut into ``parts`` files of about equal rows."""
    lines = path.read_bytes().splitlines(keepends=True)
    header = [lines.pop(0)] if path.suffix == ".csv" and path.name != "Master.csv" else []
    size = -(-len(lines) // parts)
    out = []
    for i in range(parts):
        part = folder / f"{path.stem}-{i + 1}{path.suffix}"
        part.write_bytes(b"".join(header + lines[i * size:(i + 1) * size]))
        out.append(part)
    return out


def new_folder(root: Path) -> tuple[Settings, str]:
    """A fresh data folder with one workspace (every run inserts all its rows into an empty warehouse)."""
    settings = Settings(data_dir=root / f"data-{time.perf_counter_ns()}")
    tenant = create_tenant(settings, "bench")
    return settings, create_workspace(settings, tenant, "bench")


def offline_import(root: Path, paths: list[Path], fmt: str, tz: str | None) -> tuple[float, int]:
    """``callboard import`` with no server: each file read and appended by this process."""
    settings, ws = new_folder(root)
    try:
        t0 = time.perf_counter()
        rows = sum(import_file(settings, ws, p, fmt, time_zone=tz).inserted for p in paths)
        return time.perf_counter() - t0, rows
    finally:
        shutil.rmtree(settings.data_dir, ignore_errors=True)


def server_import(root: Path, paths: list[Path], fmt: str, tz: str | None) -> tuple[float, int]:
    """The same files through a `callboard serve` holding a fresh data folder (its start not timed)."""
    settings, ws = new_folder(root)
    env = {**os.environ, "CALLBOARD_DATA_DIR": str(settings.data_dir), "CALLBOARD_WORKERS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "callboard.cli", "serve", "--port", str(free_port())], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (info := running_server(settings)) is None or not ServerClient(info).ready(1.0):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("callboard serve did not start")
            time.sleep(0.1)
        t0 = time.perf_counter()
        with FileImporter(ServerClient(info), ws, paths, fmt, time_zone=tz) as importer:
            rows = sum(importer.next_file().inserted for _ in paths)
        return time.perf_counter() - t0, rows
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(settings.data_dir, ignore_errors=True)


def compare_server(paths: dict[str, Path], folder: Path, files: int, repeats: int) -> None:
    sources = [("canonical NDJSON", paths["ndjson"], "canonical", None),
               ("canonical Parquet", paths["parquet"], "canonical", None),
               ("canonical CSV", paths["csv"], "canonical", None),
               ("Asterisk Master.csv", paths["asterisk"], "asterisk", "UTC")]
    cases: list[tuple[str, list[Path], str, str | None]] = []
    for name, path, fmt, tz in sources:
        cases.append((f"{name}, 1 file", [path], fmt, tz))
    if files > 1:  # one format cut into several files: the next file is read while the server stores one
        cases.append((f"canonical NDJSON, {files} files", split(paths["ndjson"], files, folder), "canonical", None))
    print(f"\ncallboard import, offline vs through a running callboard serve (median of {repeats}, alternating)")
    print(f"{'source':<30}{'offline rows/s':>16}{'via server rows/s':>19}{'share':>8}")
    for name, files_of_case, fmt, tz in cases:
        offline, served = [], []
        rows = 0
        for _ in range(repeats):  # alternating, so a slow spell of the machine hits both alike
            t, rows = offline_import(folder, files_of_case, fmt, tz)
            offline.append(t)
            t, served_rows = server_import(folder, files_of_case, fmt, tz)
            assert served_rows == rows, (served_rows, rows)
            served.append(t)
        t_off, t_srv = statistics.median(offline), statistics.median(served)
        print(f"{name:<30}{rows / t_off:>16,.0f}{rows / t_srv:>19,.0f}{t_off / t_srv:>7.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server-only", action="store_true", help="only offline vs through a running server")
    parser.add_argument("--files", type=int, default=4, help="files the multi-file server case cuts the data in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = make_data(args.rows, folder)
        print(f"data: {args.rows:,} segments prepared in {time.perf_counter() - t0:.1f} s")
        print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cpus, python "
              f"{platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pa.__version__}")
        if args.server_only:
            compare_server(paths, folder, args.files, args.repeats)
            return
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
        compare_server(paths, folder, args.files, args.repeats)


if __name__ == "__main__":
    main()
