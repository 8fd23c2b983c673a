"""The calls warehouse: one ``calls`` table reached through Ibis, so that report definitions run on
DuckDB (embedded default), a local or remote Spark session, or any other Ibis backend.

Rows carry a ``workspace`` column beside the canonical fields; ``start`` is a naive UTC timestamp so
every engine reads the same instant. Appends are atomic per batch and idempotent on
``(workspace, docId)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from callboard.calls.schema import CALL_FIELDS, EXTRA_FIELD, SEGMENT_SCHEMA
from callboard.warehouse import call_rollups
from callboard.warehouse.call_rollups import CALL_ROLLUPS_TABLE, STORED, TOUCHED_TABLE

CALLS_TABLE = "calls"
WORKSPACE_COLUMN = "workspace"

_DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "TINYINT",
                 "flag": "TINYINT"}

# Storage schema: workspace first, start as naive UTC (portable across engines).
STORAGE_SCHEMA = pa.schema(
    [pa.field(WORKSPACE_COLUMN, pa.string(), nullable=False)]
    + [
        pa.field(f.name, pa.timestamp("us") if f.name == "start" else f.type, nullable=f.nullable)
        for f in SEGMENT_SCHEMA
    ]
)


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


class Warehouse:
    """Calls storage and the Ibis connection reports run on."""

    def __init__(self, con: ibis.BaseBackend, *, engine: str, path: Path | None = None) -> None:
        self.con = con
        self.engine = engine
        self.path = path
        # DuckDB allows one writer; appends are serialised so the duplicate check stays exact.
        self._write_lock = threading.Lock()
        self._has_rollups: bool | None = None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def open_duckdb(cls, path: Path | str | None = None, *, threads: int | None = None) -> Warehouse:
        """Open (creating if needed) the DuckDB warehouse file; ``None`` gives an in-memory one."""
        kwargs: dict[str, Any] = {}
        if threads:
            kwargs["threads"] = threads
        if path is None:
            con = ibis.duckdb.connect(**kwargs)
            wh = cls(con, engine="duckdb")
        else:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            con = ibis.duckdb.connect(str(path), **kwargs)
            wh = cls(con, engine="duckdb", path=path)
        wh._ensure_duckdb_table()
        return wh

    @classmethod
    def open_spark(cls, session: Any = None) -> Warehouse:
        """A warehouse on a Spark session (a local ``local[2]`` one when none is given)."""
        if session is None:
            session = local_spark_session()
        return cls(ibis.pyspark.connect(session), engine="pyspark")

    @classmethod
    def connect(cls, url: str | None, *, data_dir: Path | None = None) -> Warehouse:
        """One engine switch: ``duckdb`` (default, file in the data folder), ``pyspark``, or any Ibis URL."""
        if not url or url == "duckdb":
            return cls.open_duckdb((data_dir or Path("callboard-data")) / "calls.duckdb")
        if url.startswith("duckdb://"):
            rest = url.removeprefix("duckdb://")
            return cls.open_duckdb(rest or None)
        if url in ("pyspark", "spark"):
            return cls.open_spark()
        con = ibis.connect(url)
        return cls(con, engine=con.name)

    def _ensure_duckdb_table(self) -> None:
        cols = [f"{WORKSPACE_COLUMN} VARCHAR NOT NULL"]
        for f in CALL_FIELDS:
            null = " NOT NULL" if f.name in ("docId", "connId", "start") else ""
            cols.append(f'"{f.name}" {_DUCKDB_TYPES[f.type]}{null}')
        cols.append(f'"{EXTRA_FIELD}" VARCHAR')
        self.raw_sql("SET enable_progress_bar = false")  # a long rebuild would draw one on the server's stdout
        self.raw_sql(f"CREATE TABLE IF NOT EXISTS {CALLS_TABLE} ({', '.join(cols)})")
        if not all(self._duckdb_has(s.table) for s in STORED):
            self.rebuild_call_rollups()  # a new file, or one from before the table existed

    def rebuild_call_rollups(self) -> None:
        """Build the stored call rollups afresh from every stored segment, sorted by (workspace,
        start) (see :mod:`callboard.warehouse.call_rollups`)."""
        if self.engine != "duckdb":
            return
        with self._transaction() as raw:
            self._rebuild_rollups(raw)
        self._has_rollups = True

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """The DuckDB connection inside one transaction under the write lock: committed when the
        block ends, rolled back when it raises."""
        with self._write_lock:
            raw = self.con.con
            raw.execute("BEGIN TRANSACTION")
            try:
                yield raw
                raw.execute("COMMIT")
            except BaseException:
                raw.execute("ROLLBACK")
                raise

    def _rebuild_rollups(self, raw: Any) -> None:
        for stored in STORED:
            raw.execute(f"CREATE OR REPLACE TABLE {stored.table} AS {call_rollups.rebuild_sql(stored, CALLS_TABLE)}")

    # ---- reading ------------------------------------------------------------------------------
    def calls(self) -> ibis.Table:
        return self.con.table(CALLS_TABLE)

    def segments(self, workspace: str) -> ibis.Table:
        """The calls of one workspace (the starting point of every report)."""
        t = self.calls()
        return t.filter(t[WORKSPACE_COLUMN] == workspace)

    @property
    def has_call_rollups(self) -> bool:
        """Whether reports can read calls from the stored call rollups (DuckDB warehouses)."""
        if self._has_rollups is None:
            self._has_rollups = self.engine == "duckdb" and all(self._duckdb_has(s.table) for s in STORED)
        return self._has_rollups

    def _duckdb_has(self, table: str) -> bool:
        # Ibis's list_tables() calls an Arrow fetch this DuckDB release no longer has
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'"
        return bool(self.con.con.execute(sql, [table]).fetchall()[0][0])

    def call_rollups(self, workspace: str, table: str = CALL_ROLLUPS_TABLE) -> ibis.Table:
        """One workspace's rows of a stored call rollup table (only where :attr:`has_call_rollups`)."""
        t = self.con.table(table)
        return t.filter(t[WORKSPACE_COLUMN] == workspace)

    def raw_sql(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run SQL directly on DuckDB (warehouse maintenance only; reports go through Ibis)."""
        if self.engine != "duckdb":
            raise NotImplementedError("raw SQL maintenance is only available on the DuckDB warehouse")
        return self.con.con.execute(sql, params or [])

    def count(self, workspace: str | None = None) -> int:
        t = self.calls() if workspace is None else self.segments(workspace)
        return int(t.count().execute())

    def time_range(self, workspace: str) -> tuple[Any, Any]:
        """(first start, last start) stored for a workspace, UTC-naive, or (None, None)."""
        t = self.segments(workspace)
        row = t.aggregate(lo=t.start.min(), hi=t.start.max()).to_pyarrow().to_pylist()[0]
        return row["lo"], row["hi"]

    # ---- writing ------------------------------------------------------------------------------
    def append(self, workspace: str, segments: pa.Table) -> AppendResult:
        """Store one batch atomically; rows whose ``(workspace, docId)`` exists are duplicates."""
        t0 = time.perf_counter()
        rows = to_storage(workspace, segments)
        received = rows.num_rows
        if received == 0:
            return AppendResult(0, 0, 0)
        if self.engine != "duckdb":
            return self._append_generic(workspace, rows, t0)
        names = ", ".join(f'"{n}"' for n in STORAGE_SCHEMA.names)
        raw = self.con.con
        with self._write_lock:
            cur = raw.cursor()
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
                if inserted:
                    # the stored rollups of every call the batch added segments to, in the same
                    # transaction: a report never sees segments without their calls
                    cur.execute(f'CREATE OR REPLACE TEMP TABLE {TOUCHED_TABLE} AS '
                                f'SELECT DISTINCT "connId" FROM _batch')
                    call_rollups.refresh(cur, CALLS_TABLE, workspace)
                    cur.execute(f"DROP TABLE {TOUCHED_TABLE}")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.unregister("_batch")
                cur.close()
        return AppendResult(received, int(inserted), received - int(inserted), time.perf_counter() - t0)

    def _append_generic(self, workspace: str, rows: pa.Table, t0: float) -> AppendResult:
        """Append on engines without our DuckDB fast path (tests load Spark this way)."""
        docs = pc.unique(rows.column("docId"))
        with self._write_lock:
            existing: set[str] = set()
            if CALLS_TABLE in self.con.list_tables():
                t = self.segments(workspace)
                found = t.filter(t.docId.isin(docs.to_pylist())).select("docId").to_pyarrow()
                existing = set(found.column("docId").to_pylist())
            keep_mask = pc.invert(pc.is_in(rows.column("docId"), pa.array(list(existing), pa.string())))
            fresh = rows.filter(keep_mask)
            # first copy of each docId within the batch
            _, first_idx = _first_occurrence(fresh.column("docId"))
            fresh = fresh.take(first_idx)
            if fresh.num_rows and self.engine == "pyspark":
                # Arrow straight into Spark: going through pandas stores null strings as 'NaN'
                self.con._session.createDataFrame(fresh).write.mode("append").saveAsTable(CALLS_TABLE)
            elif fresh.num_rows:
                if CALLS_TABLE in self.con.list_tables():
                    self.con.insert(CALLS_TABLE, fresh.to_pandas())
                else:
                    self.con.create_table(CALLS_TABLE, fresh.to_pandas())
        inserted = fresh.num_rows
        return AppendResult(rows.num_rows, inserted, rows.num_rows - inserted, time.perf_counter() - t0)

    def optimize(self) -> None:
        """Rewrite the table sorted by (workspace, start): tight zone maps for the dominant filters
        (and the stored call rollups, rebuilt in the same order)."""
        if self.engine != "duckdb":
            return
        with self._transaction() as raw:
            raw.execute(f"CREATE OR REPLACE TABLE {CALLS_TABLE}__sorted AS "
                        f"SELECT * FROM {CALLS_TABLE} ORDER BY {WORKSPACE_COLUMN}, start")
            raw.execute(f"DROP TABLE {CALLS_TABLE}")
            raw.execute(f"ALTER TABLE {CALLS_TABLE}__sorted RENAME TO {CALLS_TABLE}")
            self._rebuild_rollups(raw)
        self.con.con.execute("CHECKPOINT")  # outside the transaction: DuckDB refuses it inside one

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect and self.engine == "duckdb":
            disconnect()


def _first_occurrence(values: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    table = pa.table({"v": values, "i": pa.array(range(len(values)), pa.int64())})
    grouped = table.group_by("v", use_threads=False).aggregate([("i", "min")])
    idx = pc.sort_indices(grouped.column("i_min"))
    return grouped.column("v").take(idx), grouped.column("i_min").take(idx)


_spark_lock = threading.Lock()
_spark_session: Any = None


def local_spark_session() -> Any:
    """A shared local Spark session in UTC (started once per process)."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
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
