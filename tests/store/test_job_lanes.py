"""Lanes and the per-tenant cap in the job queue, on SQLite and PostgreSQL: a short-lane worker never
takes a long report, a long-lane worker takes long ones first, and a tenant at its cap waits while
other tenants' requests are claimed."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from callboard.service import queue
from callboard.store import Database
from callboard.store.models import ReportRequest, Tenant, Workspace

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _tenant(db: Database, name: str) -> tuple[uuid.UUID, uuid.UUID]:
    with db.session() as s:
        t = Tenant(name=name)
        s.add(t)
        s.flush()
        ws = Workspace(tenant_id=t.id, name="hq", time_zone="UTC")
        s.add(ws)
        s.flush()
        return t.id, ws.id


def _enqueue(db: Database, owner: tuple[uuid.UUID, uuid.UUID], *, lane: str = "short", priority: int = 2,
             second: int = 0) -> uuid.UUID:
    with db.session() as s:
        r = ReportRequest(tenant_id=owner[0], workspace_id=owner[1], template="CallList", priority=priority,
                          lane=lane, created_at=T0 + timedelta(seconds=second), attempts=0,
                          cancel_requested=False, request_json={}, resolved_json={})
        s.add(r)
        s.flush()
        return r.id


def _claim(db: Database, **kw: object) -> uuid.UUID | None:
    job = queue.claim(db, f"w-{uuid.uuid4().hex[:6]}", stale_after=60, **kw)  # type: ignore[arg-type]
    return job.id if job else None


def test_short_lane_workers_never_take_long_reports(store_url: str) -> None:
    db = Database(store_url)
    a = _tenant(db, "a")
    long_first = _enqueue(db, a, lane="long", second=0)
    short_later = _enqueue(db, a, lane="short", second=5)
    assert _claim(db, lanes=("short",)) == short_later
    assert _claim(db, lanes=("short",)) is None  # only the long one is left
    assert _claim(db, lanes=("long", "short")) == long_first
    db.dispose()


def test_long_lane_workers_take_long_reports_first_then_short_ones(store_url: str) -> None:
    db = Database(store_url)
    a = _tenant(db, "a")
    short_old = _enqueue(db, a, lane="short", priority=1, second=0)
    long_new = _enqueue(db, a, lane="long", priority=3, second=9)
    assert _claim(db, lanes=("long", "short")) == long_new  # its lane before priority and age
    assert _claim(db, lanes=("long", "short")) == short_old
    db.dispose()


def test_a_tenant_at_its_cap_waits_while_other_tenants_are_served(store_url: str) -> None:
    db = Database(store_url)
    a, b = _tenant(db, "a"), _tenant(db, "b")
    a_ids = [_enqueue(db, a, second=n) for n in range(4)]
    b_id = _enqueue(db, b, second=10)
    assert _claim(db, tenant_cap=2) == a_ids[0]
    assert _claim(db, tenant_cap=2) == a_ids[1]
    assert _claim(db, tenant_cap=2) == b_id  # A has 2 running: its older requests wait
    assert _claim(db, tenant_cap=2) is None
    with db.session() as s:  # one of A's runs ends: A's next request may start
        row = s.get(ReportRequest, a_ids[0])
        assert row is not None
        queue._set_final(row, queue.RequestStatus.COMPLETE, T0)
    assert _claim(db, tenant_cap=2) == a_ids[2]
    db.dispose()


def test_concurrent_claims_never_exceed_a_tenants_cap(store_url: str) -> None:
    db = Database(store_url)
    a = _tenant(db, "a")
    for n in range(12):
        _enqueue(db, a, second=n)
    got: list[uuid.UUID] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def work() -> None:
        barrier.wait()
        rid = _claim(db, tenant_cap=3)
        if rid is not None:
            with lock:
                got.append(rid)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 3 and len(set(got)) == 3
    db.dispose()
