"""Engine times of the call-centre analytics templates on the cached 10M-segment organisation.

    python -m benchmarks.analytics [--repeats 3] [--scopes ws,all]

A quick look at callboard's own times only: one workspace's year (``ws``) and the whole table
(``all``). The comparison with hand-written DuckDB SQL, PostgreSQL and pandas (benchmarks/competitors/lost.py,
usage.py, analytics_pandas.py) is ``python -m benchmarks.run --templates <these>``. Run benchmarks/run.py
once first to build the cache.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import data
from benchmarks.common import NOW, BenchWarehouse, load, machine, scope_for
from callboard.reports.request import resolve_request
from callboard.reports.runner import run_report

TEMPLATES = ("RingTimeDistribution", "CallDurationDistribution", "UnreturnedLostCalls", "LostCallRevenue",
             "TrunkUtilisation", "CallsByAccountCode", "CallingUsage", "CallingDetailedCallHistory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scopes", default="ws,all")
    parser.add_argument("--templates", default=",".join(TEMPLATES))
    args = parser.parse_args()
    manifest = data.load_manifest()
    if manifest is None:
        raise SystemExit("no cached benchmark organisation: run `python -m benchmarks.run --quick` once first")
    wh = BenchWarehouse.open(data.WAREHOUSE_FILE)
    print(f"machine: {machine()}")
    print(f"{'template':<28}{'scope':<6}{'rows':>10}{'median s':>10}{'engine ms':>11}{'load':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for template in [t for t in args.templates.split(",") if t]:
            for scope_name in [s for s in args.scopes.split(",") if s]:
                if template == "CallingDetailedCallHistory" and scope_name == "all":
                    continue  # a 10M-row list exceeds rowLimit; the list case is measured per workspace
                scope, body = scope_for(scope_name, manifest, template)
                body = {**body, "countryCode": "GB", "totalTrunks": 30}
                req = resolve_request(body, now=NOW)
                ws = scope.workspace or BenchWarehouse.ALL
                times, engine_ms, rows = [], [], 0
                for i in range(args.repeats):
                    t0 = time.perf_counter()
                    result = run_report(wh, ws, req, Path(tmp) / f"{template}-{scope_name}-{i}.parquet")
                    times.append(time.perf_counter() - t0)
                    engine_ms.append(result.query_duration_ms)
                    rows = result.total_count
                print(f"{template:<28}{scope_name:<6}{rows:>10,}{statistics.median(times):>10.2f}"
                      f"{statistics.median(engine_ms):>11,.0f}{load()[0]:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
