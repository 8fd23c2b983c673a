"""Peak server memory while one large result streams over HTTP (SPEC §4.1, §7: "memory does not grow
with the row count").

What it does, end to end through the real server:

1. fills a fresh data folder with N synthetic segments (default 1,000,000) in one workspace;
2. starts ``callboard serve`` (uvicorn + one in-process worker) in a child process;
3. posts an ad-hoc ``CallListByUserSegmented`` request covering every row and waits until it is done;
4. streams ``/data`` (the whole document, every row) with httpx, discarding the bytes, while a thread
   samples the server's resident memory (RSS) every 10 ms;
5. prints rows, bytes, throughput, the server's RSS before the stream, its peak during the stream,
   and the growth -- which should be a few tens of MB (one engine batch), far below the document size.

Usage: ``python -m benchmarks.stream_memory [--rows 1000000] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pyarrow as pa

from benchmarks.common import free_port
from callboard.service import admin
from callboard.settings import Settings
from callboard.sources.base import finish_segments
from callboard.warehouse import DuckDBWarehouse

MB = 1024 * 1024


def fill(settings: Settings, workspace: str, rows: int) -> None:
    """``rows`` segments, one a minute from 2024-01-01, written in batches of 250,000."""
    wh = DuckDBWarehouse.open(settings.calls_path)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        for lo in range(0, rows, 250_000):
            hi = min(rows, lo + 250_000)
            idx = range(lo, hi)
            table = finish_segments({
                "docId": pa.array([f"doc-{i:08d}" for i in idx]),
                "connId": pa.array([f"call-{i // 2:08d}" for i in idx]),
                "start": pa.array([t0 + timedelta(minutes=i) for i in idx], pa.timestamp("us", tz="UTC")),
                "userName": pa.array([f"User {i % 500}" for i in idx]),
                "userNum": pa.array([str(1000 + i % 500) for i in idx]),
                "cli": pa.array([f"+4420{i % 9_999_999:07d}" for i in idx]),
                "callType": pa.array([2] * len(idx), pa.int8()),
                "callDir": pa.array([2 + i % 2 for i in idx], pa.int8()),
                "ans": pa.array([1 if i % 4 else 0 for i in idx], pa.int8()),
                "lost": pa.array([0 if i % 4 else 1 for i in idx], pa.int8()),
                "ring": pa.array([float(i % 30) for i in idx]),
                "duration": pa.array([float(i % 30 + i % 400) for i in idx]),
            })
            wh.append(workspace, table)
    finally:
        wh.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="use (and keep) this data folder")
    args = ap.parse_args()
    data = args.keep or Path(tempfile.mkdtemp(prefix="callboard-stream-"))
    env = {**os.environ, "CALLBOARD_DATA_DIR": str(data), "CALLBOARD_ADMIN_TOKEN": "benchmark-admin-token-0001",
           "CALLBOARD_WORKERS": "1", "CALLBOARD_RATE_LIMIT_PER_MINUTE": "0", "CALLBOARD_WORKER_POLL_SECONDS": "0.1"}
    settings = Settings(data_dir=data)
    tenant = admin.create_tenant(settings, "bench")
    ws = admin.create_workspace(settings, tenant, f"ws-{time.time_ns()}", "UTC")
    token = admin.create_token(settings, tenant, ["reports:read"], None, None)
    t = time.perf_counter()
    fill(settings, ws, args.rows)
    print(f"filled {args.rows:,} segments in {time.perf_counter() - t:.1f} s")

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", f"from callboard.api.server import serve; from callboard.settings import Settings; "
                               f"serve(Settings(), '127.0.0.1', {port})"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1.0"
    h = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(timeout=600) as client:
            for _ in range(600):
                try:
                    if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            body = {"reportTemplateName": "CallListByUserSegmented", "rowLimit": args.rows * 2,
                    "sortFields": [{"fieldName": "start", "direction": 0}],
                    "metadata": {"dateFilter": {"presetName": "Custom", "start": "2000-01-01T00:00:00",
                                                "end": "2100-01-01T00:00:00"}}}
            r = client.post(f"{base}/workspaces/{ws}/requests", json=body, headers=h)
            r.raise_for_status()
            rid = r.json()["requestId"]
            t = time.perf_counter()
            while (s := client.get(f"{base}/workspaces/{ws}/requests/{rid}", headers=h).json())["status"] in (0, 2):
                time.sleep(0.2)
            assert s["status"] == 1, s
            print(f"report ran in {time.perf_counter() - t:.1f} s: totalCount {s['totalCount']:,}")

            proc = psutil.Process(server.pid)
            time.sleep(1.0)
            before = proc.memory_info().rss
            peak = [before]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], proc.memory_info().rss)
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            size = 0
            t = time.perf_counter()
            with client.stream("GET", f"{base}/workspaces/{ws}/requests/{rid}/data", headers=h) as resp:
                resp.raise_for_status()
                for chunk in resp.iter_raw(1 << 20):
                    size += len(chunk)
            seconds = time.perf_counter() - t
            stop.set()
            sampler.join()
            after = proc.memory_info().rss
    finally:
        server.terminate()
        server.wait(30)
        if args.keep is None:
            shutil.rmtree(data, ignore_errors=True)
    print(f"streamed {s['totalCount']:,} rows, {size / MB:,.1f} MB in {seconds:.2f} s "
          f"({size / MB / seconds:,.1f} MB/s)")
    print(f"server RSS before {before / MB:,.1f} MB, peak while streaming {peak[0] / MB:,.1f} MB, "
          f"after {after / MB:,.1f} MB; growth {(peak[0] - before) / MB:,.1f} MB "
          f"({(peak[0] - before) / size:.1%} of the document)")


if __name__ == "__main__":
    main()
