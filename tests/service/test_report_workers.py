"""Report workers: a worker killed mid-run, cancellation through the runner's callback, failures.

The engine is replaced by small runners here (the real one is exercised by the API tests); what is
under test is the queue discipline around it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from callboard.service import queue
from callboard.service.worker import Worker
from callboard.settings import Settings
from callboard.store import Database
from callboard.store.models import ReportRequest, RequestStatus, Tenant, Workspace


@dataclass
class FakeResult:
    snapshot_path: Path
    total_count: int
    summary: dict[str, Any]
    row_limit_exceeded: bool = False
    effort: float = 0.001
    query_duration_ms: int = 1
    query_count: int = 1
    columns: Any = None


def write_rows(path: Path, n: int) -> FakeResult:
    pq.write_table(pa.table({"docId": [f"d{i}" for i in range(n)], "ans": [1] * n}), path)
    return FakeResult(path, n, {"ans": n})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, worker_heartbeat_seconds=0.2, worker_stale_seconds=1.5,
                    worker_poll_seconds=0.1)


@pytest.fixture
def db(settings: Settings) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.metadata_url)


def enqueue(db: Database, n: int, priority: int = 2) -> list[uuid.UUID]:
    with db.session() as s:
        t = Tenant(name=f"t{uuid.uuid4().hex[:6]}")
        s.add(t)
        s.flush()
        ws = Workspace(tenant_id=t.id, name="hq", time_zone="UTC")
        s.add(ws)
        s.flush()
        ids = []
        for _ in range(n):
            r = ReportRequest(tenant_id=t.id, workspace_id=ws.id, template="CallList", priority=priority,
                              attempts=0, cancel_requested=False, request_json={}, resolved_json={"rows": 3})
            s.add(r)
            s.flush()
            ids.append(r.id)
            time.sleep(0.002)  # distinct creation times: age order is observable
        return ids


def row(db: Database, rid: uuid.UUID) -> ReportRequest:
    with db.session() as s:
        r = s.get(ReportRequest, rid)
        assert r is not None
        return r


DOOMED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from callboard.settings import Settings
    from callboard.store import Database
    from callboard.service.worker import Worker

    settings = Settings(data_dir=Path(sys.argv[1]), worker_heartbeat_seconds=0.2, worker_stale_seconds=1.5)
    marker = Path(sys.argv[2])

    def hang(warehouse, workspace, resolved, snapshot, cancelled):
        marker.write_text("running")
        time.sleep(3600)

    Worker(settings, Database(settings.metadata_url), None, worker_id="doomed", runner=hang).run_once()
""")


def test_killed_worker_request_and_queued_ones_complete_once_after_a_new_worker_starts(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    first = enqueue(db, 1, priority=1)[0]  # the doomed worker takes this one
    queued = enqueue(db, 3)
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", DOOMED, str(settings.data_dir), str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "doomed worker never started"
            assert proc.poll() is None, "doomed worker exited early"
            time.sleep(0.05)
        assert row(db, first).status == RequestStatus.RUNNING and row(db, first).worker_id == "doomed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    runs: Counter[uuid.UUID] = Counter()

    def runner(warehouse: Any, workspace: str, resolved: dict, snapshot: Path, cancelled: Any) -> FakeResult:
        rid = uuid.UUID(snapshot.name.split(".")[1])
        runs[rid] += 1
        return write_rows(snapshot, resolved["rows"])

    settings = settings.model_copy(update={"worker_stale_seconds": 3.0})
    fresh = Worker(settings, db, None, worker_id="fresh", runner=runner)
    # The dead worker's heartbeat is still fresh for a moment: the queued ones run first.
    assert fresh.drain() == 3
    assert row(db, first).status == RequestStatus.RUNNING
    time.sleep(settings.worker_stale_seconds + 0.3)
    assert fresh.drain() == 1
    assert fresh.drain() == 0
    assert runs == Counter({rid: 1 for rid in [first, *queued]})
    for rid in [first, *queued]:
        r = row(db, rid)
        assert r.status == RequestStatus.COMPLETE and r.worker_id == "fresh" and r.total_count == 3
        assert pq.read_table(r.snapshot_path).num_rows == 3
    assert row(db, first).attempts == 2 and all(row(db, q).attempts == 1 for q in queued)
    files = sorted(p.name for p in settings.results_dir.iterdir())
    assert files == sorted(f"{rid}.parquet" for rid in [first, *queued])  # one result each, no temp files


def test_cancel_while_running_stops_the_runner(settings: Settings, db: Database) -> None:
    rid = enqueue(db, 1)[0]
    started = threading.Event()
    seen_cancel = threading.Event()

    def slow(warehouse: Any, workspace: str, resolved: dict, snapshot: Path, cancelled: Any) -> FakeResult:
        started.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if cancelled():
                seen_cancel.set()
                raise RuntimeError("stopped on request")
            time.sleep(0.02)
        return write_rows(snapshot, 1)

    worker = Worker(settings, db, None, runner=slow)
    t = threading.Thread(target=worker.run_once)
    t.start()
    assert started.wait(10)
    with db.session() as s:
        assert queue.cancel(s, s.get(ReportRequest, rid)) == "cancelled"
    t.join(20)
    assert seen_cancel.is_set()
    r = row(db, rid)
    assert r.status == RequestStatus.CANCELLED and r.snapshot_path is None
    assert list(settings.results_dir.iterdir()) == []


def test_runner_failure_is_the_status_message(settings: Settings, db: Database) -> None:
    rid = enqueue(db, 1)[0]

    def broken(*_: Any) -> Any:
        raise ValueError("the engine refused the query\nLINE 1: SELECT secret_column FROM calls")

    assert Worker(settings, db, None, runner=broken).run_once()
    r = row(db, rid)
    assert r.status == RequestStatus.FAILED
    # the reason's first line reaches the client; the SQL the engine echoed stays in the log
    assert r.status_message == (f"Report processing failed: the engine refused the query "
                                f"(request {rid}; details in the server log)")
    assert list(settings.results_dir.iterdir()) == []


def test_run_forever_stops_and_sweeps_expired_results(settings: Settings, db: Database) -> None:
    ids = enqueue(db, 2)
    worker = Worker(settings.model_copy(update={"result_ttl_seconds": 1}), db, None,
                    runner=lambda w, ws, r, snap, c: write_rows(snap, 2))
    stop = threading.Event()
    t = threading.Thread(target=worker.run_forever, args=(stop,))
    t.start()
    deadline = time.monotonic() + 20
    while any(row(db, i).status != RequestStatus.COMPLETE for i in ids):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop.set()
    t.join(10)
    assert not t.is_alive()
    time.sleep(1.1)
    worker._last_sweep = 0.0
    worker.sweep()
    assert all(row(db, i).status == RequestStatus.EXPIRED for i in ids)
    assert list(settings.results_dir.iterdir()) == []


def test_a_run_past_the_time_limit_is_stopped_and_failed(settings: Settings, db: Database) -> None:
    rid = enqueue(db, 1)[0]
    settings = settings.model_copy(update={"query_timeout_seconds": 1})

    def endless(warehouse: Any, workspace: str, resolved: dict, snapshot: Path, cancelled: Any) -> FakeResult:
        deadline = time.monotonic() + 20
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.02)
        raise RuntimeError("interrupted")

    t0 = time.monotonic()
    Worker(settings, db, None, runner=endless).run_once()
    assert time.monotonic() - t0 < 10
    r = row(db, rid)
    assert r.status == RequestStatus.FAILED and "limit of 1 s" in r.status_message
