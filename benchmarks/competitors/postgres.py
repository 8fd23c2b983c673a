"""A throwaway PostgreSQL 15 cluster for the benchmarks: where the PostgreSQL competitor runs.

The cluster lives in ``benchmarks/.cache/pg`` (owned by the ``postgres`` system user, created with
``initdb`` from ``/usr/lib/postgresql/15/bin`` and run with ``runuser -u postgres --``), listens on
127.0.0.1 at a free port and is stopped at the end of a run. The ``calls`` table (the same rows as
the DuckDB warehouse, COPY'd from a CSV export) and its index on ``(workspace, start)`` are loaded
once and kept in the data folder, so later runs start in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from benchmarks.common import free_port
from benchmarks.data import CACHE, WAREHOUSE_FILE

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_DIR = CACHE / "pg"
PG_DATA = PG_DIR / "data"
PG_SOCKETS = PG_DIR / "sockets"
LOADED_MARK = PG_DIR / "loaded"

# Tuning for a 2-core, ~24 GB machine shared with other work (see docs/performance.md).
SETTINGS: dict[str, str] = {
    "shared_buffers": "2GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "8GB",
    "max_parallel_workers_per_gather": "2",
    "max_worker_processes": "4",
    "random_page_cost": "1.1",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "fsync": "off",  # a throwaway benchmark cluster: durability is not what is measured
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "checkpoint_timeout": "30min",
    "max_wal_size": "8GB",
}

_COLUMN_TYPES = {"VARCHAR": "text", "TIMESTAMP": "timestamp", "DOUBLE": "double precision",
                 "TINYINT": "smallint"}


def _as_postgres(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True,
                          text=True, cwd=str(cwd or PG_DIR))


class PgCluster:
    """Start with :meth:`start`, stop with :meth:`stop` (always, in a ``finally``)."""

    def __init__(self) -> None:
        self.port = 0
        self.running = False

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True)

    def _init(self) -> None:
        if (PG_DATA / "PG_VERSION").exists():
            return
        shutil.rmtree(PG_DIR, ignore_errors=True)
        PG_SOCKETS.mkdir(parents=True)
        shutil.chown(PG_DIR, "postgres", "postgres")
        shutil.chown(PG_SOCKETS, "postgres", "postgres")
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(PG_DATA), "-U", "postgres", "--auth=trust",
                     "--encoding=UTF8", "--locale=C")
        LOADED_MARK.unlink(missing_ok=True)

    def start(self) -> None:
        self._init()
        self.port = free_port()
        opts = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={PG_SOCKETS}"]
        opts += [f"-c {k}={v}" for k, v in SETTINGS.items()]
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(PG_DATA), "-l", str(PG_DIR / "server.log"), "-w",
                     "-t", "120", "-o", " ".join(opts), "start")
        self.running = True

    def stop(self) -> None:
        if self.running:
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop")
            self.running = False

    def ensure_loaded(self, log: bool = True) -> float | None:
        """COPY the warehouse's rows in (once); returns the seconds it took, or None when cached."""
        if LOADED_MARK.exists():
            return None
        t0 = time.perf_counter()
        csv = PG_DIR / "calls.csv"
        src = duckdb.connect(str(WAREHOUSE_FILE), read_only=True)
        try:
            cols = src.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = 'calls' ORDER BY ordinal_position").fetchall()
            src.execute(f"COPY calls TO '{csv}' (FORMAT csv, HEADER)")
        finally:
            src.close()
        os.chmod(csv, 0o644)
        t_csv = time.perf_counter() - t0
        ddl = ", ".join(f'"{name}" {_COLUMN_TYPES[typ]}' for name, typ in cols)
        with self.connect() as con:
            # CREATE + COPY in one transaction with wal_level=minimal: no WAL for the rows.
            con.autocommit = False
            con.execute("DROP TABLE IF EXISTS calls")
            con.execute(f"CREATE TABLE calls ({ddl})")
            con.execute(f"COPY calls FROM '{csv}' (FORMAT csv, HEADER)")
            con.commit()
            t_copy = time.perf_counter() - t0 - t_csv
            con.autocommit = True
            con.execute("CREATE INDEX calls_workspace_start ON calls (workspace, start)")
            con.execute("VACUUM ANALYZE calls")
        csv.unlink(missing_ok=True)
        total = time.perf_counter() - t0
        LOADED_MARK.write_text(f"csv {t_csv:.1f} s, copy {t_copy:.1f} s, total {total:.1f} s\n")
        if log:
            print(f"PostgreSQL loaded: CSV export {t_csv:.0f} s, COPY {t_copy:.0f} s, "
                  f"index + vacuum analyze {total - t_csv - t_copy:.0f} s", flush=True)
        return total

    def version(self) -> str:
        with self.connect() as con:
            row = con.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
