"""Run a resolved report request on the warehouse and keep the result as an immutable Parquet
snapshot.

Two engine queries per report: a small pre-query (segments in the date range, and the time span,
which fixes the UTC-offset runs used for local time) and the report itself, which returns display
columns already sorted and cut at ``rowLimit`` + 1 rows. Everything aggregating runs in the engine;
the count and summary come from the materialised result with Arrow compute (vectorised), so nothing
is queried twice. The expressions come from :mod:`.expression`, their SQL from :mod:`.sql_cache`,
the snapshot's types from :mod:`.normalise`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from callboard.reports import dates, sql_cache
from callboard.reports.expression import build_expression, cut_expression, prepare, stats_expression, stored_calls
from callboard.reports.normalise import normalise, summary, write_snapshot
from callboard.reports.request import ResolvedRequest
from callboard.reports.templates.base import BuildContext
from callboard.settings import Settings
from callboard.warehouse.base import ReadSession, Warehouse

log = logging.getLogger("callboard.report")


class ReportCancelled(Exception):
    """The request was cancelled while the engine was running it."""


class ReportTimeout(Exception):
    """The engine did not finish within ``query_timeout_seconds``."""


@dataclass
class ReportResult:
    """What a finished report leaves behind; ``summary`` sums additive fields over all result rows."""

    snapshot_path: Path
    total_count: int
    summary: dict[str, float | int]
    row_limit_exceeded: bool
    effort: float
    query_duration_ms: int
    query_count: int
    columns: list[str] = field(default_factory=list)


@contextmanager
def guard(session: ReadSession, timeout: float, cancelled: Callable[[], bool] | None) -> Iterator[None]:
    """Interrupt ``session`` when the time limit passes or the request is cancelled: a watcher
    thread polls ``cancelled``, so a DELETE takes effect mid-query (on engines that can interrupt;
    elsewhere the read finishes and then the cancellation is raised)."""
    reason: list[str] = []
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not done.wait(0.1):
            if cancelled is not None and cancelled():
                reason.append("cancelled")
            elif time.monotonic() > deadline:
                reason.append("timeout")
            if reason:
                session.interrupt()
                return

    watcher = threading.Thread(target=watch, name="report-guard", daemon=True)
    watcher.start()
    try:
        yield
    except Exception as exc:
        if reason == ["cancelled"]:
            raise ReportCancelled("the report was cancelled") from exc
        if reason == ["timeout"]:
            raise ReportTimeout(f"the report ran longer than {timeout:g} s and was stopped") from exc
        raise
    finally:
        done.set()
        watcher.join()
    if reason == ["cancelled"]:
        raise ReportCancelled("the report was cancelled")


def _read(session: ReadSession, kind: str, warehouse: Warehouse, workspace: str, req: ResolvedRequest,
          ctx: BuildContext | None, build: sql_cache.Builder) -> tuple[pa.Table, list[str]]:
    """``build(workspace, req)`` run on ``session``: its cached statement where the warehouse has
    prepared statements, else the expression itself."""
    stmt = sql_cache.statement(kind, warehouse, workspace, req, ctx, build)
    if stmt is not None:
        return session.execute(stmt.prepared, stmt.params), stmt.names
    expr, names = build(workspace, req)
    return session.to_arrow(expr), names


def cut_bounds(session: ReadSession, warehouse: Warehouse, workspace: str,
               req: ResolvedRequest) -> frozenset[str] | None:
    """The bounds of ``req``'s period that stored calls span, read on ``session`` (None: the
    request does not read stored calls, or has no bound)."""
    stored = stored_calls(warehouse, workspace, req)
    if stored is None or not stored.bounds():
        return None

    def build(ws: str, r: ResolvedRequest) -> tuple[ir.Table, list[str]]:
        s = stored_calls(warehouse, ws, r)
        assert s is not None
        return cut_expression(s), ["bound"]

    table, _ = _read(session, "cut", warehouse, workspace, req, None, build)
    return frozenset(str(v) for v in table.column("bound").to_pylist())


# Report shapes (``sql_cache`` keys) whose template reads no stored table although it is offered
# some (the segment lists): the cut probe cannot change their SQL, so it is not run for them.
# Each holds the kind and cut its statement was compiled under, so the cached statement is reused.
_IGNORES_STORED: dict[sql_cache.Key, tuple[str, frozenset[str]]] = {}
_ignores_lock = threading.Lock()


def _report_table(warehouse: Warehouse, workspace: str, req: ResolvedRequest, ctx: BuildContext, timeout: float,
                  cancelled: Callable[[], bool] | None) -> tuple[pa.Table, list[str]]:
    """Probe the cut bounds, then build (or take from the cache), compile and run the report. The
    bounds no stored call spans need no segment roll-up (a smaller query to plan and run); the
    probe and the report read one snapshot, so an import committed between them cannot cut a call
    the probe did not see. A shape whose build was seen not to read the stored tables skips the
    probe (one query less)."""
    builds: list[str] = []  # one entry per build of the expression (none: the cached statement ran)
    read_stored: list[str] = []  # the stored tables those builds read

    def build(cut: frozenset[str] | None) -> sql_cache.Builder:
        def build_for(ws: str, r: ResolvedRequest) -> tuple[ir.Table, list[str]]:
            builds.append(ws)
            stored = stored_calls(warehouse, ws, r, cut)
            if stored is not None:
                table = stored.table

                def noted(name: str) -> ir.Table:
                    read_stored.append(name)
                    return table(name)
                stored = replace(stored, table=noted)
            return build_expression(prepare(warehouse, ws, r), r, replace(ctx, stored=stored))
        return build_for

    shape = (sql_cache.key("report", warehouse, workspace, req, ctx)
             if warehouse.capabilities.prepared_statements else None)
    with warehouse.session(snapshot=True) as session, guard(session, timeout, cancelled):
        known = _IGNORES_STORED.get(shape) if shape is not None else None
        if known is not None:
            return _read(session, known[0], warehouse, workspace, req, ctx, build(known[1]))
        cut = cut_bounds(session, warehouse, workspace, req)
        kind = "report" if cut is None else "report/cut:" + ",".join(sorted(cut))
        out = _read(session, kind, warehouse, workspace, req, ctx, build(cut))
        if shape is not None and cut is not None and builds and not read_stored:
            with _ignores_lock:
                _IGNORES_STORED[shape] = (kind, cut)
                while len(_IGNORES_STORED) > sql_cache.SIZE:
                    del _IGNORES_STORED[next(iter(_IGNORES_STORED))]
        return out


class _BackgroundStats:
    """The pre-query on a read session of its own while the report is built, compiled and run (a
    request with a period needs its result only for ``effort`` and the rare span check)."""

    def __init__(self, warehouse: Warehouse, workspace: str, req: ResolvedRequest) -> None:
        self._warehouse, self._workspace, self._req = warehouse, workspace, req
        # The expression is built here: building asks the catalogue on the warehouse's own
        # connection, which the thread must not use; the thread compiles (the costly part) and runs.
        self._key, self._hit, found = sql_cache.lookup("stats", warehouse, workspace, req, None)
        self._expr: ir.Table | None = None
        if not found:
            if self._key is not None:
                self._expr, _ = sql_cache.build_with_sentinels(warehouse, workspace, req, self._build)
            else:
                self._expr = self._build(workspace, req)[0]
        self._row: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._session: ReadSession | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="report-stats", daemon=True)
        self._thread.start()

    def _build(self, ws: str, r: ResolvedRequest) -> tuple[ir.Table, list[str]]:
        return stats_expression(self._warehouse, ws, r, long_only=True), ["n", "long"]

    def _run(self) -> None:
        try:
            with self._warehouse.session() as session:
                self._session = session
                self._started.set()
                stmt = self._hit
                if stmt is None and self._key is not None and self._expr is not None:
                    stmt = sql_cache.compile_into(self._key, self._warehouse, self._workspace, self._req,
                                                  self._expr, ["n", "long"])
                if stmt is not None:
                    table = session.execute(stmt.prepared, stmt.params)
                elif self._key is None and self._expr is not None:  # not cacheable: built with the real values
                    table = session.to_arrow(self._expr)
                else:  # a shape the cache cannot hold: result() runs it on the caller's thread
                    return
                self._row = table.to_pylist()[0]
        except BaseException as exc:
            self._error = exc
        finally:
            self._started.set()

    def interrupt(self) -> None:
        self._started.wait()
        if self._session is not None:
            self._session.interrupt()

    def result(self) -> dict[str, Any]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._row is None:
            with self._warehouse.session() as session:
                self._row = session.to_arrow(self._build(self._workspace, self._req)[0]).to_pylist()[0]
        return self._row


def _offset_runs(req: ResolvedRequest, lo: datetime | None,
                 hi: datetime | None) -> list[tuple[datetime, datetime, int]]:
    """UTC-offset runs over the data's span widened to the period (and the template's look past its
    end), plus a day (naive UTC in)."""
    if req.period is not None:
        p_lo, p_hi = req.period.start_utc.replace(tzinfo=None), req.period.end_utc.replace(tzinfo=None)
        p_hi += timedelta(seconds=req.template.lookahead_seconds(req))
        lo = min(lo, p_lo) if lo else p_lo
        hi = max(hi, p_hi) if hi else p_hi
    if lo is None or hi is None:
        lo = hi = req.reference.replace(tzinfo=None)
    return dates.utc_offset_intervals(req.tz, lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC) + timedelta(days=1))


_LONG_SECONDS = 86_400.0  # the offset runs of a period reach one day past its end


def _span(warehouse: Warehouse, workspace: str, req: ResolvedRequest, timeout: float,
          cancelled: Callable[[], bool] | None) -> dict[str, Any]:
    with warehouse.session() as session, guard(session, timeout, cancelled):
        return session.to_arrow(stats_expression(warehouse, workspace, req)).to_pylist()[0]


def run_report(
    warehouse: Warehouse,
    workspace: str,
    req: ResolvedRequest,
    snapshot_path: Path,
    *,
    cancelled: Callable[[], bool] | None = None,
    timeout_seconds: float | None = None,
) -> ReportResult:
    """Run ``req`` on ``warehouse`` for one workspace and write the rows to ``snapshot_path``.

    Without a period the pre-query runs first (its time span fixes the UTC-offset runs). With a
    period the runs come from the period, so where the warehouse has concurrent reads the pre-query
    runs on a cursor of its own *while* the report is built and run; it then only supplies ``effort``,
    and in the rare case that a segment ends more than a day after the period (the runs would not
    cover it) the report is built and run again with the runs over the real span -- the answer is
    always the one the data's span gives.
    """
    timeout = float(timeout_seconds or Settings().query_timeout_seconds)
    if cancelled is not None and cancelled():
        raise ReportCancelled("the report was cancelled before it started")
    t0 = time.perf_counter()
    background: _BackgroundStats | None = None
    if req.period is not None and warehouse.capabilities.concurrent_reads:
        background = _BackgroundStats(warehouse, workspace, req)
        runs = _offset_runs(req, None, None)
    else:
        row = _span(warehouse, workspace, req, timeout, cancelled)
        runs = _offset_runs(req, row["lo"], row["hi"])
    ctx = BuildContext.create(warehouse.functions, runs)
    try:
        table, names = _report_table(warehouse, workspace, req, ctx, timeout, cancelled)
    except BaseException:
        if background is not None:
            background.interrupt()
            with suppress(Exception):  # the report's own error is the one to report
                background.result()
        raise
    queries = 2  # the segment count (effort) and the report itself
    t_engine = time.perf_counter()
    if background is not None:
        row = background.result()
        assert req.period is not None
        if row["long"] is not None and row["long"] > _LONG_SECONDS:
            # a segment lasts over a day, so it may end after the runs used (exact up to a day past
            # the period): get the real span and, if it does, redo the report with the runs over
            # it, as the sequential path would have
            span = _span(warehouse, workspace, req, timeout, cancelled)
            queries += 1
            covered_to = req.period.end_utc.replace(tzinfo=None) + timedelta(days=1)
            if span["hi"] is not None and span["hi"] > covered_to:
                ctx = BuildContext.create(warehouse.functions, _offset_runs(req, span["lo"], span["hi"]))
                table, names = _report_table(warehouse, workspace, req, ctx, timeout, cancelled)
                queries += 1
    examined = int(row["n"] or 0)
    t_query = time.perf_counter()
    query_ms = int((t_query - t0) * 1000)

    limit = req.request.rowLimit
    exceeded = table.num_rows > limit
    if exceeded:
        table = table.slice(0, limit)
    table = normalise(table, req.template, names)
    totals = summary(table, req)
    display = [n for n in req.display_fields if n in table.column_names]
    snapshot = table.select(display)
    t_normalised = time.perf_counter()
    write_snapshot(snapshot, snapshot_path, req)
    if log.isEnabledFor(logging.DEBUG):
        t_end = time.perf_counter()
        # where a report's time goes (docs/performance.md): the engine (probe and report), the wait
        # for the pre-query running beside it, normalising with the summary, the snapshot
        log.debug("report %s: %d rows; engine %.1f ms, pre-query wait %.1f ms, normalise %.1f ms, "
                  "snapshot %.1f ms", req.template.name, snapshot.num_rows, (t_engine - t0) * 1000,
                  (t_query - t_engine) * 1000, (t_normalised - t_query) * 1000, (t_end - t_normalised) * 1000)
    return ReportResult(
        snapshot_path=snapshot_path,
        total_count=snapshot.num_rows,
        summary=totals,
        row_limit_exceeded=exceeded,
        effort=round(examined / 1000, 3),
        query_duration_ms=query_ms,
        query_count=queries,
        columns=display,
    )
