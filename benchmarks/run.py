"""callboard's SPEC §7 benchmark suite: run by hand, never a CI gate.

    python -m benchmarks.run [--templates CallList,CallsByDate] [--quick] [--skip-pg] [--skip-http]

Builds the ~10-million-segment organisation once (cached in ``benchmarks/.cache/``), then for every
template that exists in the engine measures, in the same run on the same data:

* callboard's engine (``run_report``: both engine queries, normalising, summary, Parquet snapshot), after one
  untimed warm-up run (the first run of a shape compiles its SQL; its time is kept in the notes);
* callboard end to end over HTTP (uvicorn subprocess on 127.0.0.1; POST, poll, read ``/data``);
* a hand-written DuckDB SQL query returning the same answer (same file, same threads);
* PostgreSQL 15 running that SQL (its dialect) with an index on ``(workspace, start)``;
* a pandas script (read the Parquet copy with filters + compute).

on two scopes: ``ws`` = one workspace's year (~480k segments) and ``all`` = the whole table (~10M
segments, one org-wide report; aggregates only: a list of 10M rows exceeds ``rowLimit``). Every
competitor's answer is checked against callboard's (row count and sums of several columns) before
its time is reported. Then: ingest rate (benchmarks/ingest.py), the first 1,000-row page of a call
list over HTTP, one million rows streamed as JSON over HTTP, a one-million-row zipped CSV through the
Webex route. Results: a table on stdout and ``benchmarks/.cache/results.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks import data
from benchmarks.common import CASES, NOW, ROOT, YEAR, BenchWarehouse, body, load, machine, scope_for
from benchmarks.competitors.base import DUCK, PG, Scope
from benchmarks.competitors.cases import fingerprint, same


@dataclass
class Timing:
    times: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    ok: bool | None = None  # answer matches callboard's
    note: str = ""
    at_least: float | None = None  # stopped at this many seconds (statement_timeout): the time is longer

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": self.median, "times_s": self.times, "load1": self.loads, "same_answer": self.ok,
                "note": self.note, "at_least_s": self.at_least}


def measure(fn: Callable[[], Any], repeats: int, t: Timing) -> Any:
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        t.times.append(time.perf_counter() - t0)
        t.loads.append(load()[0])
    return out


@dataclass
class Row:
    template: str
    scope: str
    result_rows: int = 0
    engine: Timing = field(default_factory=Timing)
    engine_query_ms: list[int] = field(default_factory=list)
    http: Timing = field(default_factory=Timing)
    duck: Timing = field(default_factory=Timing)
    pg: Timing = field(default_factory=Timing)
    pandas: Timing = field(default_factory=Timing)
    fingerprint: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"template": self.template, "scope": self.scope, "result_rows": self.result_rows,
                "engine": self.engine.as_dict(), "engine_query_ms": self.engine_query_ms,
                "http": self.http.as_dict(), "duckdb_sql": self.duck.as_dict(), "postgres": self.pg.as_dict(),
                "pandas": self.pandas.as_dict(), "fingerprint": self.fingerprint}


# ---- phase 1: callboard engine, hand-written DuckDB SQL, pandas ----------------------------------------------
def run_local(rows: list[Row], manifest: data.Manifest, tmp: Path, repeats: int, skip_pandas: bool) -> None:
    from callboard.reports.request import resolve_request
    from callboard.reports.runner import run_report

    wh = BenchWarehouse.open(data.WAREHOUSE_FILE)
    duck = duckdb.connect(str(data.WAREHOUSE_FILE), read_only=True)
    duck.execute("SET TimeZone = 'UTC'")
    try:
        for row in rows:
            case = CASES[row.template]
            scope, b = scope_for(row.scope, manifest, row.template)
            req = resolve_request(b, now=NOW)
            ws = scope.workspace or BenchWarehouse.ALL
            snap = tmp / f"{row.template}-{row.scope}.parquet"
            print(f"  {row.template} [{row.scope}] callboard …", end="", flush=True)

            def ours(req: Any = req, ws: str = ws, snap: Path = snap, row: Row = row) -> Any:
                res = run_report(wh, ws, req, snap)
                row.engine_query_ms.append(res.query_duration_ms)
                return res

            reps = repeats if row.scope == "ws" else min(repeats, 2)
            # one untimed run first (callboard compiles the shape's SQL once and caches it; both
            # sides then read warm data): the medians are warm figures, the cold one is kept apart
            t_cold = time.perf_counter()
            ours()
            row.engine.note = f"cold (first run, SQL compiled): {time.perf_counter() - t_cold:.3f} s"
            row.engine_query_ms.clear()
            res = measure(ours, reps, row.engine)
            row.result_rows = res.total_count
            mine = pq.read_table(snap)
            row.fingerprint = fingerprint(mine, case.checks)
            print(f" {row.engine.median:.3f} s; duckdb-sql …", end="", flush=True)

            sql = case.sql(DUCK, scope)
            duck.sql(sql).to_arrow_table()  # warm, like callboard's untimed first run
            out_file = tmp / f"duck-{row.template}-{row.scope}.parquet"
            if case.kind == "list":
                def hand(sql: str = sql, out_file: Path = out_file) -> pa.Table:
                    duck.execute(f"COPY ({sql}) TO '{out_file}' (FORMAT parquet, COMPRESSION zstd)")
                    return pa.table({})
                measure(hand, reps, row.duck)
                theirs = pq.read_table(out_file)
            else:
                theirs = measure(lambda sql=sql: duck.sql(sql).to_arrow_table(), reps, row.duck)
            diff = same(row.fingerprint, fingerprint(theirs, case.checks))
            row.duck.ok = not diff
            row.duck.note = "; ".join(diff)
            print(f" {row.duck.median:.3f} s{'' if not diff else ' DIFFERENT: ' + row.duck.note}", end="", flush=True)

            if not skip_pandas and case.pandas is not None:
                pandas_fn = case.pandas
                print("; pandas …", end="", flush=True)
                until = scope.hi + timedelta(hours=case.lookahead_hours)  # lost calls: the call-back window
                filters: list[Any] = [("start", ">=", scope.lo), ("start", "<", until)]
                if scope.workspace:
                    filters.insert(0, ("workspace", "==", scope.workspace))

                def pandas_run(fn: Any = pandas_fn, scope: Scope = scope, filters: list[Any] = filters) -> Any:
                    df = pq.read_table(data.PARQUET_FILE, filters=filters,
                                       columns=[c for c in pq.read_schema(data.PARQUET_FILE).names
                                                if c not in ("extra", "workspace")]).to_pandas()
                    return fn(df, scope)

                out = measure(pandas_run, repeats if row.scope == "ws" else 1, row.pandas)
                theirs_pd = pa.Table.from_pandas(out, preserve_index=False)
                diff = same(row.fingerprint, fingerprint(theirs_pd, case.checks))
                row.pandas.ok = not diff
                row.pandas.note = "; ".join(diff)
                print(f" {row.pandas.median:.3f} s{'' if not diff else ' DIFFERENT: ' + row.pandas.note}",
                      end="", flush=True)
            print(flush=True)
    finally:
        duck.close()
        wh.close()


# ---- phase 2: PostgreSQL ------------------------------------------------------------------------------------
def run_pg(rows: list[Row], manifest: data.Manifest, repeats: int, timeout_s: int) -> dict[str, Any]:
    from benchmarks.competitors.postgres import PgCluster

    info: dict[str, Any] = {}
    pg = PgCluster()
    pg.start()
    try:
        loaded = pg.ensure_loaded()
        info["load_seconds"] = loaded
        info["version"] = pg.version()
        with pg.connect() as con:
            con.execute(f"SET statement_timeout = '{timeout_s}s'")
            con.execute("SELECT count(*) FROM calls").fetchone()  # warm the cache a little
            for row in rows:
                case = CASES[row.template]
                scope, _ = scope_for(row.scope, manifest, row.template)
                sql = case.sql(PG, scope)
                print(f"  {row.template} [{row.scope}] postgres …", end="", flush=True)
                reps = repeats if row.scope == "ws" else 1
                names: list[str] = []
                fetched: list[Any] = []

                def q(sql: str = sql, names: list[str] = names, fetched: list[Any] = fetched) -> None:
                    cur = con.execute(sql)
                    names[:] = [d.name for d in cur.description or []]
                    fetched[:] = cur.fetchall()

                try:
                    measure(q, reps, row.pg)
                except Exception as exc:  # statement_timeout and the like: report, keep going
                    row.pg.note = f"{type(exc).__name__}: {str(exc).strip()[:120]}"
                    row.pg.times.clear()
                    if "statement timeout" in str(exc):
                        row.pg.at_least = float(timeout_s)
                    print(f" failed ({row.pg.note})", flush=True)
                    continue
                cols = {n: [r[i] for r in fetched] for i, n in enumerate(names)}
                theirs = pa.table({n: pa.array([float(v) if isinstance(v, int | float) or hasattr(v, "as_tuple")
                                                else v for v in vals]) for n, vals in cols.items()})
                diff = same(row.fingerprint, fingerprint(theirs, case.checks))
                row.pg.ok = not diff
                row.pg.note = "; ".join(diff)
                print(f" {row.pg.median:.3f} s{'' if not diff else ' DIFFERENT: ' + row.pg.note}", flush=True)
    finally:
        pg.stop()
    return info


# ---- phase 3: HTTP --------------------------------------------------------------------------------------------
def run_http(rows: list[Row], manifest: data.Manifest, tmp: Path, repeats: int, templates: set[str]
             ) -> dict[str, Any]:
    from benchmarks import http_bench as H

    out: dict[str, Any] = {}
    ws = manifest.workspaces[0]
    wss = [(w.id, w.name, w.time_zone) for w in manifest.workspaces]
    with H.serve(tmp / "http-main", data.WAREHOUSE_FILE, wss) as srv:
        for row in rows:
            if row.scope != "ws":
                continue
            _, b = scope_for(row.scope, manifest, row.template)
            print(f"  {row.template} [ws] http …", end="", flush=True)
            docs: list[dict[str, Any]] = []
            measure(lambda b=b, docs=docs: docs.append(H.report_e2e(srv, ws.id, b)[1]), repeats, row.http)
            doc = docs[-1]
            ok = doc.get("totalCount") == row.result_rows
            row.http.ok = ok
            row.http.note = "" if ok else f"totalCount {doc.get('totalCount')} vs {row.result_rows}"
            print(f" {row.http.median:.3f} s", flush=True)
        out["first_page"] = first_pages(srv, ws, templates, repeats, wait=True)
        out["first_page_polling"] = first_pages(srv, ws, templates, repeats, wait=False)
    dense = data.build_dense()
    dws = data.dense_workspace()
    with H.serve(tmp / "http-dense", dense, [(dws, "Dense", "UTC")], poll=0.01) as srv:
        print("  1M rows as JSON …", end="", flush=True)
        loc = H.submit(srv, dws, body("CallListByUserSegmented", "UTC", ("2025-03-01T00:00:00", "2025-04-01T00:00:00")))
        t0 = time.perf_counter()
        status = H.wait_complete(srv, loc)
        ready = time.perf_counter() - t0
        streams = [H.stream_document(srv, loc) for _ in range(max(1, min(repeats, 3)))]
        best = sorted(streams, key=lambda s: s.seconds)[len(streams) // 2]
        out["stream_1m"] = {"rows": status.get("totalCount"), "engine_ready_s": ready,
                            "queryDuration_ms": status.get("queryDuration"),
                            "seconds": [s.seconds for s in streams], "bytes": best.bytes,
                            "median_mb_s": best.mb_per_s, "rss_before_mb": best.rss_before / 2**20,
                            "rss_peak_mb": best.rss_peak / 2**20, "server_vmhwm_mb": H.hwm(srv.pid) / 2**20,
                            "load1": load()[0]}
        print(f" {best.mb_per_s:.0f} MB/s ({best.bytes / 1e6:.0f} MB in {best.seconds:.2f} s), RSS "
              f"{best.rss_before / 2**20:.0f} → {best.rss_peak / 2**20:.0f} MB", flush=True)
        print("  1M-row zipped CSV (Webex) …", end="", flush=True)
        wx = [H.webex_zip(srv, dws, 101, "2025-03-01", "2025-03-31") for _ in range(max(1, min(repeats, 3)))]
        med = sorted(wx, key=lambda w: w.seconds)[len(wx) // 2]
        out["webex_zip_1m"] = {"rows": med.rows, "seconds": [w.seconds for w in wx], "median_s": med.seconds,
                               "ready_s": med.ready_seconds, "download_s": med.download_seconds,
                               "zip_bytes": med.size, "load1": load()[0]}
        print(f" {med.seconds:.2f} s ({med.rows:,} rows, ready {med.ready_seconds:.2f} s, "
              f"download {med.download_seconds:.2f} s)", flush=True)
    return out


def first_pages(srv: Any, ws: data.BenchWorkspace, templates: set[str], repeats: int, wait: bool
                ) -> dict[str, Any]:
    """POST → page 1 of the two call lists, a month and a year of one workspace; ``wait``: one GET
    with ``Prefer: wait``, else polling every 5 ms. The first run of each shape compiles its SQL."""
    from benchmarks import http_bench as H

    res: dict[str, Any] = {}
    names = [n for n in ("CallListByUserSegmented", "CallList") if n in templates] or ["CallListByUserSegmented"]
    for name in names:
        for label, span in (("month", ("2025-12-01T00:00:00", "2026-01-01T00:00:00")), ("year", YEAR)):
            times: list[float] = []
            doc: dict[str, Any] = {}
            for _ in range(max(repeats, 3) + 1):
                t, doc = H.first_page(srv, ws.id, body(name, ws.time_zone, span), wait=wait)
                times.append(t)
            warm = times[1:]
            res[f"{name} {label}"] = {
                "template": name, "median_s": statistics.median(warm), "cold_s": times[0], "times_s": times,
                "totalCount": doc.get("totalCount"), "rows": len(doc.get("data") or []),
                "has_summary": bool(doc.get("summary")), "queryDuration_ms": doc.get("queryDuration"),
                "load1": load()[0]}
            print(f"  first page of {name} ({label}, {'Prefer: wait' if wait else 'polling'}): "
                  f"{statistics.median(warm) * 1000:.0f} ms warm, {times[0] * 1000:.0f} ms cold "
                  f"(totalCount {doc.get('totalCount')}, engine {doc.get('queryDuration')} ms)", flush=True)
    return res


# ---- phase 4: ingest -----------------------------------------------------------------------------------------
def run_ingest(rows: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ingest", "--rows", str(rows),
                           "--repeats", "1"], capture_output=True, text=True, cwd=str(ROOT))
    text = proc.stdout + proc.stderr
    print("  " + text.strip().replace("\n", "\n  "), flush=True)
    return {"output": text, "seconds": time.perf_counter() - t0, "load1": load()[0]}


# ---- the table ------------------------------------------------------------------------------------------------
def fmt_s(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "—"


def table(rows: list[Row]) -> str:
    head = ("| template | scope | rows | callboard engine | callboard HTTP | DuckDB SQL | PostgreSQL | pandas "
            "| cb/DuckDB (≤1.25) | PG/cb (≥10) | pandas/cb | load1 |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        e, d, p, pdx = r.engine.median, r.duck.median, r.pg.median, r.pandas.median

        def mark(t: Timing) -> str:
            return "" if t.ok in (None, True) else " ≠"

        if p is None and r.pg.at_least:  # stopped by statement_timeout: a lower bound
            pg_cell, pg_ratio = f"> {fmt_s(r.pg.at_least)}", f"> {ratio(r.pg.at_least, e)}"
        else:
            pg_cell = fmt_s(p) + mark(r.pg) + (f" ({r.pg.note[:30]})" if p is None and r.pg.note else "")
            pg_ratio = ratio(p, e)
        lines.append(
            f"| {r.template} | {r.scope} | {r.result_rows:,} | {fmt_s(e)} | {fmt_s(r.http.median)} | "
            f"{fmt_s(d)}{mark(r.duck)} | {pg_cell} "
            f"| {fmt_s(pdx)}{mark(r.pandas)} | {ratio(e, d)} | {pg_ratio} | {ratio(pdx, e)} | "
            f"{statistics.mean(r.engine.loads):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", default="", help="comma-separated template names (default: every one)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skip the whole-table scope and ingest")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--scopes", default=None, help="ws,all (default: both; --quick: ws)")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument("--pg-timeout", type=int, default=600, help="PostgreSQL statement_timeout, seconds")
    parser.add_argument("--out", type=Path, default=data.CACHE / "results.json")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    scopes = (args.scopes or ("ws" if args.quick else "ws,all")).split(",")

    from callboard.reports.templates import TEMPLATES

    wanted = [t for t in args.templates.split(",") if t] or list(CASES)
    missing = [t for t in wanted if t not in CASES]
    if missing:
        raise SystemExit(f"no benchmark case for {missing}; cases: {', '.join(CASES)}")
    landed = [t for t in wanted if t in TEMPLATES]
    skipped = [t for t in wanted if t not in TEMPLATES]
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; {info['os']}; python "
          f"{info['python']}, duckdb {info['duckdb']}, ibis {info['ibis']}, pandas {info['pandas']}, "
          f"pyarrow {info['pyarrow']}; load average {info['loadavg_start']}", flush=True)
    if skipped:
        print(f"not in the engine yet (skipped): {', '.join(skipped)}")
    t0 = time.perf_counter()
    manifest = data.build()
    print(f"data: {manifest.rows:,} segments in {len(manifest.workspaces)} workspaces "
          f"(built in {manifest.build_seconds + manifest.optimize_seconds + manifest.parquet_seconds:.0f} s, "
          f"cached; ready in {time.perf_counter() - t0:.1f} s)", flush=True)
    rows = [Row(t, s) for t in landed for s in scopes if s in CASES[t].scopes]
    results: dict[str, Any] = {"machine": info, "repeats": repeats, "manifest_rows": manifest.rows,
                               "started": datetime.now(UTC).isoformat()}
    tmp = Path(tempfile.mkdtemp(prefix="callboard-bench-"))
    try:
        print("engine, DuckDB SQL, pandas:", flush=True)
        run_local(rows, manifest, tmp, repeats, args.skip_pandas)
        if not args.skip_pg:
            print("PostgreSQL 15:", flush=True)
            results["postgres"] = run_pg(rows, manifest, max(1, min(repeats, 3)), args.pg_timeout)
        if not args.skip_http:
            print("HTTP:", flush=True)
            results["http"] = run_http(rows, manifest, tmp, max(1, min(repeats, 3)), set(landed))
        if not (args.skip_ingest or args.quick):
            print("ingest (benchmarks/ingest.py):", flush=True)
            results["ingest"] = run_ingest(args.ingest_rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["rows"] = [r.as_dict() for r in rows]
    results["loadavg_end"] = load()
    results["table"] = table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str))
    print()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB RAM; load average at start "
          f"{info['loadavg_start']}, at end {results['loadavg_end']}; after one untimed warm-up, medians of {repeats} "
          f"(PostgreSQL and HTTP: of {max(1, min(repeats, 3))}; scope 'all': engine and DuckDB of "
          f"{min(repeats, 2)}, pandas and PostgreSQL 1)")
    print(results["table"])
    http = results.get("http") or {}
    for key in ("first_page", "first_page_polling"):
        for label, fp in (http.get(key) or {}).items():
            print(f"{key} {label}: {fp['median_s'] * 1000:.0f} ms (budget 50 ms), totalCount {fp['totalCount']}, "
                  f"{fp['rows']} rows, summary {fp['has_summary']}")
    if "stream_1m" in http:
        s = http["stream_1m"]
        print(f"1M rows JSON: {s['median_mb_s']:.0f} MB/s (budget 100), {s['bytes'] / 1e6:.0f} MB, server RSS "
              f"{s['rss_before_mb']:.0f} → peak {s['rss_peak_mb']:.0f} MB")
    if "webex_zip_1m" in http:
        w = http["webex_zip_1m"]
        print(f"1M-row zipped CSV: {w['median_s']:.2f} s (budget 3 s): ready {w['ready_s']:.2f} s, "
              f"download {w['download_s']:.2f} s, {w['zip_bytes'] / 1e6:.0f} MB zip")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
