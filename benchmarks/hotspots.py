"""Where callboard's engine time goes, per template: time splits of ``run_report`` (pre-query, the
report query through Ibis, the same SQL run directly on DuckDB, normalise + summary, snapshot write)
and optionally a cProfile of the whole call.

    python -m benchmarks.hotspots [--templates CallList] [--scope ws|all] [--cprofile] [--repeats 3]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import ibis

from benchmarks import data
from benchmarks.common import NOW, BenchWarehouse, scope_for


def splits(wh: Any, ws: str, req: Any, snap: Path) -> dict[str, float]:
    from callboard.reports import dates
    from callboard.reports.expression import build_expression, prepare
    from callboard.reports.filters import apply
    from callboard.reports.normalise import normalise, summary, write_snapshot
    from callboard.reports.templates.base import BuildContext

    out: dict[str, float] = {}
    t = time.perf_counter()
    segs = prepare(wh, ws, req)
    in_range = apply(segs, [c for c in req.conditions if c.stage == "segment" and c.field == "start"])
    stats = in_range.aggregate(n=in_range.count(), lo=in_range.start.min(), hi=in_range.end.max())
    row = stats.to_pyarrow().to_pylist()[0]
    out["pre-query"] = time.perf_counter() - t
    t = time.perf_counter()
    lo, hi = row["lo"], row["hi"]
    runs = dates.utc_offset_intervals(req.tz, lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC) + timedelta(days=1))
    ctx = BuildContext.create(wh.functions, runs)
    expr, names = build_expression(segs, req, ctx)
    sql = ibis.to_sql(expr, dialect="duckdb")
    out["build+compile"] = time.perf_counter() - t
    t = time.perf_counter()
    table = expr.to_pyarrow()
    out["report query (ibis)"] = time.perf_counter() - t
    t = time.perf_counter()
    wh.con.con.sql(str(sql)).to_arrow_table()
    out["same SQL, raw duckdb"] = time.perf_counter() - t
    t = time.perf_counter()
    table = normalise(table.slice(0, req.request.rowLimit), req.template, names)
    summary(table, req)
    out["normalise+summary"] = time.perf_counter() - t
    t = time.perf_counter()
    display = [n for n in req.display_fields if n in table.column_names]
    write_snapshot(table.select(display), snap, req)
    out["snapshot write"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--templates", default="")
    parser.add_argument("--scope", default="ws")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--sql", action="store_true", help="print the compiled report SQL")
    args = parser.parse_args()
    from callboard.reports.request import resolve_request
    from callboard.reports.runner import run_report
    from callboard.reports.templates import TEMPLATES

    manifest = data.build()
    wh = BenchWarehouse.open(data.WAREHOUSE_FILE)
    names = [t for t in args.templates.split(",") if t] or list(TEMPLATES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            scope, body = scope_for(args.scope, manifest, name)
            req = resolve_request(body, now=NOW)
            ws = scope.workspace or BenchWarehouse.ALL
            snap = Path(tmp) / f"{name}.parquet"
            runs = [splits(wh, ws, req, snap) for _ in range(args.repeats)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{name} [{args.scope}]: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in med.items()),
                  flush=True)
            if args.sql:
                from callboard.reports import dates
                from callboard.reports.expression import build_expression, prepare
                from callboard.reports.templates.base import BuildContext

                runs_ = dates.utc_offset_intervals(req.tz, scope.lo.replace(tzinfo=UTC),
                                                   scope.hi.replace(tzinfo=UTC))
                expr, _ = build_expression(prepare(wh, ws, req), req, BuildContext.create(wh.functions, runs_))
                print(ibis.to_sql(expr, dialect="duckdb"))
            if args.cprofile:
                prof = cProfile.Profile()
                prof.enable()
                run_report(wh, ws, req, snap)
                prof.disable()
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
                print(buf.getvalue())
    wh.close()


if __name__ == "__main__":
    main()
