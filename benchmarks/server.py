"""The callboard API for the HTTP benchmarks, in its own process: ``create_app`` on a benchmark
warehouse opened read-only (so the benchmark process can read the same file), one in-process report
workers (``--workers``, default one; ``0`` takes the ``CALLBOARD_WORKERS`` setting), uvicorn on 127.0.0.1.

    python -m benchmarks.server --data-dir D --warehouse W --port P [--poll 1.0] [--workers N]

The data folder's metadata store (tenant, workspaces with the warehouse's ids, token) is prepared by
:func:`benchmarks.http_bench.prepare_data_dir` before this starts.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import ibis
import uvicorn

from callboard.api.app import create_app
from callboard.settings import Settings
from callboard.warehouse import DuckDBWarehouse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--poll", type=float, default=None, help="worker poll seconds (default: the setting's)")
    parser.add_argument("--workers", type=int, default=1, help="report workers (0: the CALLBOARD_WORKERS setting)")
    args = parser.parse_args()
    if args.poll is not None:
        os.environ["CALLBOARD_WORKER_POLL_SECONDS"] = str(args.poll)
    settings = Settings(data_dir=args.data_dir, rate_limit_per_minute=0)
    wh = DuckDBWarehouse(ibis.duckdb.connect(str(args.warehouse), read_only=True), path=args.warehouse)
    app = create_app(settings, warehouse=wh, workers=args.workers or None, announce=False)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
