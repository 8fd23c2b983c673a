"""Keeping the stored call rollups (:data:`callboard.calls.rollups.STORED`) exact on DuckDB.

Per call (``workspace``, ``connId``), the tables hold what reports would otherwise aggregate from its
segments at every run:

* ``call_rollups``: one row per call, ``CallList``'s roll-up of *all* the call's stored segments;
* ``call_users``: one row per call, user and direction (``CallingUsage``'s per-call step);
* ``call_codes``: one row per call and account code (``CallsByAccountCode``'s per-call step);
* ``call_lines``: one row per call with external segments, the span it holds a line
  (``TrunkUtilisation``'s per-call step).

Every row also holds ``start`` and ``lastStart``, the start of the call's first and last segment.

Why: most reports count calls, and rolling 1.3 segments per call up into calls is most of their
cost (a hash aggregation over every segment of the period, with arg-min picks over strings). A
report whose only segment-stage filters are its period reads the rows of calls that lie wholly in
the period from these tables instead; only calls cut by the period's bounds are rolled up from
their segments at report time (``reports.templates.helpers.calls_of``).

The tables are kept exact by the warehouse's writes, in the same transaction as the segments: an
append rolls up again every call the batch touched (its earlier segments included, so a call
spread over several imports is right), and ``optimize`` rebuilds them sorted by (workspace, start)
like the segments. A warehouse file from before a table existed gets it built once when opened for
writing. Writing segments by any other way than the warehouse's own methods leaves them stale: call
``DuckDBWarehouse.rebuild_call_rollups`` afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from callboard.calls.functions import EngineFunctions
from callboard.calls.rollups import STORED, StoredRollup, stored_rows
from callboard.warehouse.base import STORAGE_SCHEMA, WORKSPACE_COLUMN

TOUCHED_TABLE = "_cb_touched"  # the connIds an append touched (a temporary table)


def _storage_table(name: str) -> ir.Table:
    return ibis.table(ibis.schema(STORAGE_SCHEMA), name=name)


def rebuild_sql(stored: StoredRollup, calls_table: str, fn: EngineFunctions) -> str:
    """``SELECT`` of every stored call's rows of ``stored``, sorted by (workspace, start)."""
    expr = stored_rows(stored, _storage_table(calls_table), fn).order_by([WORKSPACE_COLUMN, "start"])
    return str(ibis.to_sql(expr, dialect="duckdb"))


def rebuild(raw: Any, calls_table: str, fn: EngineFunctions) -> None:
    """Every stored table afresh from every stored segment, on DuckDB connection ``raw`` (inside
    the caller's transaction)."""
    for stored in STORED:
        raw.execute(f"CREATE OR REPLACE TABLE {stored.table} AS {rebuild_sql(stored, calls_table, fn)}")


def refresh_expression(stored: StoredRollup, calls_table: str, fn: EngineFunctions,
                       workspace: ir.StringValue) -> ir.Table:
    """``stored``'s rows of the calls of ``workspace`` listed in :data:`TOUCHED_TABLE` (the
    warehouse prepares it once, the workspace a parameter)."""
    t = _storage_table(calls_table)
    touched = ibis.table({"connId": "string"}, name=TOUCHED_TABLE)
    return stored_rows(stored, t.filter(t[WORKSPACE_COLUMN] == workspace), fn, touched=touched)


def refresh_touched(cur: Any, workspace: str, batch: str, selects: Mapping[str, str]) -> None:
    """Roll up again, on DuckDB cursor ``cur`` (inside the append's transaction), every call of
    ``workspace`` that the rows of table ``batch`` added segments to, in every stored table;
    ``selects``: per stored table, its :func:`refresh_expression` as SQL with parameter ``$ws``."""
    cur.execute(f'CREATE OR REPLACE TEMP TABLE {TOUCHED_TABLE} AS SELECT DISTINCT "connId" FROM {batch}')
    for stored in STORED:
        cur.execute(f'DELETE FROM {stored.table} WHERE {WORKSPACE_COLUMN} = $ws AND "connId" IN '
                    f'(SELECT "connId" FROM {TOUCHED_TABLE})', {"ws": workspace})
        cur.execute(f"INSERT INTO {stored.table} BY NAME {selects[stored.table]}", {"ws": workspace})
    cur.execute(f"DROP TABLE {TOUCHED_TABLE}")
