"""Warehouses on any Ibis backend (``CALLBOARD_ENGINE`` as an Ibis URL), and on Spark.

The generic warehouse runs reports through Ibis's own execution and appends through its
``insert``; it declares no capabilities beyond that. Spark adds its functions (``unix_micros``),
Arrow appends straight into a Spark table, and interrupts: a report's jobs run in a job group that
:meth:`ReadSession.interrupt` cancels as a whole.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from callboard.calls.functions import EngineFunctions
from callboard.warehouse.base import CALLS_TABLE, AppendResult, Capabilities, ReadSession, Warehouse, to_storage


class IbisWarehouse(Warehouse):
    """Calls on any Ibis backend, appended and read through Ibis alone."""

    def __init__(self, con: ibis.BaseBackend) -> None:
        super().__init__(con)
        self.name = con.name  # type: ignore[misc]  # the backend's own name (postgres, sqlite, …)

    @classmethod
    def open(cls, url: str) -> IbisWarehouse:
        return cls(ibis.connect(url))

    def _has_calls(self) -> bool:
        return CALLS_TABLE in self.con.list_tables()

    def append(self, workspace: str, segments: pa.Table, *, derive_call_flags: bool = False) -> AppendResult:
        """Store one batch; rows whose ``(workspace, docId)`` exists (or repeat a docId of the
        batch) are duplicates. ``derive_call_flags`` is ignored: Ibis has no portable UPDATE, so
        each batch keeps the flags its importer derived (``Capabilities.call_flags`` is off)."""
        t0 = time.perf_counter()
        rows = to_storage(workspace, segments)
        if rows.num_rows == 0:
            return AppendResult(0, 0, 0)
        docs = pc.unique(rows.column("docId"))
        with self._write_lock:
            existing: set[str] = set()
            if self._has_calls():
                t = self.segments(workspace)
                found = t.filter(t.docId.isin(docs.to_pylist())).select("docId").to_pyarrow()
                existing = set(found.column("docId").to_pylist())
            keep_mask = pc.invert(pc.is_in(rows.column("docId"), pa.array(list(existing), pa.string())))
            fresh = rows.filter(keep_mask)
            fresh = fresh.take(_first_occurrence(fresh.column("docId")))
            if fresh.num_rows:
                self._write(fresh)
        inserted = fresh.num_rows
        return AppendResult(rows.num_rows, inserted, rows.num_rows - inserted, time.perf_counter() - t0)

    def _write(self, fresh: pa.Table) -> None:
        if self._has_calls():
            self.con.insert(CALLS_TABLE, fresh.to_pandas())
        else:
            self.con.create_table(CALLS_TABLE, fresh.to_pandas())

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()


def _first_occurrence(values: pa.ChunkedArray) -> pa.Array:
    """Indices of the first row of each distinct value, in row order."""
    table = pa.table({"v": values, "i": pa.array(range(len(values)), pa.int64())})
    grouped = table.group_by("v", use_threads=False).aggregate([("i", "min")])
    return grouped.column("i_min").take(pc.sort_indices(grouped.column("i_min")))


# ---- Spark ---------------------------------------------------------------------------------------
@ibis.udf.scalar.builtin(name="unix_micros")
def _unix_micros(ts: dt.timestamp) -> dt.int64:
    """Spark: microseconds since the epoch."""


class SparkFunctions(EngineFunctions):
    """Exact microseconds (``epoch_seconds`` truncates to whole seconds on Spark); the arg-min and
    arg-max picks are Ibis's own (``min_by``/``max_by``)."""

    def epoch_us(self, ts: ir.TimestampValue) -> ir.IntegerValue:
        return _unix_micros(ts)


class SparkWarehouse(IbisWarehouse):
    """Calls in a Spark table; report jobs are cancellable."""

    name: ClassVar[str] = "pyspark"
    capabilities: ClassVar[Capabilities] = Capabilities(interrupt=True)
    functions: ClassVar[EngineFunctions] = SparkFunctions()

    def __init__(self, session: Any) -> None:
        Warehouse.__init__(self, ibis.pyspark.connect(session))
        self.spark = session

    @classmethod
    def open(cls, session: Any = None) -> SparkWarehouse:
        """A warehouse on a Spark session (a local ``local[2]`` one when none is given)."""
        return cls(session if session is not None else local_spark_session())

    def _write(self, fresh: pa.Table) -> None:
        # Arrow straight into Spark: going through pandas stores null strings as 'NaN'
        self.spark.createDataFrame(fresh).write.mode("append").saveAsTable(CALLS_TABLE)

    @contextmanager
    def session(self, *, snapshot: bool = False) -> Iterator[ReadSession]:
        """Reads whose Spark jobs run in one job group of this thread, cancelled by interrupt."""
        context = self.spark.sparkContext
        group = f"callboard-{uuid.uuid4().hex}"
        context.setJobGroup(group, "callboard report", interruptOnCancel=True)
        try:
            yield _SparkSession(self.con, context, group)
        finally:
            context.setJobGroup("", "")  # clear, so later jobs on this thread are not in the group

    def close(self) -> None:
        """The Spark session outlives the warehouse (it is shared by the process)."""


class _SparkSession(ReadSession):
    def __init__(self, con: ibis.BaseBackend, context: Any, group: str) -> None:
        self._con, self._context, self._group = con, context, group

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self._con.to_pyarrow(expr)

    def interrupt(self) -> None:
        self._context.cancelJobGroup(self._group)


_spark_lock = threading.Lock()
_spark_session: Any = None


def local_spark_session() -> Any:
    """A shared local Spark session in UTC (started once per process)."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
            # pyspark is an optional dependency (the ``spark`` extra): imported only when asked for
            from pyspark.sql import SparkSession

            _spark_session = (
                SparkSession.builder.master("local[2]")
                .appName("callboard")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.ansi.enabled", "false")
                .config("spark.driver.memory", "2g")
                .getOrCreate()
            )
            _spark_session.sparkContext.setLogLevel("ERROR")
        return _spark_session
