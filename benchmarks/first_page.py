"""The SPEC §7 HTTP budgets on their own (no template/PG phases), against a fresh server with the
default worker poll (1 s), so the wake-up on submit is part of what is measured:

* first 1,000-row page of a call list with ``totalCount`` + ``summary`` (POST, then one GET of page 1
  with ``Prefer: wait=30``; ``--poll`` polls every 5 ms instead), one month and one year of one
  workspace; run 1 is cold (compiled-SQL cache empty), the rest warm;
* optionally (``--stream``) one million rows streamed as one JSON document (MB/s, server RSS).

    python -m benchmarks.first_page [--repeats 5] [--template CallList] [--stream]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import data
from benchmarks import http_bench as H
from benchmarks.common import YEAR, body

MONTH = ("2025-12-01T00:00:00", "2026-01-01T00:00:00")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--template", default="CallListByUserSegmented")
    parser.add_argument("--stream", action="store_true", help="also stream 1M rows as JSON (dense workspace)")
    parser.add_argument("--poll", action="store_true", help="poll /data every 5 ms instead of Prefer: wait")
    args = parser.parse_args()
    manifest = data.build()
    ws = manifest.workspaces[0]
    wss = [(w.id, w.name, w.time_zone) for w in manifest.workspaces]
    with tempfile.TemporaryDirectory() as tmp:
        with H.serve(Path(tmp) / "fp", data.WAREHOUSE_FILE, wss) as srv:
            for label, span in (("month", MONTH), ("year", YEAR)):
                times, engine = [], []
                doc: dict = {}
                for _ in range(args.repeats):
                    t, doc = H.first_page(srv, ws.id, body(args.template, ws.time_zone, span), wait=not args.poll)
                    times.append(t)
                    engine.append(doc.get("queryDuration"))
                warm = times[1:] or times
                print(f"first page of {args.template} ({label}, {doc.get('totalCount')} rows, "
                      f"{len(doc.get('data') or [])} on the page, summary {bool(doc.get('summary'))}): "
                      f"cold {times[0] * 1000:.0f} ms, warm median {statistics.median(warm) * 1000:.0f} ms "
                      f"(min {min(warm) * 1000:.0f}); engine ms {engine}; load {os.getloadavg()[0]:.1f}",
                      flush=True)
        if args.stream:
            dense = data.build_dense()
            dws = data.dense_workspace()
            with H.serve(Path(tmp) / "dense", dense, [(dws, "Dense", "UTC")]) as srv:
                loc = H.submit(srv, dws, body("CallListByUserSegmented", "UTC",
                                              ("2025-03-01T00:00:00", "2025-04-01T00:00:00")))
                t0 = time.perf_counter()
                status = H.wait_complete(srv, loc)
                print(f"1M-row report ready in {time.perf_counter() - t0:.2f} s "
                      f"({status.get('totalCount')} rows, engine {status.get('queryDuration')} ms)", flush=True)
                for _ in range(3):
                    s = H.stream_document(srv, loc)
                    print(f"JSON stream: {s.bytes / 1e6:.0f} MB in {s.seconds:.2f} s = {s.mb_per_s:.0f} MB/s; "
                          f"server RSS {s.rss_before / 2**20:.0f} → peak {s.rss_peak / 2**20:.0f} MB; "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
