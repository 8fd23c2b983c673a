"""The request table as a job queue (SPEC §6).

Workers claim the next queued request by priority, then age. On PostgreSQL the candidate row is
locked with ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each other; on SQLite the
claim is a conditional UPDATE (the row must still be claimable, and still at the attempt number we
read) inside an IMMEDIATE transaction. Every claim increments ``attempts``: a worker may only
heartbeat or finish the attempt it claimed, so a worker that was presumed dead and comes back cannot
overwrite the result of the worker that took its request over.

A worker presumed dead (its heartbeat stale, or, on this host, its process gone: ``recover``) leaves
its request to be claimed again, unless that was its ``MAX_ATTEMPTS``-th attempt: a request whose
runs killed their process twice (e.g. out of memory) ends failed instead of taking the server down
at every restart.

Who owns a claim or a temporary file: worker ids are ``host:pid:instance.random`` and temporary
files carry ``owner_tag()`` (``pid<pid>-<host hash>-<instance>``), where ``instance`` is drawn once
per process, so a process that reuses a dead one's pid (a restarted container) still tells its own
claims from its predecessor's. ``worker_gone`` and ``tag_gone`` answer for this host only; claims
and files of other hosts wait for the heartbeat to go stale.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, func, or_, select, text, update
from sqlalchemy.orm import Session

from callboard.store.db import Database
from callboard.store.models import ReportRequest, RequestStatus, utcnow

log = logging.getLogger("callboard.queue")

# Serialises claims on PostgreSQL when a per-tenant cap applies (an arbitrary constant of this
# application among the database's advisory locks).
CLAIM_LOCK_KEY = 0x6362_0001

# A request is claimed at most this many times when its worker dies while running it; the death of
# the last attempt ends it failed (``stopped_message``).
MAX_ATTEMPTS = 2

STATUS_MESSAGES = {
    RequestStatus.QUEUED: "Report queued",
    RequestStatus.RUNNING: "Report processing",
    RequestStatus.COMPLETE: "Report processing complete",
    RequestStatus.FAILED: "Report processing failed",
    RequestStatus.CANCELLED: "Report cancelled",
    RequestStatus.EXPIRED: "Report result expired",
}


def stopped_message(attempts: int) -> str:
    return (f"Report processing failed: stopped after {attempts} attempts; the process running it ended "
            f"each time (out of memory or killed). Ask for a shorter period or fewer rows, or ask the "
            f"administrator to look at the server log.")


# ---- owners of claims and temporary files --------------------------------------------------------
HOST = socket.gethostname()
_HOST_KEY = hashlib.sha256(HOST.encode()).hexdigest()[:8]
_INSTANCE = uuid.uuid4().hex[:8]  # this process (a successor with the same pid draws another)
_TAG = re.compile(r"pid(\d+)-([0-9a-f]{8})-([0-9a-f]{8})")


def new_worker_id() -> str:
    """``host:pid:instance.random``: one worker of this process."""
    return f"{HOST}:{os.getpid()}:{_INSTANCE}.{uuid.uuid4().hex[:8]}"


def owner_tag() -> str:
    """What temporary files and render claims of this process carry (``pid<pid>-<host>-<instance>``)."""
    return f"pid{os.getpid()}-{_HOST_KEY}-{_INSTANCE}"


def _pid_gone(pid: int) -> bool:
    if pid <= 0:
        return False  # not a process id (0 and negatives address process groups)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: alive, under another user; else: cannot tell
        return False
    return False


def _gone(pid: int, instance: str) -> bool:
    if pid == os.getpid():
        return instance != _INSTANCE  # our pid, an earlier process's instance: that process is gone
    return _pid_gone(pid)


def worker_gone(worker_id: str | None) -> bool:
    """True when ``worker_id`` names a worker of a process of this host that no longer runs.
    False when it runs, may run (a pid reused by another process), or is of another host or form."""
    parts = (worker_id or "").split(":")
    if len(parts) != 3 or parts[0] != HOST or not parts[1].isdigit():
        return False
    return _gone(int(parts[1]), parts[2].split(".")[0])


def tag_gone(text: str) -> bool | None:
    """For a name carrying an ``owner_tag``: whether its process, of this host, is gone (False for
    another host's). None when the name carries no tag."""
    m = _TAG.search(text)
    if m is None:
        return None
    return m.group(2) == _HOST_KEY and _gone(int(m.group(1)), m.group(3))


@dataclass(frozen=True)
class Job:
    """A claimed request: what a worker needs to run it without holding a session open."""

    id: uuid.UUID
    attempt: int
    tenant_id: uuid.UUID
    workspace_id: uuid.UUID
    resolved: dict[str, Any]
    claimed_at: datetime


@dataclass(frozen=True)
class Figures:
    """What a finished run records (the runner's ``ReportResult``, decoupled from its class)."""

    total_count: int
    summary: Any
    row_limit_exceeded: bool
    effort: float
    query_duration_ms: int
    query_count: int
    columns: Any = None

    @classmethod
    def from_result(cls, result: Any) -> Figures:
        return cls(
            total_count=int(result.total_count),
            summary=result.summary,
            row_limit_exceeded=bool(result.row_limit_exceeded),
            effort=float(result.effort),
            query_duration_ms=int(result.query_duration_ms),
            query_count=int(result.query_count),
            columns=_jsonable(getattr(result, "columns", None)),
        )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def _claimable(stale_before: datetime) -> Any:
    return or_(
        ReportRequest.status == RequestStatus.QUEUED,
        and_(ReportRequest.status == RequestStatus.RUNNING, ReportRequest.heartbeat_at < stale_before),
    )


def claim(db: Database, worker_id: str, *, stale_after: float, now: datetime | None = None,
          lanes: Sequence[str] | None = None, tenant_cap: int | None = None) -> Job | None:
    """Claim the next request (queued, or running under a worker silent for ``stale_after`` s).

    ``lanes`` (default: any) are the lanes this worker takes, in order of preference: a request of
    the first lane goes before one of the second whatever their priority. ``tenant_cap`` skips the
    requests of tenants with that many requests already running (see :mod:`service.scheduling`).
    """
    now = now or utcnow()
    stale_before = now - timedelta(seconds=stale_after)
    with db.session() as session:
        if tenant_cap is not None and db.dialect == "postgresql":
            # Claims take turns (for this transaction only) so two workers cannot both see a tenant
            # one below its cap and take it over; a claim is a few milliseconds.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
        # A request whose cancellation was asked while its worker died ends here, not in a re-run.
        session.execute(
            update(ReportRequest)
            .where(ReportRequest.status == RequestStatus.RUNNING, ReportRequest.cancel_requested.is_(True),
                   ReportRequest.heartbeat_at < stale_before)
            .values(status=RequestStatus.CANCELLED, status_message=STATUS_MESSAGES[RequestStatus.CANCELLED],
                    finished_at=now)
        )
        # A request whose last allowed attempt died with its worker ends failed, not in another run.
        ended = cast(CursorResult[Any], session.execute(
            update(ReportRequest)
            .where(ReportRequest.status == RequestStatus.RUNNING, ReportRequest.heartbeat_at < stale_before,
                   ReportRequest.attempts >= MAX_ATTEMPTS)
            .values(status=RequestStatus.FAILED, status_message=stopped_message(MAX_ATTEMPTS), finished_at=now)
            .execution_options(synchronize_session=False)
        )).rowcount
        if ended:
            log.warning("%d request(s) failed: their worker died during each of %d attempts", ended, MAX_ATTEMPTS)
        order: list[Any] = [ReportRequest.priority, ReportRequest.created_at, ReportRequest.id]
        q = select(ReportRequest.id, ReportRequest.attempts).where(_claimable(stale_before))
        if lanes is not None:
            q = q.where(ReportRequest.lane.in_(list(lanes)))
            if len(lanes) > 1:
                order.insert(0, case({lane: n for n, lane in enumerate(lanes)}, value=ReportRequest.lane))
        if tenant_cap is not None:
            busy = (
                select(ReportRequest.tenant_id)
                .where(ReportRequest.status == RequestStatus.RUNNING, ReportRequest.heartbeat_at >= stale_before)
                .group_by(ReportRequest.tenant_id)
                .having(func.count() >= tenant_cap)
            )
            q = q.where(ReportRequest.tenant_id.not_in(busy))
        q = q.order_by(*order).limit(1)
        if db.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        for _ in range(5):
            row = session.execute(q).first()
            if row is None:
                return None
            req_id, attempts = row
            # An UPDATE without RETURNING executes to a CursorResult (which has rowcount); the
            # Session.execute stubs only promise the Result base class.
            done = cast(CursorResult[Any], session.execute(
                update(ReportRequest)
                .where(ReportRequest.id == req_id, ReportRequest.attempts == attempts, _claimable(stale_before))
                .values(status=RequestStatus.RUNNING, worker_id=worker_id, claimed_at=now, heartbeat_at=now,
                        attempts=attempts + 1, status_message=STATUS_MESSAGES[RequestStatus.RUNNING])
                .execution_options(synchronize_session=False)
            ))
            if done.rowcount == 1:
                r = session.get(ReportRequest, req_id)
                assert r is not None
                return Job(r.id, r.attempts, r.tenant_id, r.workspace_id, r.resolved_json, now)
    return None


@dataclass(frozen=True)
class Recovered:
    """What ``recover`` did with the requests of gone processes of this host."""

    requeued: list[uuid.UUID]
    failed: list[uuid.UUID]
    cancelled: list[uuid.UUID]

    def __len__(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.cancelled)


def recover(db: Database, *, now: datetime | None = None) -> Recovered:
    """Requests running under a worker of a process of this host that is gone: queued again at once
    (no wait for the heartbeat to go stale); failed instead when that was their ``MAX_ATTEMPTS``-th
    attempt; cancelled when their cancellation was asked. Each change is conditional on the row being
    still that attempt of that worker, so it is safe beside other processes' workers and recoveries;
    the next claim counts the new attempt."""
    now = now or utcnow()
    out = Recovered([], [], [])
    with db.session() as session:
        rows = session.execute(
            select(ReportRequest.id, ReportRequest.attempts, ReportRequest.worker_id, ReportRequest.cancel_requested)
            .where(ReportRequest.status == RequestStatus.RUNNING,
                   ReportRequest.worker_id.startswith(f"{HOST}:", autoescape=True))
        ).all()
    for req_id, attempts, worker, cancel_asked in rows:
        if not worker_gone(worker):
            continue
        values: dict[str, Any]
        if cancel_asked:
            values, into = {"status": RequestStatus.CANCELLED, "finished_at": now,
                            "status_message": STATUS_MESSAGES[RequestStatus.CANCELLED]}, out.cancelled
        elif attempts >= MAX_ATTEMPTS:
            values, into = {"status": RequestStatus.FAILED, "finished_at": now,
                            "status_message": stopped_message(attempts)}, out.failed
        else:
            values, into = {"status": RequestStatus.QUEUED, "heartbeat_at": None,
                            "status_message": STATUS_MESSAGES[RequestStatus.QUEUED]}, out.requeued
        with db.session() as session:
            done = cast(CursorResult[Any], session.execute(  # UPDATE: a CursorResult, see claim
                update(ReportRequest)
                .where(ReportRequest.id == req_id, ReportRequest.attempts == attempts,
                       ReportRequest.worker_id == worker, ReportRequest.status == RequestStatus.RUNNING)
                .values(**values).execution_options(synchronize_session=False)
            )).rowcount
        if done == 1:
            into.append(req_id)
    if out.requeued:
        log.warning("queued again %d request(s) whose process (%s) is gone", len(out.requeued), HOST)
    if out.failed:
        log.warning("failed %d request(s): their worker died during each of %d attempts", len(out.failed),
                    MAX_ATTEMPTS)
    return out


def _owned(job: Job) -> Any:
    return and_(ReportRequest.id == job.id, ReportRequest.attempts == job.attempt,
                ReportRequest.status == RequestStatus.RUNNING)


def heartbeat(db: Database, job: Job) -> tuple[bool, bool]:
    """Record that the worker is alive; returns (still owns the request, cancellation requested)."""
    with db.session() as session:
        done = cast(CursorResult[Any], session.execute(  # UPDATE: a CursorResult, see claim
            update(ReportRequest).where(_owned(job)).values(heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        ))
        if done.rowcount != 1:
            return False, True
        cancel = session.scalar(select(ReportRequest.cancel_requested).where(ReportRequest.id == job.id))
        return True, bool(cancel)


def finish(
    db: Database, job: Job, figures: Figures, temp_path: Path, final_path: Path, *, ttl_seconds: int
) -> bool:
    """Publish a run: move its snapshot into place and mark the request complete, atomically with
    respect to other workers (the rename happens only while this attempt still owns the row)."""
    now = utcnow()
    with db.session() as session:
        q = select(ReportRequest).where(_owned(job))
        if db.dialect == "postgresql":
            q = q.with_for_update()
        row = session.scalars(q).first()
        if row is None or row.cancel_requested:
            temp_path.unlink(missing_ok=True)
            if row is not None:
                _set_final(row, RequestStatus.CANCELLED, now)
            return False
        os.replace(temp_path, final_path)
        row.status = RequestStatus.COMPLETE
        row.status_message = STATUS_MESSAGES[RequestStatus.COMPLETE]
        row.finished_at = now
        row.expires_at = now + timedelta(seconds=ttl_seconds)
        row.snapshot_path = str(final_path)
        row.total_count = figures.total_count
        row.summary = _jsonable(figures.summary)
        row.row_limit_exceeded = figures.row_limit_exceeded
        row.effort = figures.effort
        row.query_duration_ms = figures.query_duration_ms
        row.query_count = figures.query_count
        row.columns = figures.columns
        row.total_duration_ms = max(0, round((now - job.claimed_at).total_seconds() * 1000))
        return True


def _set_final(row: ReportRequest, status: RequestStatus, now: datetime, message: str | None = None) -> None:
    row.status = status
    row.status_message = message or STATUS_MESSAGES[status]
    row.finished_at = now


def end(db: Database, job: Job, status: RequestStatus, message: str | None = None) -> bool:
    """Mark the claimed attempt failed or cancelled (no-op if the attempt no longer owns the row)."""
    with db.session() as session:
        row = session.scalars(select(ReportRequest).where(_owned(job))).first()
        if row is None:
            return False
        if row.cancel_requested:
            status, message = RequestStatus.CANCELLED, None
        _set_final(row, status, utcnow(), message)
        return True


def cancel(session: Session, row: ReportRequest) -> str:
    """DELETE on a request: cancel it if it has not finished, else discard it.

    Returns ``"cancelled"`` (queued: cancelled now; running: the worker's ``cancelled`` callback
    sees the flag at its next heartbeat) or ``"discarded"`` (row deleted; caller removes the file).
    """
    status = RequestStatus(row.status)
    if status == RequestStatus.QUEUED:
        _set_final(row, RequestStatus.CANCELLED, utcnow())
        row.cancel_requested = True
        return "cancelled"
    if status == RequestStatus.RUNNING:
        row.cancel_requested = True
        row.status_message = "Cancellation requested"
        return "cancelled"
    session.delete(row)
    return "discarded"


def expire_due(db: Database, *, now: datetime | None = None,
               remove: Callable[[Path], None] = lambda p: p.unlink(missing_ok=True)) -> int:
    """Mark complete results past their ``expires_at`` as expired and delete their snapshots."""
    now = now or utcnow()
    with db.session() as session:
        rows = list(session.scalars(
            select(ReportRequest).where(ReportRequest.status == RequestStatus.COMPLETE,
                                        ReportRequest.expires_at <= now)
        ))
        for row in rows:
            if row.snapshot_path:
                remove(Path(row.snapshot_path))
            row.snapshot_path = None
            _set_final(row, RequestStatus.EXPIRED, row.finished_at or now)
        return len(rows)

