"""The stored call rollups: one row per call (``workspace``, ``connId``) holding ``CallList``'s
roll-up of *all* the call's stored segments (:func:`helpers.rollup_calls`, the one definition of a
call) plus ``lastStart``, the start of its last segment.

Why: most reports count calls, and rolling 1.3 segments per call up into calls is most of their
cost (a hash aggregation over every segment of the period, with arg-min picks over strings). A
report whose only segment-stage filters are its period reads finished calls from this table
instead; only calls cut by the period's bounds are rolled up from their segments at report time
(:func:`callboard.reports.templates.helpers.calls_of`).

The table is kept exact by the warehouse's writes, in the same transaction as the segments: an
append rolls up again every call the batch touched (its earlier segments included, so a call
spread over several imports is right), and :meth:`Warehouse.optimize` rebuilds it sorted by
(workspace, start) like the segments. A warehouse file from before this table existed gets it
built once when opened for writing. Writing segments by any other way than the warehouse's own
methods leaves it stale: call :meth:`Warehouse.rebuild_call_rollups` afterwards.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import ibis
import ibis.expr.types as ir

CALL_ROLLUPS_TABLE = "call_rollups"
TOUCHED_TABLE = "_cb_touched"  # the connIds an append touched (a temporary table)
_WS_SENTINEL = "cb-rollup-workspace-3b8e0c55"


def rollup_expression(segments: ir.Table, *, touched: ir.Table | None = None) -> ir.Table:
    """Call rollups of stored segments (storage columns), grouped by workspace and ``connId``;
    with ``touched`` only the calls whose ``connId`` it lists."""
    # deferred: the definition of a call lives with the report helpers, which import the warehouse
    from callboard.reports.templates.helpers import rollup_calls, segment_view

    if touched is not None:
        segments = segments.semi_join(touched, "connId")
    segs = segment_view(segments, keep=("workspace",))
    return rollup_calls(segs, "duckdb", by=("workspace", "connId"), last_start=True)


def _storage_table(name: str) -> ir.Table:
    from callboard.warehouse.store import STORAGE_SCHEMA

    return ibis.table(ibis.schema(STORAGE_SCHEMA), name=name)


def rebuild_sql(calls_table: str) -> str:
    """``SELECT`` of every stored call's rollup, sorted by (workspace, start)."""
    expr = rollup_expression(_storage_table(calls_table)).order_by(["workspace", "start"])
    return str(ibis.to_sql(expr, dialect="duckdb"))


@cache
def _refresh_template(calls_table: str) -> str:
    t = _storage_table(calls_table)
    touched = ibis.table({"connId": "string"}, name=TOUCHED_TABLE)
    expr = rollup_expression(t.filter(t.workspace == _WS_SENTINEL), touched=touched)
    return str(ibis.to_sql(expr, dialect="duckdb"))


def refresh(cur: Any, calls_table: str, workspace: str) -> None:
    """Roll up again, on DuckDB cursor ``cur`` (inside the append's transaction), the calls of
    ``workspace`` listed in the temporary table :data:`TOUCHED_TABLE`."""
    quoted = "'" + workspace.replace("'", "''") + "'"
    select = _refresh_template(calls_table).replace("'" + _WS_SENTINEL + "'", quoted)
    cur.execute(f'DELETE FROM {CALL_ROLLUPS_TABLE} WHERE workspace = ? AND "connId" IN '
                f'(SELECT "connId" FROM {TOUCHED_TABLE})', [workspace])
    cur.execute(f"INSERT INTO {CALL_ROLLUPS_TABLE} BY NAME {select}")
