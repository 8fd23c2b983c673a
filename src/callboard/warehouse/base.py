"""The warehouse interface: one ``calls`` table reached through Ibis, and what every engine's
warehouse class offers the report runner.

Rows carry a ``workspace`` column beside the canonical fields; ``start`` is a naive UTC timestamp so
every engine reads the same instant. Appends are atomic per batch and idempotent on
``(workspace, docId)``.

Engines differ in what they can do, not in what reports mean. Each warehouse class declares its
:class:`Capabilities` (the way Ibis's backends declare theirs) and supplies its engine's
:class:`~callboard.calls.functions.EngineFunctions`; the runner and the templates ask those, never
an engine's name, and never reach into a driver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from callboard.calls.functions import PORTABLE, EngineFunctions
from callboard.calls.rollups import CALL_ROLLUPS_TABLE
from callboard.calls.schema import SEGMENT_SCHEMA

CALLS_TABLE = "calls"
WORKSPACE_COLUMN = "workspace"

# Storage schema: workspace first, start as naive UTC (portable across engines).
STORAGE_SCHEMA = pa.schema(
    [pa.field(WORKSPACE_COLUMN, pa.string(), nullable=False)]
    + [
        pa.field(f.name, pa.timestamp("us") if f.name == "start" else f.type, nullable=f.nullable)
        for f in SEGMENT_SCHEMA
    ]
)


@dataclass(frozen=True)
class Capabilities:
    """What a warehouse class can do beyond running Ibis expressions."""

    stored_rollups: bool = False  # keeps the stored call rollups (calls.rollups.STORED) exact on every write
    interrupt: bool = False  # a running query can be stopped (time limit, cancellation)
    prepared_statements: bool = False  # runs compiled SQL with named parameters (reports.sql_cache)
    concurrent_reads: bool = False  # several read sessions may run at once (the pre-query beside the report)
    maintenance_sql: bool = False  # raw_sql for maintenance
    # append(derive_call_flags=True) derives ref/lost again over all stored legs of the calls a batch
    # adds legs to (calls.legs); without it each batch keeps the flags its importer gave it
    call_flags: bool = False


@dataclass(frozen=True)
class AppendResult:
    received: int
    inserted: int
    duplicates: int
    seconds: float = 0.0

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "inserted": self.inserted, "duplicates": self.duplicates}


def to_storage(workspace: str, segments: pa.Table) -> pa.Table:
    """Canonical segments (UTC-aware ``start``) → storage rows of one workspace."""
    segments = segments.select(SEGMENT_SCHEMA.names)
    start = segments.column("start").cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    table = segments.set_column(segments.schema.get_field_index("start"), "start", start)
    ws = pa.array([workspace] * table.num_rows, pa.string()) if table.num_rows else pa.array([], pa.string())
    return table.add_column(0, WORKSPACE_COLUMN, ws).cast(STORAGE_SCHEMA)


@dataclass(frozen=True)
class PreparedStatement:
    """Compiled SQL whose workspace and period bounds are named parameters (``$ws``, ``$lo``,
    ``$hi``), run by :meth:`ReadSession.execute` with their values; ``schema`` is the Ibis schema
    of the result."""

    sql: str
    schema: Any
    parameters: frozenset[str] = field(default_factory=frozenset)


class ReadSession:
    """One report's reads. On an engine with snapshots every read of a session sees the same
    committed data; :meth:`interrupt` (from another thread) stops the running read."""

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        raise NotImplementedError

    def execute(self, statement: PreparedStatement, params: Mapping[str, Any]) -> pa.Table:
        """Run a prepared statement (warehouses with ``prepared_statements`` only)."""
        raise NotImplementedError(f"{type(self).__name__} does not run prepared statements")

    def interrupt(self) -> None:
        """Stop the running read, if the engine can (``Capabilities.interrupt``)."""


class Warehouse:
    """Calls storage and the Ibis connection reports run on (one subclass per engine)."""

    name: ClassVar[str] = "ibis"
    capabilities: ClassVar[Capabilities] = Capabilities()
    functions: ClassVar[EngineFunctions] = PORTABLE

    def __init__(self, con: ibis.BaseBackend) -> None:
        self.con = con
        # Appends are serialised so the duplicate check stays exact.
        self._write_lock = threading.Lock()
        # Where reads cannot run concurrently, report runs take turns (``turn``).
        self.run_lock = threading.Lock()
        # Table expressions by name: looking one up asks the engine for its schema on the shared
        # connection, which concurrent report runs must not do at once (nor repeat for every report).
        self._tables: dict[str, ir.Table] = {}
        self._tables_lock = threading.Lock()

    # ---- reading ------------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        """The stored table ``name`` as an Ibis expression (its schema looked up once)."""
        with self._tables_lock:
            t = self._tables.get(name)
            if t is None:
                t = self._tables[name] = self.con.table(name)
            return t

    def calls(self) -> ir.Table:
        return self.table(CALLS_TABLE)

    def segments(self, workspace: str) -> ir.Table:
        """The calls of one workspace (the starting point of every report)."""
        t = self.calls()
        return t.filter(t[WORKSPACE_COLUMN] == workspace)

    @property
    def has_call_rollups(self) -> bool:
        """Whether reports can read calls from the stored call rollups."""
        return False

    def call_rollups(self, workspace: str, table: str = CALL_ROLLUPS_TABLE) -> ir.Table:
        """One workspace's rows of a stored call rollup table (only where :attr:`has_call_rollups`)."""
        t = self.table(table)
        return t.filter(t[WORKSPACE_COLUMN] == workspace)

    def count(self, workspace: str | None = None) -> int:
        t = self.calls() if workspace is None else self.segments(workspace)
        with self.session() as s:
            return int(s.to_arrow(t.count().name("n").as_table()).column(0)[0].as_py())

    def time_range(self, workspace: str) -> tuple[datetime | None, datetime | None]:
        """(first start, last start) stored for a workspace, UTC-naive, or (None, None)."""
        t = self.segments(workspace)
        with self.session() as s:
            row = s.to_arrow(t.aggregate(lo=t.start.min(), hi=t.start.max())).to_pylist()[0]
        return row["lo"], row["hi"]

    @contextmanager
    def turn(self, timeout: float | None = None) -> Iterator[None]:
        """A report run's turn on this warehouse: at once where reads run concurrently (each in a
        :meth:`session` of its own), else one run at a time. ``TimeoutError`` after ``timeout`` s."""
        if self.capabilities.concurrent_reads:
            yield
            return
        if not self.run_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError("the warehouse is busy with another report")
        try:
            yield
        finally:
            self.run_lock.release()

    @contextmanager
    def session(self, *, snapshot: bool = False) -> Iterator[ReadSession]:
        """A read session (with ``snapshot``, one consistent view where the engine has them)."""
        yield _IbisSession(self.con)

    def prepare(self, expr: ir.Table, placeholders: Mapping[str, ir.Scalar]) -> PreparedStatement | None:
        """``expr`` compiled with each literal equal to ``placeholders[name]`` made the named
        parameter ``name``; None when it cannot be (``Capabilities.prepared_statements``)."""
        return None

    def raw_sql(self, sql: str, params: list[Any] | None = None) -> Any:
        raise NotImplementedError(f"raw SQL maintenance is not available on the {self.name} warehouse")

    # ---- writing ------------------------------------------------------------------------------
    def append(self, workspace: str, segments: pa.Table, *, derive_call_flags: bool = False) -> AppendResult:
        """Store one batch atomically; rows whose ``(workspace, docId)`` exists are duplicates.

        ``derive_call_flags``: the batch comes from a source whose ``ref``/``lost`` depend on the
        call's other legs (:mod:`callboard.calls.legs`); where ``Capabilities.call_flags``, they are
        derived again over every stored leg of each call the batch added legs to."""
        raise NotImplementedError

    def rebuild_call_rollups(self) -> None:
        """Build the stored call rollups afresh (warehouses with ``stored_rollups``)."""

    def optimize(self) -> None:
        """Rewrite storage for faster reads, where the engine benefits."""

    def close(self) -> None:
        """Release the engine connection."""


class _IbisSession(ReadSession):
    """Reads through the Ibis backend's own execution (no snapshot, no interrupt)."""

    def __init__(self, con: ibis.BaseBackend) -> None:
        self._con = con

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self._con.to_pyarrow(expr)
