"""Report workers: claim a request, run it on the warehouse, publish the snapshot.

A worker keeps a heartbeat while it runs (so a crashed worker's request is picked up again once its
heartbeat goes stale) and passes the engine a ``cancelled`` callback that turns true when the request
is cancelled through the API or taken over by another worker.

``recover`` runs when a server or worker process starts (and with each sweep): requests held by a
process of this host that is gone are queued again at once (``queue.recover``), and temporary files
of gone processes are removed (``sweep_temp_files``). Temporary snapshots carry the owner's tag
(``queue.owner_tag``), so processes sharing a data folder never remove each other's live files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callboard.reports.runner import run_report
from callboard.service import endings, queue, scheduling
from callboard.service.queue import Figures, Job
from callboard.service.resolve import from_spec
from callboard.settings import Settings
from callboard.store.db import Database
from callboard.store.models import ReportRequest, RequestStatus
from callboard.warehouse.base import Warehouse

log = logging.getLogger("callboard.worker")

Runner = Callable[..., Any]

# Temporary files without an owner's tag (written by versions before the tag) are removed once
# untouched for this long: whatever wrote them has long finished or died.
UNTAGGED_TEMP_SECONDS = 600.0
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

# Workers of this process, woken when a request is submitted here (``wake_workers``), so a request
# starts at once instead of after up to ``worker_poll_seconds``; the poll stays as the fallback for
# requests submitted by other processes.
_live_workers: weakref.WeakSet[Worker] = weakref.WeakSet()
_live_guard = threading.Lock()


def wake_workers() -> None:
    """Wake every idle worker of this process to look for queued requests now."""
    with _live_guard:
        workers = list(_live_workers)
    for w in workers:
        w.wake()


def _default_runner(warehouse: Warehouse, workspace: str, resolved: dict[str, Any], snapshot: Path,
                    cancelled: Callable[[], bool]) -> Any:
    req = from_spec(resolved)
    return run_report(warehouse, workspace, req, snapshot, cancelled=cancelled)


def is_temp_name(name: str) -> bool:
    """A name our writers give files before renaming them into place (``.<name>….tmp[.parquet]``)."""
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".tmp.parquet"))


def sweep_temp_files(folder: Path, *, untagged_after: float = UNTAGGED_TEMP_SECONDS) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writing process (on this host) is gone, and
    untagged ones untouched for ``untagged_after`` seconds; returns the removed paths."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    now = time.time()
    for path in entries:
        if not is_temp_name(path.name):
            continue
        gone = queue.tag_gone(path.name)
        try:
            if gone is None:
                st = path.lstat()
                gone = now - st.st_mtime >= untagged_after
            if gone and path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # its writer renamed or removed it meanwhile
            continue
    if removed:
        log.info("removed %d temporary file(s) of stopped processes in %s", len(removed), folder)
    return removed


@dataclass(frozen=True)
class Recovery:
    """What ``recover`` found left by processes of this host that are gone."""

    requests: queue.Recovered
    temp_files: list[Path]


def recover(settings: Settings, db: Database) -> Recovery:
    """At the start of a process that runs reports: queue again the requests a gone process of this
    host was running, and remove the temporary snapshots such processes left."""
    found = queue.recover(db)
    if found.failed or found.cancelled:
        endings.announce()
    return Recovery(found, sweep_temp_files(settings.results_dir))


class Cancelled(Exception):
    """The run stopped because the request was cancelled or taken over."""


class Worker:
    """One worker: ``run_once`` claims and runs a single request; ``run_forever`` loops until stopped."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        warehouse: Warehouse | None,
        *,
        worker_id: str | None = None,
        runner: Runner | None = None,
        lanes: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        # the lanes this worker takes from, in order of preference (service.scheduling); None: any
        self.lanes = tuple(lanes) if lanes is not None else None
        self.db = db
        self.warehouse = warehouse
        self.worker_id = worker_id or queue.new_worker_id()  # host:pid:instance.random
        self.runner: Runner = runner or _default_runner
        self.results_dir = settings.results_dir
        self._last_sweep = 0.0
        self._wake = threading.Event()
        with _live_guard:
            _live_workers.add(self)

    def wake(self) -> None:
        """Look for queued requests now (a request was submitted, or the worker is stopping)."""
        self._wake.set()

    # ---- one job ----------------------------------------------------------------------------
    def run_once(self) -> bool:
        """Claim and run one request; False when nothing was waiting."""
        job = queue.claim(self.db, self.worker_id, stale_after=self.settings.worker_stale_seconds,
                          lanes=self.lanes, tenant_cap=self.settings.tenant_concurrent_runs)
        if job is None:
            return False
        self.run_job(job)
        return True

    def run_job(self, job: Job) -> None:
        t0 = time.perf_counter()
        self.results_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        final = self.results_dir / f"{job.id}.parquet"
        # the owner's tag: a process starting after this one died removes it (sweep_temp_files)
        temp = self.results_dir / f".{job.id}.{queue.owner_tag()}.{uuid.uuid4().hex[:12]}.tmp.parquet"
        stop = threading.Event()  # cancellation asked, ownership lost, or time limit reached
        done = threading.Event()
        timed_out = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, stop, done, timed_out), daemon=True,
                                name=f"heartbeat-{job.id}")
        beat.start()
        log.info("worker %s running request %s (attempt %d)", self.worker_id, job.id, job.attempt)
        try:
            # runs share the warehouse where it reads concurrently, else take turns; a runner that
            # brings its own data needs no warehouse
            with self.warehouse.turn() if self.warehouse is not None else nullcontext():
                if stop.is_set():
                    raise Cancelled()
                result = self.runner(self.warehouse, str(job.workspace_id), job.resolved, temp, stop.is_set)
            if stop.is_set():
                raise Cancelled()
            t_run = time.perf_counter()
            figures = Figures.from_result(result)
            if temp.exists():
                os.chmod(temp, PRIVATE_FILE)  # owner-only whatever the umask of the process
            ok = queue.finish(self.db, job, figures, temp, final, ttl_seconds=self.settings.result_ttl_seconds)
            log.info("request %s %s (run %.0f ms, publish %.0f ms)", job.id,
                     "complete" if ok else "finished but no longer ours; dropped",
                     (t_run - t0) * 1000, (time.perf_counter() - t_run) * 1000)
        except Exception as exc:  # the engine's failure becomes the request's statusMessage
            temp.unlink(missing_ok=True)
            if timed_out.is_set():
                limit = self.settings.query_timeout_seconds
                queue.end(self.db, job, RequestStatus.FAILED,
                          f"Report processing failed: it ran longer than the limit of {limit} s")
                log.warning("request %s stopped at the time limit", job.id)
            elif stop.is_set():
                queue.end(self.db, job, RequestStatus.CANCELLED)
                log.info("request %s cancelled", job.id)
            else:
                reason = str(exc).strip() or type(exc).__name__
                # Clients see the first line only: engine errors go on to echo SQL and file paths,
                # which stay in the server log under the request id.
                shown = reason.splitlines()[0][:300]
                queue.end(self.db, job, RequestStatus.FAILED,
                          f"Report processing failed: {shown} (request {job.id}; details in the server log)")
                log.warning("request %s failed: %s", job.id, reason, exc_info=True)
        finally:
            done.set()
            endings.announce()  # the final state is committed (or the attempt was taken over)
            beat.join(timeout=5)
            temp.unlink(missing_ok=True)

    def _heartbeat(self, job: Job, stop: threading.Event, done: threading.Event,
                   timed_out: threading.Event) -> None:
        interval = self.settings.worker_heartbeat_seconds
        deadline = time.monotonic() + self.settings.query_timeout_seconds
        # Check cancellation more often than the heartbeat interval, so a cancel lands quickly.
        check = min(interval, 1.0)
        last_beat = time.monotonic()
        while not done.wait(check):
            if time.monotonic() > deadline:
                timed_out.set()
                stop.set()
                return
            try:
                if time.monotonic() - last_beat >= interval:
                    owned, cancel = queue.heartbeat(self.db, job)
                    last_beat = time.monotonic()
                else:
                    owned, cancel = self._peek_cancel(job)
            except Exception:  # a transient store error must not kill the run
                log.warning("heartbeat of request %s failed", job.id, exc_info=True)
                continue
            if not owned or cancel:
                stop.set()
                return

    def _peek_cancel(self, job: Job) -> tuple[bool, bool]:
        with self.db.session() as session:
            row = session.execute(
                select(ReportRequest.attempts, ReportRequest.status, ReportRequest.cancel_requested)
                .where(ReportRequest.id == job.id)
            ).first()
        if row is None or row.attempts != job.attempt or row.status != RequestStatus.RUNNING:
            return False, True
        return True, bool(row.cancel_requested)

    # ---- loops ------------------------------------------------------------------------------
    def drain(self) -> int:
        """Run requests until none is waiting; returns how many ran (tests and batch use)."""
        n = 0
        while self.run_once():
            n += 1
        return n

    def sweep(self) -> None:
        """Expire results past their time to live (cheap; run every loop, at most every 30 s)."""
        if time.monotonic() - self._last_sweep < 30:
            return
        self._last_sweep = time.monotonic()
        expired = queue.expire_due(self.db)
        if expired:
            log.info("expired %d results", expired)
        # another process of this host (a `callboard worker`) may have died since this one started
        recovered = queue.recover(self.db)
        if recovered:
            endings.announce()
            self.wake()
        sweep_temp_files(self.results_dir)

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker %s started (lanes: %s)", self.worker_id, ", ".join(self.lanes or scheduling.LANES))
        if self.lanes is not None and scheduling.LONG in self.lanes:
            scheduling.yield_processor()  # this thread runs the long reports: short ones go first
        while not stop.is_set():
            # cleared before looking, so a submit committed after the claim found nothing still
            # ends the wait below at once
            self._wake.clear()
            try:
                self.sweep()
                if self.run_once():
                    continue
            except Exception:
                log.exception("worker %s: unexpected error; continuing", self.worker_id)
            self._wake.wait(self.settings.worker_poll_seconds)
        log.info("worker %s stopped", self.worker_id)
