"""Reports run at once on the embedded engine, each on a cursor of its own; on an engine whose reads
cannot run concurrently they take turns. Lanes come from the period; workers are split into lanes so
short reports always have one."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from callboard.reports.dates import ResolvedPeriod
from callboard.service import scheduling
from callboard.service.auth import Principal
from callboard.service.errors import Forbidden
from callboard.service.worker import Worker
from callboard.settings import Settings
from callboard.store import Database
from callboard.store.models import ReportRequest, RequestStatus
from callboard.warehouse import Capabilities, DuckDBWarehouse
from tests.service.test_report_workers import enqueue, write_rows


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, worker_heartbeat_seconds=0.2, worker_poll_seconds=0.05)


class _TakingTurns(DuckDBWarehouse):
    """The same engine, declared unable to run reads concurrently (as the Spark warehouse is)."""

    capabilities: ClassVar[Capabilities] = Capabilities(concurrent_reads=False)


def _overlap(settings: Settings, warehouse: DuckDBWarehouse) -> int:
    """Run two requests with two workers whose runner waits (up to 2 s) for the other run to be
    inside its turn too; returns the most runs seen inside their turn at once."""
    db = Database(settings.metadata_url)
    ids = enqueue(db, 2)
    inside, most, guard = 0, 0, threading.Lock()
    both = threading.Barrier(2)

    def runner(wh: Any, workspace: str, resolved: dict[str, Any], snapshot: Path, cancelled: Any) -> Any:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        with contextlib.suppress(threading.BrokenBarrierError):  # alone inside: the other one waits its turn
            both.wait(timeout=2)
        with guard:
            inside -= 1
        return write_rows(snapshot, 1)

    workers = [Worker(settings, db, warehouse, runner=runner) for _ in range(2)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with db.session() as s:
        assert {s.get(ReportRequest, i).status for i in ids} == {RequestStatus.COMPLETE}  # type: ignore[union-attr]
    db.dispose()
    return most


def test_reports_run_at_once_on_the_embedded_engine(settings: Settings) -> None:
    wh = DuckDBWarehouse.open(None)
    try:
        assert _overlap(settings, wh) == 2
    finally:
        wh.close()


def test_reports_take_turns_on_an_engine_without_concurrent_reads(settings: Settings) -> None:
    wh = _TakingTurns.open(None)
    try:
        assert _overlap(settings, wh) == 1
    finally:
        wh.close()


def test_a_short_read_completes_while_a_long_one_runs_on_the_same_database(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "calls.duckdb")
    # (schemas given: Ibis 12's schema probe calls a method DuckDB 2.0 removed, ibis-project/ibis#12001)
    long_expr = wh.con.sql("SELECT count(*) AS n FROM range(1000000000000) t(i) WHERE i % 7 = 3",
                           schema={"n": "int64"})
    short_expr = wh.con.sql("SELECT 42 AS answer", schema={"answer": "int32"})
    started, ended = threading.Event(), threading.Event()
    outcome: list[str] = []

    def long_read() -> None:
        with wh.session(snapshot=True) as s:
            holder.append(s)
            started.set()
            try:
                s.to_arrow(long_expr)
                outcome.append("finished")
            except Exception as exc:  # interrupted below
                outcome.append(type(exc).__name__)
        ended.set()

    holder: list[Any] = []
    t = threading.Thread(target=long_read)
    t.start()
    try:
        assert started.wait(10)
        time.sleep(0.2)  # the long read is inside the engine
        with wh.session(snapshot=True) as s:
            assert s.to_arrow(short_expr).to_pylist() == [{"answer": 42}]
        assert not ended.is_set()  # the short read did not wait for the long one
    finally:
        holder[0].interrupt()
        t.join(30)
        wh.close()
    assert outcome and outcome[0] != "finished"


# ---- lanes ---------------------------------------------------------------------------------------
def _period(days: float) -> ResolvedPeriod:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    end = start + timedelta(days=days)
    return ResolvedPeriod(start, end, start, end, start, start, "UTC", 127)


def test_the_period_decides_the_lane(settings: Settings) -> None:
    assert scheduling.lane_for(_period(1), settings) == scheduling.SHORT
    assert scheduling.lane_for(_period(31), settings) == scheduling.SHORT
    assert scheduling.lane_for(_period(31.5), settings) == scheduling.LONG
    assert scheduling.lane_for(_period(365), settings) == scheduling.LONG
    assert scheduling.lane_for(None, settings) == scheduling.LONG  # the whole history
    wider = settings.model_copy(update={"long_report_days": 400})
    assert scheduling.lane_for(_period(365), wider) == scheduling.SHORT


def test_workers_are_split_so_short_reports_always_have_one(settings: Settings) -> None:
    long_short, short = ("long", "short"), ("short",)
    assert scheduling.worker_lanes(1, settings) == [long_short]
    assert scheduling.worker_lanes(4, settings) == [long_short, short, short, short]
    two_long = settings.model_copy(update={"long_report_runs": 2})
    assert scheduling.worker_lanes(4, two_long) == [long_short, long_short, short, short]
    every = settings.model_copy(update={"long_report_runs": 9})
    assert scheduling.worker_lanes(3, every) == [long_short, long_short, short]


def test_priority_level_1_is_granted_not_assumed() -> None:
    tenant = uuid.uuid4()
    reader = Principal(uuid.uuid4(), tenant, frozenset({"reports:read"}))
    granted = Principal(uuid.uuid4(), tenant, frozenset({"reports:read", "reports:priority"}))
    with pytest.raises(Forbidden, match="reports:priority"):
        scheduling.check_priority(1, reader)
    scheduling.check_priority(2, reader)
    scheduling.check_priority(1, granted)
    scheduling.check_priority(1, None)  # the operator's own command line
