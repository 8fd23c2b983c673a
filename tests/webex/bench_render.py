"""Benchmark (not a test): render a one-million-row report snapshot into the Webex ZIP.

Builds a Parquet snapshot shaped like a ``CallListByUserSegmented`` result (its 20 default display
columns, realistic values, zstd row groups of 64k rows as the runner writes them), then times
:func:`callboard.webex.render.render_zip` driving the engine's CSV writer, and reports wall time,
CPU time, peak RSS growth and sizes. Run: ``python tests/webex/bench_render.py [rows]``.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from callboard.reports.output import write_csv
from callboard.reports.templates import TEMPLATES
from callboard.webex.render import render_zip


def snapshot(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    users = np.array([f"Agent {i:03d}" for i in range(500)], dtype=object)
    nums = np.array([f"+4420755{i:05d}" for i in range(500)], dtype=object)
    u = rng.integers(0, 500, rows)
    start = np.datetime64("2025-03-01T00:00:00") + np.sort(rng.integers(0, 31 * 86400, rows)).astype("timedelta64[s]")
    cli = np.array([f"+447{n:09d}" for n in rng.integers(0, 10**9, rows)], dtype=object)
    ring = np.round(rng.exponential(9, rows), 1)
    table = pa.table({
        "connId": pa.array([f"{i // 2:012x}" for i in range(rows)]),
        "start": pa.array(start, pa.timestamp("us")),
        "userName": pa.array(users[u]), "userNum": pa.array(nums[u]),
        "cli": pa.array(cli), "cliName": pa.array(np.where(rng.random(rows) < 0.5, "WIRELESS CALLER", None)),
        "hgNum": pa.array(np.where(rng.random(rows) < 0.6, "+442075500999", None)),
        "callType": pa.array(rng.integers(1, 3, rows).astype("int8")),
        "callDir": pa.array(rng.integers(1, 4, rows).astype("int8")),
        "ans": pa.array(rng.integers(0, 2, rows).astype("int8")),
        "ref": pa.array(rng.integers(0, 2, rows).astype("int8")),
        "lost": pa.array(rng.integers(0, 2, rows).astype("int8")),
        "ring": pa.array(ring), "duration": pa.array(ring + np.round(rng.exponential(180, rows), 1)),
        "calledUserNum": pa.array(nums[u]), "calledUserName": pa.array(users[u]),
        "callUserName": pa.array(np.where(rng.random(rows) < 0.5, "WIRELESS CALLER", None)),
        "callUserNum": pa.array(cli), "hgName": pa.array(np.where(rng.random(rows) < 0.6, "Sales", None)),
        "docId": pa.array([f"doc-{i:010d}" for i in range(rows)]),
    })
    pq.write_table(table, path, compression="zstd", row_group_size=64 * 1024)


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (Linux: ``5`` into clear_refs), so each run measures itself."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    titles = {f.name: f.title for f in TEMPLATES["CallListByUserSegmented"].fields}
    with tempfile.TemporaryDirectory() as tmp:
        snap = Path(tmp) / "snap.parquet"
        snapshot(snap, rows)
        for attempt in range(3):
            _reset_peak()
            rss0 = _status_kb("VmRSS")
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            csv_cpu: list[float] = []

            def produce(sink: BinaryIO, csv_cpu: list[float] = csv_cpu) -> None:
                c0 = time.thread_time()
                write_csv(snap, sink, header_titles=titles, bom=True)
                csv_cpu.append(time.thread_time() - c0)

            t0, z0 = time.perf_counter(), time.thread_time()
            done = render_zip(produce, Path(tmp) / f"out{attempt}.zip", "report.csv")
            wall, zip_cpu = time.perf_counter() - t0, time.thread_time() - z0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            # On an idle machine the two threads overlap: wall ≈ the larger of their CPU times.
            print(f"rows={rows} wall={wall:.2f}s cpu={cpu:.2f}s (csv thread {csv_cpu[0]:.2f}s, "
                  f"zip thread {zip_cpu:.2f}s) zip={done.size / 1e6:.1f}MB "
                  f"peak_rss_above_start={(_status_kb('VmHWM') - rss0) / 1024:.0f}MB")


if __name__ == "__main__":
    main()
