"""Concurrent reports on the 10 M-segment organisation: two tenants, short and long reports at once.

Served over HTTP by a real server (:mod:`benchmarks.server`) on the benchmark warehouse, with two
tenants: tenant A owns the first workspace, tenant B the second. Three measurements:

1. **idle**: a short report (``CallSummaryByUser`` over one week of tenant A's workspace) alone,
   POST → first page read (``Prefer: wait``), ``--repeats`` times;
2. **beside a long one**: the same short report, run one after another while tenant B's year-long
   ``CallingDetailedCallHistory`` runs; the ratio of its median to the idle median is the figure
   of merit (head-of-line blocking makes it the long report's duration over the short one's);
3. **mixed load**: ``--clients`` client threads (half per tenant) for ``--seconds``, each posting a
   report drawn from a fixed mix (mostly short dashboard reports, one in ten a year-long one) and
   reading its first page: throughput and p50/p95 latency per kind.

``--before SRC`` runs the same three against another callboard source folder (e.g. a worktree of an
earlier commit: ``git worktree add /tmp/before <commit>`` then ``--before /tmp/before/src``) in the
same run, for side-by-side figures.

    python -m benchmarks.concurrency [--repeats 7] [--clients 16] [--seconds 60] [--before SRC]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import data
from benchmarks import http_bench as H
from benchmarks.common import ROOT, YEAR, body

WEEK = ("2025-06-02T00:00:00", "2025-06-09T00:00:00")
DAY = ("2025-06-03T00:00:00", "2025-06-04T00:00:00")
MONTH = ("2025-06-01T00:00:00", "2025-07-01T00:00:00")

SHORT = ("CallSummaryByUser", WEEK)
LONG = ("CallingDetailedCallHistory", YEAR)
# (kind, template, period, weight): the dashboard's small reports, and now and then a year-long one
MIX: list[tuple[str, str, tuple[str, str], int]] = [
    ("short", "CallSummaryByUser", WEEK, 3),
    ("short", "CallSummaryByHuntGroup", WEEK, 3),
    ("short", "CallsByHourOfDay", DAY, 2),
    ("short", "CallListByUserSegmented", DAY, 1),
    ("long", "CallingDetailedCallHistory", YEAR, 1),
]


def prepare_two_tenants(data_dir: Path, workspaces: list[tuple[str, str, str]]) -> tuple[str, str]:
    """Tenant A with the first workspace, tenant B with the second; a token of each."""
    from callboard.service import tenancy
    from callboard.service.schemas import TokenCreate
    from callboard.settings import Settings
    from callboard.store.db import Database
    from callboard.store.models import Workspace

    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.metadata_url)
    tokens = []
    try:
        for label, (wid, name, tz) in zip("AB", workspaces[:2], strict=True):
            with db.session() as session:
                tenant = tenancy.create_tenant(session, f"Tenant {label}")
                session.add(Workspace(id=uuid.UUID(wid), tenant_id=tenant.id, name=name, time_zone=tz))
                session.flush()
                _, token = tenancy.issue_token(session, tenant, TokenCreate(scopes=H.SCOPES))
                tokens.append(token)
    finally:
        db.dispose()
    return tokens[0], tokens[1]


def prepare_in(source: Path | None, data_dir: Path, workspaces: list[tuple[str, str, str]]) -> tuple[str, str]:
    """:func:`prepare_two_tenants` run by the code of ``source`` (its own metadata migrations)."""
    if source is None:
        return prepare_two_tenants(data_dir, workspaces)
    script = ("import json, sys, pathlib; from benchmarks.concurrency import prepare_two_tenants; "
              "print(json.dumps(prepare_two_tenants(pathlib.Path(sys.argv[1]), json.loads(sys.argv[2]))))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", script, str(data_dir), json.dumps(workspaces)], env=env,
                         cwd=str(ROOT), capture_output=True, text=True, check=True)
    a, b = json.loads(out.stdout.strip().splitlines()[-1])
    return a, b


def run_report(client: Any, ws: str, tz: str, template: str, span: tuple[str, str]) -> float:
    """Seconds from POST to the first page (1,000 rows, with totalCount and summary) read: what a
    dashboard tile or a report page waits for (a year's call list is then paged or downloaded, which
    is the streaming benchmarks' subject, not this one's)."""
    t0 = time.perf_counter()
    r = client.post(f"/api/v1.0/workspaces/{ws}/requests", json=body(template, tz, span))
    if r.status_code != 202:
        raise RuntimeError(f"{template}: {r.status_code} {r.text[:300]}")
    url = r.headers["Location"] + "/data"
    page = {"page": 1, "pageSize": 1000}
    while (r := client.get(url, params=page, headers={"Prefer": "wait=30"})).status_code == 202:
        pass
    if r.status_code != 200:
        raise RuntimeError(f"{template}: {r.status_code} {r.text[:300]}")
    return time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(label: str, args: argparse.Namespace, wss: list[tuple[str, str, str]], source: Path | None,
            env: dict[str, str]) -> dict[str, Any]:
    (ws_a, _, tz_a), (ws_b, _, tz_b) = wss[0], wss[1]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        token_a, token_b = prepare_in(source, folder, wss)
        with H.serve(folder, data.WAREHOUSE_FILE, wss, token=token_a, workers=0, env=env, source=source) as srv:
            import httpx

            def client(token: str) -> httpx.Client:
                return httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {token}"},
                                    timeout=httpx.Timeout(600.0))

            a, b = client(token_a), client(token_b)
            short: Callable[[], float] = lambda: run_report(a, ws_a, tz_a, *SHORT)  # noqa: E731
            short()  # compiled-SQL cache and file pages warm
            idle = [short() for _ in range(args.repeats)]

            long_done = threading.Event()
            long_seconds: list[float] = []

            def long_run() -> None:
                long_seconds.append(run_report(b, ws_b, tz_b, *LONG))
                long_done.set()

            t = threading.Thread(target=long_run)
            t.start()
            time.sleep(0.5)  # the long report is running
            beside: list[float] = []
            while not long_done.is_set() and len(beside) < 200:
                beside.append(short())
            t.join()

            per_kind: dict[str, list[float]] = defaultdict(list)
            guard = threading.Lock()
            stop_at = time.monotonic() + args.seconds
            weights = [w for *_, w in MIX]

            def client_loop(n: int) -> None:
                rng = random.Random(n)
                c, ws, tz = (client(token_a), ws_a, tz_a) if n % 2 == 0 else (client(token_b), ws_b, tz_b)
                with c:
                    while time.monotonic() < stop_at:
                        kind, template, span, _ = rng.choices(MIX, weights)[0]
                        seconds = run_report(c, ws, tz, template, span)
                        with guard:
                            per_kind[kind].append(seconds)

            t0 = time.perf_counter()
            pool = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
            for p in pool:
                p.start()
            for p in pool:
                p.join()
            elapsed = time.perf_counter() - t0
            a.close()
            b.close()
    done = sum(len(v) for v in per_kind.values())
    out = {
        "label": label,
        "idle_ms": statistics.median(idle) * 1000,
        "beside_ms": statistics.median(beside) * 1000 if beside else float("nan"),
        "beside_p95_ms": pct(beside, 0.95) * 1000,
        "beside_n": len(beside),
        "long_s": long_seconds[0] if long_seconds else float("nan"),
        "throughput": done / elapsed,
        "kinds": {k: (len(v), pct(v, 0.5) * 1000, pct(v, 0.95) * 1000) for k, v in sorted(per_kind.items())},
    }
    out["ratio"] = out["beside_ms"] / out["idle_ms"]
    return out


def report(r: dict[str, Any]) -> None:
    print(f"[{r['label']}] short report idle: median {r['idle_ms']:.0f} ms; beside the year-long "
          f"CallingDetailedCallHistory ({r['long_s']:.1f} s): median {r['beside_ms']:.0f} ms, p95 "
          f"{r['beside_p95_ms']:.0f} ms over {r['beside_n']} runs = {r['ratio']:.1f} x idle")
    kinds = "; ".join(f"{k}: {n} done, p50 {p50:.0f} ms, p95 {p95:.0f} ms" for k, (n, p50, p95) in r["kinds"].items())
    print(f"[{r['label']}] mixed load: {r['throughput']:.1f} reports/s; {kinds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--before", type=Path, help="another callboard src folder, measured first")
    parser.add_argument("--before-workers", type=int, default=4, help="CALLBOARD_WORKERS of the --before server")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a CALLBOARD_ setting for the server measured (repeatable)")
    args = parser.parse_args()
    manifest = data.build()
    wss = [(w.id, w.name, w.time_zone) for w in manifest.workspaces]
    print(f"benchmark organisation: {sum(w.rows for w in manifest.workspaces):,} segments in "
          f"{len(wss)} workspaces; tenant A: {wss[0][1]}, tenant B: {wss[1][1]}; "
          f"{args.clients} clients for {args.seconds:.0f} s")
    env = dict(kv.split("=", 1) for kv in args.set)
    results = []
    if args.before is not None:
        results.append(measure(f"before: {args.before}", args, wss, args.before,
                               {"CALLBOARD_WORKERS": str(args.before_workers)}))
        report(results[-1])
    results.append(measure("now" + (f" {env}" if env else ""), args, wss, None, env))
    report(results[-1])


if __name__ == "__main__":
    main()
