"""Readers waiting on ``Prefer: wait`` against everyone else: a server (uvicorn on 127.0.0.1, in its
own process) with one report held running, ``--waiters`` concurrent ``GET …/requests/{id}`` with
``Prefer: wait=30`` on it, and meanwhile ``/health`` and another tenant's status read (no wait) sent
every ``--every`` seconds for ``--window`` seconds; the same probes with no waiters first. A probe
that cannot be answered while the waiters hold the server is answered once the report is released
at the end of the window, so its latency then reads as about the window.

    python -m benchmarks.waiters [--waiters 200] [--window 5] [--src PATH]

``--src`` serves another checkout's ``src`` folder (the benchmark itself stays this one), e.g. the
previous commit::

    git worktree add /tmp/wt-before HEAD
    python -m benchmarks.waiters --src /tmp/wt-before/src
    git worktree remove /tmp/wt-before

The report is held by the server's one worker, whose runner blocks while a file in the data folder
exists (so the benchmark can release it from outside); no warehouse is read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks import http_bench
from benchmarks.common import ROOT, free_port

V = "/api/v1.0"
ADMIN = "benchmark-admin-token-0123456789"
HOLD_FILE = "hold"
SCOPES = ["reports:read", "reports:write", "admin"]
BODY = {"reportTemplateName": "CallList", "timeZoneId": "UTC",
        "metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-03-03", "end": "2025-03-10"}}}


# ---- the server (its own process) ---------------------------------------------------------------
def serve(data_dir: Path, port: int) -> None:
    """The API with one worker whose runner holds while ``data_dir/hold`` exists. Only APIs every
    version has are used, so ``--src`` can serve an older checkout."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import uvicorn

    from callboard.api.app import create_app
    from callboard.service.worker import Worker
    from callboard.settings import Settings

    @dataclass
    class Result:
        total_count: int
        summary: dict[str, Any]
        row_limit_exceeded: bool = False
        effort: float = 0.001
        query_duration_ms: int = 1
        query_count: int = 1
        columns: Any = None

    hold = data_dir / HOLD_FILE

    def runner(_wh: Any, _ws: str, _resolved: dict[str, Any], snapshot: Path, cancelled: Any) -> Result:
        deadline = time.monotonic() + 600
        while hold.exists() and not cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        pq.write_table(pa.table({"docId": ["d0"], "ans": [1]}), snapshot)
        return Result(1, {"ans": 1})

    settings = Settings(data_dir=data_dir, admin_token=ADMIN, workers=0, rate_limit_per_minute=0,
                        worker_poll_seconds=0.05)
    app = create_app(settings, workers=0, announce=False)
    stop = threading.Event()
    worker = Worker(settings, app.state.ctx.db, None, runner=runner)
    threading.Thread(target=worker.run_forever, args=(stop,), daemon=True, name="bench-worker").start()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        stop.set()


# ---- the client -----------------------------------------------------------------------------------
@contextmanager
def server(data_dir: Path, src: Path | None) -> Iterator[str]:
    """Run :func:`serve` in a subprocess until the block ends (then terminate it, by its pid)."""
    port = free_port()
    env = {}
    if src is not None:  # that checkout's callboard comes first on the path
        env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), str(ROOT)])
    cmd = [sys.executable, "-m", "benchmarks.waiters", "--serve", str(data_dir), "--port", str(port)]
    with http_bench.server_process(cmd, data_dir, port, env):
        yield f"http://127.0.0.1:{port}"


def tenant(client: httpx.Client, name: str) -> tuple[dict[str, str], str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tid = client.post(f"{V}/tenants", json={"name": name}, headers=admin).raise_for_status().json()["id"]
    token = client.post(f"{V}/tenants/{tid}/tokens", json={"scopes": SCOPES},
                        headers=admin).raise_for_status().json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    ws = client.post(f"{V}/workspaces", json={"name": "hq", "timeZoneId": "UTC"},
                     headers=auth).raise_for_status().json()["id"]
    return auth, ws


def submit(client: httpx.Client, auth: dict[str, str], ws: str) -> str:
    r = client.post(f"{V}/workspaces/{ws}/requests", json=BODY, headers=auth).raise_for_status()
    return f"{V}/workspaces/{ws}/requests/{r.json()['requestId']}"


def state_of(client: httpx.Client, auth: dict[str, str], url: str) -> str:
    return str(client.get(url, headers=auth).raise_for_status().json()["state"])


@dataclass
class Figures:
    health_ms: list[float]
    other_ms: list[float]
    waiters_ms: list[float]  # from the release to each waiter's answer
    waiters_complete: int


async def probe(client: httpx.AsyncClient, url: str, headers: dict[str, str], out: list[float]) -> None:
    t0 = time.perf_counter()
    r = await client.get(url, headers=headers)
    r.raise_for_status()
    out.append((time.perf_counter() - t0) * 1000)


async def measure(base: str, data_dir: Path, *, waiters: int, window: float, every: float, settle: float,
                  held: str, auth: dict[str, str], other: str, other_auth: dict[str, str]) -> Figures:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    figures = Figures([], [], [], 0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        released = 0.0

        async def wait_one() -> httpx.Response:
            r = await client.get(held, headers={**auth, "Prefer": "wait=30"})
            figures.waiters_ms.append((time.perf_counter() - released) * 1000)
            return r

        tasks = [asyncio.create_task(wait_one()) for _ in range(waiters)]
        if waiters:
            await asyncio.sleep(settle)  # let them reach the server and settle into their wait
        probes: list[asyncio.Task[None]] = []
        end = time.perf_counter() + window
        while time.perf_counter() < end:
            probes.append(asyncio.create_task(probe(client, "/health", {}, figures.health_ms)))
            probes.append(asyncio.create_task(probe(client, other, other_auth, figures.other_ms)))
            await asyncio.sleep(every)
        released = time.perf_counter()
        (data_dir / HOLD_FILE).unlink(missing_ok=True)
        await asyncio.gather(*probes)
        answers = await asyncio.gather(*tasks)
    figures.waiters_complete = sum(r.status_code == 200 and r.json()["state"] == "complete" for r in answers)
    return figures


def run(src: Path | None, waiters: int, window: float, every: float, settle: float) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with server(data_dir, src) as base, httpx.Client(base_url=base, timeout=60) as client:
            other_auth, other_ws = tenant(client, "Other tenant")
            other = submit(client, other_auth, other_ws)
            client.get(other, headers={**other_auth, "Prefer": "wait=30"})
            assert state_of(client, other_auth, other) == "complete"
            auth, ws = tenant(client, "Waiting tenant")
            for label, n in (("no waiters", 0), (f"{waiters} waiters", waiters)):
                (data_dir / HOLD_FILE).touch()
                held = submit(client, auth, ws)
                deadline = time.monotonic() + 30
                while state_of(client, auth, held) != "running":  # the worker holds it from here on
                    assert time.monotonic() < deadline, "the worker did not start the held report"
                    time.sleep(0.02)
                out[label] = asyncio.run(measure(base, data_dir, waiters=n, window=window, every=every,
                                                 settle=settle, held=held, auth=auth, other=other,
                                                 other_auth=other_auth))
                while state_of(client, auth, held) != "complete":
                    time.sleep(0.02)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def report(results: dict[str, Figures]) -> list[dict[str, Any]]:
    labels = list(results)
    rows: list[dict[str, Any]] = []
    print(f"| read | {' | '.join(labels)} |")
    print("|---|" + "---|" * len(labels))
    for what, pick in (("GET /health", "health_ms"), ("other tenant's status", "other_ms")):
        cells = []
        for label in labels:
            values: list[float] = getattr(results[label], pick)
            cells.append(f"{pct(values, 0.5):.1f} / {pct(values, 0.95):.1f} / {max(values):.1f} ms")
            rows.append({"read": what, "phase": label, "n": len(values), "p50_ms": round(pct(values, 0.5), 2),
                         "p95_ms": round(pct(values, 0.95), 2), "max_ms": round(max(values), 2)})
        print(f"| {what} (p50 / p95 / max) | {' | '.join(cells)} |")
    for label in labels:
        f = results[label]
        if f.waiters_ms:
            print(f"\n{label}: {f.waiters_complete} of {len(f.waiters_ms)} answered complete; after the release "
                  f"p50 {statistics.median(f.waiters_ms):.0f} ms, max {max(f.waiters_ms):.0f} ms")
            rows.append({"read": "waiter after release", "phase": label, "complete": f.waiters_complete,
                         "p50_ms": round(statistics.median(f.waiters_ms), 1), "max_ms": round(max(f.waiters_ms), 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiters", type=int, default=200)
    parser.add_argument("--window", type=float, default=5.0, help="seconds of probing while the report is held")
    parser.add_argument("--every", type=float, default=0.05, help="seconds between two probes of each read")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds for the waiters to settle before probing")
    parser.add_argument("--src", type=Path, default=None, help="serve this checkout's src folder instead")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--serve", type=Path, default=None, help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.port)
        return
    print(f"{args.waiters} waiters, probes every {args.every} s for {args.window} s"
          f"{f', serving {args.src}' if args.src else ''}; load {os.getloadavg()[0]:.2f}\n")
    rows = report(run(args.src, args.waiters, args.window, args.every, args.settle))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
