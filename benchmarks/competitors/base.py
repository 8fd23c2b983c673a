"""The shared primitives of the competitors: the scope a query covers, the two SQL dialects (DuckDB and
PostgreSQL 15), the ``seg`` CTE, the pandas time helpers, and :class:`Case`, one template's competitors.

Conventions: ``seg`` is the segments of the scope (one workspace, or the whole table) in the UTC
range ``[lo, hi)``; results carry callboard's default display columns, local times in ``tz``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Scope:
    name: str  # "ws" (one workspace's year) or "all" (the whole table)
    workspace: str | None
    tz: str
    lo: datetime  # naive UTC, inclusive
    hi: datetime  # naive UTC, exclusive
    label: str = ""


class Dialect:
    name = "duckdb"

    def local(self, x: str, tz: str) -> str:
        return f"timezone('{tz}', CAST({x} AS TIMESTAMPTZ))"

    def us(self, x: str) -> str:
        return f"epoch_us({x})"

    def add_seconds(self, ts: str, secs: str) -> str:
        return f"({ts} + to_microseconds(CAST(round(({secs}) * 1000000) AS BIGINT)))"

    def bucket(self, x: str, minutes: int) -> str:
        return f"time_bucket(INTERVAL '{minutes} minutes', {x})"

    def hour(self, x: str) -> str:
        return f"CAST(hour({x}) AS BIGINT)"

    def isodow(self, x: str) -> str:
        return f"CAST(isodow({x}) AS BIGINT)"

    def ts(self, v: datetime) -> str:
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"

    def int_(self, x: str) -> str:
        return f"CAST({x} AS BIGINT)"


class PgDialect(Dialect):
    name = "postgres"

    def local(self, x: str, tz: str) -> str:
        return f"(({x}) AT TIME ZONE 'UTC') AT TIME ZONE '{tz}'"

    def us(self, x: str) -> str:
        return f"CAST(extract(epoch FROM {x}) * 1000000 AS BIGINT)"

    def add_seconds(self, ts: str, secs: str) -> str:
        return f"({ts} + make_interval(secs => {secs}))"

    def bucket(self, x: str, minutes: int) -> str:
        return f"date_bin(INTERVAL '{minutes} minutes', {x}, TIMESTAMP '2000-01-03')"

    def hour(self, x: str) -> str:
        return f"CAST(extract(hour FROM {x}) AS BIGINT)"

    def isodow(self, x: str) -> str:
        return f"CAST(extract(isodow FROM {x}) AS BIGINT)"


DUCK = Dialect()
PG = PgDialect()


def seg_cte(d: Dialect, s: Scope, table: str = "calls") -> str:
    ws = f"workspace = '{s.workspace}' AND " if s.workspace else ""
    return f"seg AS (SELECT * FROM {table} WHERE {ws}start >= {d.ts(s.lo)} AND start < {d.ts(s.hi)})"


# ---- pandas ----------------------------------------------------------------------------------------------
def _local(ts: pd.Series, tz: str) -> pd.Series:
    return ts.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def _us(ts: pd.Series) -> pd.Series:
    return ts.astype("datetime64[us]").astype("int64")


# ---- a template's competitors -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    template: str
    kind: str  # "list" (rows written as a Parquet file, like callboard's snapshot) or "aggregate"
    sql: Callable[[Dialect, Scope], str]
    pandas: Callable[[pd.DataFrame, Scope], pd.DataFrame] | None  # None: no pandas competitor written
    checks: tuple[str, ...]  # numeric columns summed to compare answers (plus the row count)
    scopes: tuple[str, ...] = ("ws", "all")
    columns: tuple[str, ...] = field(default_factory=tuple)  # columns pandas needs (empty: all)
    params: dict[str, Any] = field(default_factory=dict)  # extra request fields (same for every engine)
    lookahead_hours: float = 0.0  # pandas also reads the segments this long after the period (lost calls)
