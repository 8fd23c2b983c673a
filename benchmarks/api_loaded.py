"""Engine time against the hand query on data loaded the way a live deployment gets it: one
workspace's synthetic segments POSTed to ``/workspaces/{ws}/calls`` in time order, batch by batch,
never ``optimize``-d -- beside the same data after ``optimize`` (sorted by workspace and start), in
one run.

The benchmark organisation of ``benchmarks.run`` is loaded in one go and sorted; here each batch is
an append (its calls' stored rollups rolled up again in the same transaction), so the tables are in
arrival order. Per template, interleaved as in ``benchmarks.interleaved``: ``run_report`` (pre-query,
query, normalising, summary, snapshot), the report's own SQL and the hand-written DuckDB query, whose
answers are checked against each other first.

    python -m benchmarks.api_loaded [--users 200] [--days 90] [--batch 5000] [--period 30] [--rounds 9]
        [--templates CallSummaryByUser,CallSummaryByHuntGroup]

The API runs in this process (the real app and ingest route, through Starlette's test client): the
measurement reads the warehouse the app wrote, on the same connection.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.common import NOW
from benchmarks.competitors.base import DUCK, Scope
from benchmarks.competitors.cases import all_cases, fingerprint, same
from benchmarks.interleaved import _interleave, _ms

PARQUET = "application/vnd.apache.parquet"


def _segments(users: int, days: int, start: dt.date, time_zone: str) -> pa.Table:
    """The generator's segments of one organisation, sorted by start (the order calls happen in)."""
    from callboard.generate import OrgConfig, generate_batches

    config = OrgConfig(seed=11, users=users, start=start, days=days, time_zone=time_zone)
    table = pa.concat_tables(list(generate_batches(config)))
    return table.take(pc.sort_indices(table, [("start", "ascending"), ("docId", "ascending")]))


def _post_in_order(data_dir: Path, warehouse: Any, ws: str, table: pa.Table, batch: int) -> float:
    """POST ``table`` in consecutive batches of ``batch`` rows as Parquet; returns the seconds taken."""
    from fastapi.testclient import TestClient

    from benchmarks.http_bench import prepare_data_dir
    from callboard.api.app import create_app
    from callboard.settings import Settings

    token = prepare_data_dir(data_dir, [(ws, "Loaded through the API", "Europe/London")])
    app = create_app(Settings(data_dir=data_dir, rate_limit_per_minute=0), warehouse=warehouse, workers=0,
                     announce=False)
    t0 = time.perf_counter()
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        for lo in range(0, table.num_rows, batch):
            sink = pa.BufferOutputStream()
            pq.write_table(table.slice(lo, batch), sink)
            r = client.post(f"/api/v1.0/workspaces/{ws}/calls", content=sink.getvalue().to_pybytes(),
                            headers={"Content-Type": PARQUET})
            if r.status_code != 200:
                raise RuntimeError(f"ingest refused: {r.status_code} {r.text[:500]}")
    return time.perf_counter() - t0


def _measure(warehouse: Any, ws: str, names: list[str], lo: dt.datetime, hi: dt.datetime, rounds: int,
             label: str, tmp: Path) -> None:
    from callboard.reports import dates
    from callboard.reports.expression import build_expression, prepare, stored_calls
    from callboard.reports.request import resolve_request
    from callboard.reports.runner import run_report
    from callboard.reports.templates.base import BuildContext

    cases = all_cases()
    con = warehouse.con.con
    tz = "Europe/London"
    for name in names:
        case = cases[name]
        body = {"reportTemplateName": name, "timeZoneId": tz, **case.params,
                "metadata": {"dateFilter": {"presetName": "Custom", "start": lo.isoformat(),
                                            "end": hi.isoformat()}}}
        req = resolve_request(body, now=NOW)
        assert req.period is not None
        p_lo = req.period.start_utc.astimezone(dt.UTC).replace(tzinfo=None)
        p_hi = req.period.end_utc.astimezone(dt.UTC).replace(tzinfo=None)
        scope = Scope("ws", ws, tz, p_lo, p_hi, label)
        runs = dates.utc_offset_intervals(req.tz, p_lo.replace(tzinfo=dt.UTC), p_hi.replace(tzinfo=dt.UTC))
        ctx = BuildContext.create(warehouse.functions, runs, stored=stored_calls(warehouse, ws, req))
        expr, _ = build_expression(prepare(warehouse, ws, req), req, ctx)
        engine_sql = str(ibis.to_sql(expr, dialect="duckdb"))
        hand_sql = case.sql(DUCK, scope)
        snap = tmp / f"{name}.parquet"
        result = run_report(warehouse, ws, req, snap)  # also the untimed warm-up
        diff = same(fingerprint(pq.read_table(result.snapshot_path), case.checks),
                    fingerprint(con.sql(hand_sql).to_arrow_table(), case.checks))
        if diff:
            print(f"| {name} | {label} | answers differ: {'; '.join(diff)} |||||", flush=True)
            continue
        con.sql(engine_sql).to_arrow_table()
        m = _interleave({"report": lambda: run_report(warehouse, ws, req, snap),  # noqa: B023 (called right here)
                         "sql": lambda: con.sql(engine_sql).to_arrow_table(),  # noqa: B023
                         "hand": lambda: con.sql(hand_sql).to_arrow_table()}, rounds)  # noqa: B023
        print(f"| {name} | {label} | {_ms(m['report'])} | {_ms(m['sql'])} | {_ms(m['hand'])} | "
              f"{m['report'] / m['hand']:.2f} | {m['sql'] / m['hand']:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200, help="users of the organisation (200: ~2,400 segments a day)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--batch", type=int, default=5000, help="segments per POST")
    parser.add_argument("--period", type=int, default=30, help="days of the reports' period, the last of the data "
                        "(0: all of it)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--templates", default="CallSummaryByUser,CallSummaryByHuntGroup")
    parser.add_argument("--keep", type=Path, help="a copy of the appended warehouse file, kept for a closer look")
    args = parser.parse_args()

    from callboard.warehouse import DuckDBWarehouse

    start = dt.date(2025, 1, 1)
    hi = dt.datetime.combine(start + dt.timedelta(days=args.days), dt.time())
    lo = hi - dt.timedelta(days=args.period) if 0 < args.period < args.days else dt.datetime.combine(start, dt.time())
    names = [t for t in args.templates.split(",") if t]
    ws = str(uuid.uuid4())
    segments = _segments(args.users, args.days, start, "Europe/London")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        wh = DuckDBWarehouse.open(tmp / "calls.duckdb")
        seconds = _post_in_order(tmp / "data", wh, ws, segments, args.batch)
        print(f"{segments.num_rows:,} segments of one workspace POSTed in {-(-segments.num_rows // args.batch)} "
              f"batches of {args.batch:,} in time order: {seconds:.1f} s "
              f"({segments.num_rows / seconds:,.0f} rows/s); period {lo:%Y-%m-%d} to {hi:%Y-%m-%d}\n")
        print("| template | data | run_report | its SQL | hand SQL | run_report ÷ hand | SQL ÷ hand | load |")
        print("|---|---|---|---|---|---|---|---|")
        _measure(wh, ws, names, lo, hi, args.rounds, "appended", tmp)
        if args.keep is not None:
            wh.raw_sql(f"ATTACH '{args.keep}' AS kept")
            wh.raw_sql("COPY FROM DATABASE calls TO kept")
            wh.raw_sql("DETACH kept")
        wh.optimize()
        _measure(wh, ws, names, lo, hi, args.rounds, "optimized", tmp)
        wh.close()


if __name__ == "__main__":
    main()
