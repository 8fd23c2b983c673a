"""The embedded warehouse: a DuckDB file in the data folder (the default engine).

What DuckDB adds to the generic warehouse: the append fast path (one ``INSERT … WHERE NOT EXISTS``
per batch), the stored call rollups kept beside the segments (:mod:`callboard.warehouse.call_rollups`),
read sessions on their own cursor inside one transaction (a snapshot, interruptible), prepared
statements for the report SQL cache, and DuckDB's own aggregate functions for the arg-min picks.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot.expressions as sge
from ibis.backends.duckdb.converter import DuckDBPyArrowData
from sqlglot import ErrorLevel

from callboard.calls.functions import EngineFunctions
from callboard.calls.legs import lost_keys_sql, rang_sql
from callboard.calls.rollups import STORED
from callboard.calls.schema import CALL_FIELDS, EXTRA_FIELD
from callboard.warehouse import call_rollups
from callboard.warehouse.base import (
    CALLS_TABLE,
    STORAGE_SCHEMA,
    WORKSPACE_COLUMN,
    AppendResult,
    Capabilities,
    PreparedStatement,
    ReadSession,
    Warehouse,
    to_storage,
)

_DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "TINYINT",
                 "flag": "TINYINT"}


# ---- DuckDB's own functions ---------------------------------------------------------------------
@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(ts: dt.timestamp) -> dt.int64:
    """DuckDB: microseconds since the epoch."""


def _stub(value: ir.Value, key: ir.Value) -> ir.Value:  # pragma: no cover - never called
    """Placeholder body for a DuckDB builtin aggregate (the signature is given at the call)."""
    raise NotImplementedError


def _builtin_agg(name: str, value: ir.Value, key: ir.Value) -> Any:
    return ibis.udf.agg.builtin(_stub, name=name, signature=((value.type(), key.type()), value.type()))


class DuckDBFunctions(EngineFunctions):
    """``epoch_us`` and the hash-aggregate ``arg_min``/``arg_min_null``/``arg_max`` (Ibis's own
    ``argmin`` compiles to ``first(… ORDER BY …)``, which sorts each group)."""

    def epoch_us(self, ts: ir.TimestampValue) -> ir.IntegerValue:
        return _epoch_us(ts)

    def first_by(self, value: ir.StructValue, key: ir.StructValue,
                 where: ir.BooleanValue | None = None) -> ir.StructValue:
        return _builtin_agg("arg_min", value, key)(value, key, where=where)

    def first_value_by(self, value: ir.Value, key: ir.StructValue,
                       where: ir.BooleanValue | None = None) -> ir.Value:
        # arg_min_null: a null value on the first row is the answer, not skipped -- ~15 % faster than
        # arg_min over a one-member struct, while for several members one struct beats a scalar pick
        # per member by ~4× (the call rollup of a workspace-year: 0.83 s against 3.75 s)
        return _builtin_agg("arg_min_null", value, key)(value, key, where=where)

    def last_by(self, value: ir.StructValue, key: ir.StructValue) -> ir.StructValue:
        return _builtin_agg("arg_max", value, key)(value, key)


def is_lock_conflict(exc: BaseException) -> bool:
    """DuckDB's refusal to open a file another process holds (one process at a time may)."""
    return isinstance(exc, duckdb.IOException) and "could not set lock" in str(exc).lower()


# ---- the warehouse -------------------------------------------------------------------------------
class DuckDBWarehouse(Warehouse):
    """Calls in a DuckDB file (or in memory), with the stored call rollups beside them."""

    name: ClassVar[str] = "duckdb"
    capabilities: ClassVar[Capabilities] = Capabilities(
        stored_rollups=True, interrupt=True, prepared_statements=True, concurrent_reads=True, maintenance_sql=True,
        call_flags=True)
    functions: ClassVar[EngineFunctions] = DuckDBFunctions()

    def __init__(self, con: ibis.BaseBackend, path: Path | None = None) -> None:
        """A warehouse on an open Ibis DuckDB connection as it is (:meth:`open` also creates the
        tables a new or older file lacks; a read-only connection cannot)."""
        super().__init__(con)
        self.path = path
        self._db: Any = con.con  # the DuckDB connection the Ibis backend runs on
        self._has_rollups: bool | None = None
        # DuckDB refuses two calls at once on one connection ("connection is busy"): what runs on
        # the shared connection itself (maintenance, Ibis's own execution) holds this; reports and
        # appends run on cursors of their own and need not
        self._shared = threading.RLock()
        self._refresh: dict[str, str] | None = None

    @classmethod
    def open(cls, path: Path | str | None = None, *, threads: int | None = None, memory_limit: str | None = None,
             temp_directory: Path | str | None = None) -> DuckDBWarehouse:
        """Open (creating if needed) the DuckDB warehouse file; ``None`` gives an in-memory one.

        ``memory_limit`` caps the memory of the whole database (every connection and cursor; DuckDB's
        own default is 80 % of RAM), e.g. ``"50%"`` or ``"4GB"``; ``temp_directory`` is where a query
        over it spills (created owner-only; DuckDB's default is ``<file>.tmp``). A query that needs
        more than the cap and cannot spill fails with DuckDB's ``OutOfMemoryException``.
        """
        kwargs: dict[str, Any] = {"threads": threads} if threads else {}
        if memory_limit:
            kwargs["memory_limit"] = memory_limit
        if temp_directory is not None:
            Path(temp_directory).mkdir(mode=0o700, parents=True, exist_ok=True)
            kwargs["temp_directory"] = str(temp_directory)
        if path is None:
            wh = cls(ibis.duckdb.connect(**kwargs))
        else:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            wh = cls(ibis.duckdb.connect(str(path), **kwargs), path=path)
        wh._ensure_tables()
        return wh

    def _ensure_tables(self) -> None:
        cols = [f"{WORKSPACE_COLUMN} VARCHAR NOT NULL"]
        for f in CALL_FIELDS:
            null = " NOT NULL" if f.name in ("docId", "connId", "start") else ""
            cols.append(f'"{f.name}" {_DUCKDB_TYPES[f.type]}{null}')
        cols.append(f'"{EXTRA_FIELD}" VARCHAR')
        # on the connection itself, as rebuilds run there: a long one would draw a progress bar on stdout
        self._db.execute("SET enable_progress_bar = false")
        self.raw_sql(f"CREATE TABLE IF NOT EXISTS {CALLS_TABLE} ({', '.join(cols)})")
        if not all(self._has_table(s.table) for s in STORED):
            self.rebuild_call_rollups()  # a new file, or one from before the table existed

    def _has_table(self, table: str) -> bool:
        # not Ibis's list_tables(): ibis 12.0 calls fetch_arrow_table(), which DuckDB 2.0 removed
        # (fixed upstream by ibis-project/ibis#12001, not yet released)
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'"
        cur = self._db.cursor()  # of its own: reports running at once ask this too
        try:
            return bool(cur.execute(sql, [table]).fetchall()[0][0])
        finally:
            cur.close()

    @property
    def has_call_rollups(self) -> bool:
        if self._has_rollups is None:
            self._has_rollups = all(self._has_table(s.table) for s in STORED)
        return self._has_rollups

    def raw_sql(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run SQL directly on DuckDB (warehouse maintenance only; reports go through Ibis), on a
        cursor of its own (reports may be running on others); returns the cursor to fetch from."""
        return self._db.cursor().execute(sql, params or [])

    # ---- reading ------------------------------------------------------------------------------
    @contextmanager
    def session(self, *, snapshot: bool = False) -> Iterator[ReadSession]:
        """Reads on a cursor of their own (so several run at once, and each can be interrupted
        alone); with ``snapshot`` inside one read transaction, so every read sees the same data."""
        cur = self._db.cursor()
        try:
            cur.execute("SET enable_progress_bar = false")
            if snapshot:
                cur.execute("BEGIN TRANSACTION")
            yield _DuckDBSession(self, cur)
        finally:
            if snapshot:
                with suppress(Exception):
                    cur.execute("ROLLBACK")  # it only read
            cur.close()

    def prepare(self, expr: ir.Table, placeholders: Mapping[str, ir.Scalar]) -> PreparedStatement | None:
        """Compile ``expr`` and turn every literal equal to a placeholder's value into that named
        parameter, in the SQL tree (not the text). None when the expression reads an in-memory
        table (registered on one connection only), or when a placeholder's value survives in some
        other form, which would leave the statement reading the sentinel."""
        if expr.op().find(ops.InMemoryTable):
            return None
        compiler = self.con.compiler
        tree = compiler.to_sqlglot(expr)
        swaps: dict[sge.Expression, sge.Expression] = {}
        for pname, value in placeholders.items():
            node = compiler.to_sqlglot(value.name("v").as_table()).expressions[0].this
            typ = compiler.type_mapper.from_ibis(value.type())
            swaps[node] = sge.Cast(this=sge.Placeholder(this=pname), to=typ)
        used: set[str] = set()

        def swap(node: sge.Expression) -> sge.Expression:
            new = swaps.get(node)
            if new is None:
                return node
            used.add(new.this.name)
            return new.copy()

        # on a copy: Ibis shares one node object between a CTE and its uses, and an in-place
        # transform would replace it in one parent only
        tree = tree.transform(swap)
        dialect = self.con.dialect  # as Ibis's own compile renders it
        sql = tree.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
        if any(node.sql(dialect=dialect) in sql for node in swaps):  # a placeholder's value left in other form
            return None
        return PreparedStatement(sql, expr.schema(), frozenset(used))

    def copy_to(self, target: Path) -> dict[str, int]:
        """Copy the whole database, as one committed state, into a new DuckDB file ``target`` while
        imports go on (``COPY FROM DATABASE`` inside one read transaction on a cursor of its own);
        returns the rows of each table, counted in the same snapshot and checked in the copy."""
        alias = f"cb_copy_{uuid.uuid4().hex[:12]}"
        cur = self._db.cursor()
        try:
            source = cur.execute("SELECT current_database()").fetchall()[0][0]
            quoted = "'" + str(target).replace("'", "''") + "'"
            cur.execute(f"ATTACH {quoted} AS {alias}")
            try:
                cur.execute("BEGIN TRANSACTION")  # one snapshot: the copy and the counts see the same data
                try:
                    cur.execute(f'COPY FROM DATABASE "{source}" TO {alias}')
                    tables = [r[0] for r in cur.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
                        "ORDER BY table_name", [source]).fetchall()]
                    counts = {t: _count(cur, source, t) for t in tables}
                    copied = {t: _count(cur, alias, t) for t in tables}
                    cur.execute("COMMIT")
                except BaseException:
                    with suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
                cur.execute(f"CHECKPOINT {alias}")
            finally:
                with suppress(Exception):
                    cur.execute(f"DETACH {alias}")
        finally:
            cur.close()
        if copied != counts:
            raise RuntimeError(f"the warehouse copy does not match its source: {copied} copied of {counts}")
        return counts

    # ---- writing ------------------------------------------------------------------------------
    def append(self, workspace: str, segments: pa.Table, *, derive_call_flags: bool = False) -> AppendResult:
        """Store one batch atomically; rows whose ``(workspace, docId)`` exists are duplicates. With
        ``derive_call_flags``, ``ref``/``lost`` of every call the batch added legs to are derived
        again over all its stored legs (:mod:`callboard.calls.legs`). The stored call rollups of
        every call the batch touched are rolled up again afterwards, all in the same transaction, so
        a report never sees segments without their calls, nor a call half re-derived."""
        t0 = time.perf_counter()
        rows = to_storage(workspace, segments)
        received = rows.num_rows
        if received == 0:
            return AppendResult(0, 0, 0)
        names = ", ".join(f'"{n}"' for n in STORAGE_SCHEMA.names)
        with self._write_lock:
            cur = self._db.cursor()
            try:
                cur.register("_batch", rows)
                cur.execute("BEGIN TRANSACTION")
                # Deduplicating within the batch costs a window over every row, so it runs only when
                # the batch really repeats a docId (rare: files are usually one copy of each record).
                repeats = cur.execute('SELECT count(*) - count(DISTINCT "docId") FROM _batch').fetchone()[0]
                source = "_batch"
                if repeats:
                    source = ('(SELECT * FROM _batch QUALIFY row_number() OVER '
                              '(PARTITION BY "docId" ORDER BY start) = 1)')
                inserted = cur.execute(
                    f"""
                    INSERT INTO {CALLS_TABLE} ({names})
                    SELECT {names} FROM {source} b
                    WHERE NOT EXISTS (
                        SELECT 1 FROM {CALLS_TABLE} c
                        WHERE c.{WORKSPACE_COLUMN} = ? AND c."docId" = b."docId")
                    """,
                    [workspace],
                ).fetchone()[0]
                if inserted and derive_call_flags:
                    _derive_call_flags(cur, workspace, "_batch")
                if inserted:
                    call_rollups.refresh_touched(cur, workspace, "_batch", self._refresh_selects())
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.unregister("_batch")
                cur.close()
        return AppendResult(received, int(inserted), received - int(inserted), time.perf_counter() - t0)

    def rebuild_call_rollups(self) -> None:
        """Build the stored call rollups afresh from every stored segment, sorted by (workspace,
        start) (see :mod:`callboard.warehouse.call_rollups`). Run it after writing ``calls`` by
        hand-run SQL."""
        with self._transaction() as raw:
            call_rollups.rebuild(raw, CALLS_TABLE, self.functions)
        self._has_rollups = True

    def _refresh_selects(self) -> dict[str, str]:
        """Per stored table, the SQL rolling up the touched calls of workspace ``$ws`` (prepared
        once per warehouse)."""
        if self._refresh is None:
            sentinel = ibis.literal("cb-rollup-workspace-3b8e0c55")
            selects = {}
            for stored in STORED:
                expr = call_rollups.refresh_expression(stored, CALLS_TABLE, self.functions, sentinel)
                prepared = self.prepare(expr, {"ws": sentinel})
                assert prepared is not None and prepared.parameters == {"ws"}, "the workspace must be a parameter"
                selects[stored.table] = prepared.sql
            self._refresh = selects
        return self._refresh

    def optimize(self) -> None:
        """Rewrite the table sorted by (workspace, start): tight zone maps for the dominant filters
        (and the stored call rollups, rebuilt in the same order)."""
        with self._transaction() as raw:
            raw.execute(f"CREATE OR REPLACE TABLE {CALLS_TABLE}__sorted AS "
                        f"SELECT * FROM {CALLS_TABLE} ORDER BY {WORKSPACE_COLUMN}, start")
            raw.execute(f"DROP TABLE {CALLS_TABLE}")
            raw.execute(f"ALTER TABLE {CALLS_TABLE}__sorted RENAME TO {CALLS_TABLE}")
            call_rollups.rebuild(raw, CALLS_TABLE, self.functions)
        self.raw_sql("CHECKPOINT")  # outside the transaction: DuckDB refuses it inside one

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """The DuckDB connection inside one transaction under the write lock: committed when the
        block ends, rolled back when it raises."""
        with self._write_lock, self._shared:
            raw = self._db
            raw.execute("BEGIN TRANSACTION")
            try:
                yield raw
                raw.execute("COMMIT")
            except BaseException:
                raw.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.con.disconnect()


_FLAG_CALLS, _FLAG_LEGS, _FLAG_CHANGES = "_cb_flag_calls", "_cb_flag_legs", "_cb_flag_changes"


def _derive_call_flags(cur: Any, workspace: str, batch: str) -> None:
    """On cursor ``cur`` (inside the append's transaction, after the insert): ``ref``/``lost`` of
    every stored leg of the calls of ``workspace`` that rows of table ``batch`` belong to, derived
    again over all the call's legs; only rows whose flags change are written.

    Only calls with an answered or offered leg in the batch can change (a never-offered leg decides
    nothing). When the batch opened its calls, the derivation finds what the importer found and
    writes nothing: the usual cost is one scan of the workspace's ``connId`` column."""
    ws = {"ws": workspace}
    cur.execute(f'CREATE OR REPLACE TEMP TABLE {_FLAG_CALLS} AS SELECT DISTINCT "connId" FROM {batch} '
                "WHERE ans = 1 OR ref = 1 OR lost = 1")
    cur.execute(f'CREATE OR REPLACE TEMP TABLE {_FLAG_LEGS} AS SELECT "docId", "connId", ans, ref, lost, start, '
                f'duration FROM {CALLS_TABLE} WHERE {WORKSPACE_COLUMN} = $ws AND "connId" IN '
                f'(SELECT "connId" FROM {_FLAG_CALLS})', ws)
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_FLAG_CHANGES} AS
        SELECT "docId", CAST(k IS NULL AS TINYINT) AS ref, CAST(k IS NOT NULL AS TINYINT) AS lost
        FROM {_FLAG_LEGS} l LEFT JOIN ({lost_keys_sql(_FLAG_LEGS, '"docId"')}) lk ON l."docId" = lk.k
        WHERE {rang_sql("l.")} AND (l.ref <> CAST(k IS NULL AS TINYINT) OR l.lost <> CAST(k IS NOT NULL AS TINYINT))""")
    if cur.execute(f"SELECT count(*) FROM {_FLAG_CHANGES}").fetchone()[0]:
        cur.execute(f'UPDATE {CALLS_TABLE} c SET ref = f.ref, lost = f.lost FROM {_FLAG_CHANGES} f '
                    f'WHERE c.{WORKSPACE_COLUMN} = $ws AND c."docId" = f."docId"', ws)
    cur.execute(f"DROP TABLE {_FLAG_CALLS}; DROP TABLE {_FLAG_LEGS}; DROP TABLE {_FLAG_CHANGES}")


def _count(cur: Any, database: str, table: str) -> int:
    return int(cur.execute(f'SELECT count(*) FROM "{database}".main."{table}"').fetchall()[0][0])


class _DuckDBSession(ReadSession):
    """Reads on one DuckDB cursor. An expression over an in-memory table runs on the Ibis backend's
    own connection instead (where Ibis registered the table); :meth:`interrupt` stops whichever
    connection is running."""

    def __init__(self, warehouse: DuckDBWarehouse, cursor: Any) -> None:
        self._wh = warehouse
        self._cursor = cursor
        self._running = cursor
        self._lock = threading.Lock()

    def _arrow(self, sql: str, schema: Any, params: Mapping[str, Any] | None = None) -> pa.Table:
        table = self._cursor.sql(sql, params=dict(params) if params else None).to_arrow_table()
        # Ibis's own conversion, as its to_pyarrow does (DuckDB's decimals and types → the schema's)
        return DuckDBPyArrowData.convert_table(table, schema)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        if expr.op().find(ops.InMemoryTable):
            with self._lock:
                self._running = self._wh._db
            try:
                with self._wh._shared:
                    return self._wh.con.to_pyarrow(expr)
            finally:
                with self._lock:
                    self._running = self._cursor
        return self._arrow(str(self._wh.con.compile(expr)), expr.schema())

    def execute(self, statement: PreparedStatement, params: Mapping[str, Any]) -> pa.Table:
        return self._arrow(statement.sql, statement.schema, {k: params[k] for k in statement.parameters})

    def interrupt(self) -> None:
        with self._lock, suppress(Exception):  # a cursor already closed has nothing to stop
            self._running.interrupt()
