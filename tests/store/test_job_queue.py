"""The request table as a job queue, on SQLite and PostgreSQL: order, exclusivity, stale claims,
attempt ownership, cancellation and expiry."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callboard.service import queue
from callboard.service.queue import Figures
from callboard.store import Database
from callboard.store.models import ReportRequest, RequestStatus, Tenant, Workspace, utcnow

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FIGS = Figures(total_count=3, summary={"ans": 2}, row_limit_exceeded=False, effort=0.01,
               query_duration_ms=5, query_count=2)


def _setup(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    with db.session() as s:
        t = Tenant(name="acme")
        s.add(t)
        s.flush()
        ws = Workspace(tenant_id=t.id, name="hq", time_zone="UTC")
        s.add(ws)
        s.flush()
        return t.id, ws.id


def _enqueue(db: Database, ids: tuple[uuid.UUID, uuid.UUID], *, priority: int = 2,
             created: datetime = T0, **kw: object) -> uuid.UUID:
    with db.session() as s:
        r = ReportRequest(tenant_id=ids[0], workspace_id=ids[1], template="CallList", priority=priority,
                          created_at=created, attempts=0, cancel_requested=False, request_json={},
                          resolved_json={"priorityLevel": priority}, **kw)
        s.add(r)
        s.flush()
        return r.id


def _get(db: Database, rid: uuid.UUID) -> ReportRequest:
    with db.session() as s:
        r = s.get(ReportRequest, rid)
        assert r is not None
        return r


def test_claims_by_priority_then_age(store_url: str) -> None:
    db = Database(store_url)
    ids = _setup(db)
    low_old = _enqueue(db, ids, priority=3, created=T0)
    normal_new = _enqueue(db, ids, priority=2, created=T0 + timedelta(seconds=2))
    normal_old = _enqueue(db, ids, priority=2, created=T0 + timedelta(seconds=1))
    high = _enqueue(db, ids, priority=1, created=T0 + timedelta(seconds=3))
    order = []
    while (job := queue.claim(db, "w", stale_after=60)) is not None:
        order.append(job.id)
        assert job.attempt == 1
    assert order == [high, normal_old, normal_new, low_old]
    assert {_get(db, r).status for r in order} == {RequestStatus.RUNNING}
    db.dispose()


def test_concurrent_workers_never_claim_the_same_request(store_url: str) -> None:
    db = Database(store_url)
    ids = _setup(db)
    wanted = {_enqueue(db, ids, created=T0 + timedelta(milliseconds=i)) for i in range(30)}
    claimed: list[uuid.UUID] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        while (job := queue.claim(db, f"w{n}", stale_after=60)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(wanted)  # each exactly once
    db.dispose()


def test_stale_running_request_is_claimed_again_and_the_old_attempt_cannot_finish(
    store_url: str, tmp_path: Path
) -> None:
    db = Database(store_url)
    ids = _setup(db)
    rid = _enqueue(db, ids)
    first = queue.claim(db, "dead", stale_after=60)
    assert first is not None and first.id == rid
    # Still fresh: nobody else may take it.
    assert queue.claim(db, "other", stale_after=60) is None
    # Two minutes later the dead worker's heartbeat is stale.
    second = queue.claim(db, "alive", stale_after=60, now=utcnow() + timedelta(minutes=2))
    assert second is not None and second.id == rid and second.attempt == 2
    owned, _ = queue.heartbeat(db, first)
    assert owned is False
    temp_old = tmp_path / "old.tmp"
    temp_old.write_bytes(b"old")
    final = tmp_path / f"{rid}.parquet"
    assert queue.finish(db, first, FIGS, temp_old, final, ttl_seconds=60) is False
    assert not final.exists() and not temp_old.exists()
    temp_new = tmp_path / "new.tmp"
    temp_new.write_bytes(b"new")
    assert queue.finish(db, second, FIGS, temp_new, final, ttl_seconds=60) is True
    assert final.read_bytes() == b"new"
    row = _get(db, rid)
    assert row.status == RequestStatus.COMPLETE and row.attempts == 2 and row.worker_id == "alive"
    assert row.total_count == 3 and row.summary == {"ans": 2} and row.snapshot_path == str(final)
    assert row.expires_at is not None and row.total_duration_ms is not None
    db.dispose()


def test_cancel_queued_running_and_discard(store_url: str, tmp_path: Path) -> None:
    db = Database(store_url)
    ids = _setup(db)
    queued = _enqueue(db, ids)
    with db.session() as s:
        assert queue.cancel(s, s.get(ReportRequest, queued)) == "cancelled"
    assert _get(db, queued).status == RequestStatus.CANCELLED
    assert queue.claim(db, "w", stale_after=60) is None  # a cancelled request is never run

    running = _enqueue(db, ids)
    job = queue.claim(db, "w", stale_after=60)
    assert job is not None and job.id == running
    with db.session() as s:
        assert queue.cancel(s, s.get(ReportRequest, running)) == "cancelled"
    assert queue.heartbeat(db, job) == (True, True)
    temp = tmp_path / "t"
    temp.write_bytes(b"x")
    assert queue.finish(db, job, FIGS, temp, tmp_path / "f", ttl_seconds=60) is False
    assert _get(db, running).status == RequestStatus.CANCELLED and not temp.exists()

    with db.session() as s:
        assert queue.cancel(s, s.get(ReportRequest, running)) == "discarded"
    with db.session() as s:
        assert s.get(ReportRequest, running) is None
    db.dispose()


def test_stale_request_whose_cancel_was_asked_ends_cancelled(store_url: str) -> None:
    db = Database(store_url)
    ids = _setup(db)
    rid = _enqueue(db, ids)
    assert queue.claim(db, "dead", stale_after=60) is not None
    with db.session() as s:
        queue.cancel(s, s.get(ReportRequest, rid))
    assert queue.claim(db, "alive", stale_after=60, now=utcnow() + timedelta(minutes=5)) is None
    assert _get(db, rid).status == RequestStatus.CANCELLED
    db.dispose()


def test_failure_is_recorded_with_its_reason(store_url: str) -> None:
    db = Database(store_url)
    ids = _setup(db)
    rid = _enqueue(db, ids)
    job = queue.claim(db, "w", stale_after=60)
    assert job is not None
    assert queue.end(db, job, RequestStatus.FAILED, "Report processing failed: boom") is True
    row = _get(db, rid)
    assert row.status == RequestStatus.FAILED and row.status_message.endswith("boom")
    db.dispose()


def test_expire_due_marks_expired_and_removes_snapshots(store_url: str, tmp_path: Path) -> None:
    db = Database(store_url)
    ids = _setup(db)
    old_file, new_file = tmp_path / "old.parquet", tmp_path / "new.parquet"
    old_file.write_bytes(b"x")
    new_file.write_bytes(b"y")
    old = _enqueue(db, ids, status=RequestStatus.COMPLETE, snapshot_path=str(old_file),
                   expires_at=utcnow() - timedelta(seconds=1))
    new = _enqueue(db, ids, status=RequestStatus.COMPLETE, snapshot_path=str(new_file),
                   expires_at=utcnow() + timedelta(days=1))
    assert queue.expire_due(db) == 1
    assert _get(db, old).status == RequestStatus.EXPIRED and not old_file.exists()
    assert _get(db, new).status == RequestStatus.COMPLETE and new_file.exists()
    db.dispose()


@pytest.mark.postgres
def test_skip_locked_passes_over_a_locked_head_of_queue(pg_url: str) -> None:
    """While another transaction holds the head of the queue locked, a claim takes the next request
    at once instead of waiting (FOR UPDATE SKIP LOCKED)."""
    from sqlalchemy import select

    db = Database(pg_url)
    ids = _setup(db)
    head = _enqueue(db, ids, created=T0)
    nxt = _enqueue(db, ids, created=T0 + timedelta(seconds=1))
    with db.session() as holder:
        holder.execute(select(ReportRequest).where(ReportRequest.id == head).with_for_update())
        result: list[object] = []
        t = threading.Thread(target=lambda: result.append(queue.claim(db, "b", stale_after=60)))
        t.start()
        t.join(10)
        assert not t.is_alive(), "claim waited for the locked row"
    job = result[0]
    assert job is not None and job.id == nxt
    db.dispose()
