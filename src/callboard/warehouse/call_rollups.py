"""The stored call rollups: per call (``workspace``, ``connId``), what reports would otherwise
aggregate from its segments at every run, kept beside the segments.

* ``call_rollups``: one row per call, ``CallList``'s roll-up of *all* the call's stored segments
  (:func:`helpers.rollup_calls`, the one definition of a call);
* ``call_users``: one row per call, user and direction (``CallingUsage``'s per-call step);
* ``call_codes``: one row per call and account code (``CallsByAccountCode``'s per-call step);
* ``call_lines``: one row per call with external segments, the span it holds a line
  (``TrunkUtilisation``'s per-call step).

Every row also holds ``start`` and ``lastStart``, the start of the call's first and last segment.

Why: most reports count calls, and rolling 1.3 segments per call up into calls is most of their
cost (a hash aggregation over every segment of the period, with arg-min picks over strings). A
report whose only segment-stage filters are its period reads the rows of calls that lie wholly in
the period from these tables instead; only calls cut by the period's bounds are rolled up from
their segments at report time (:func:`callboard.reports.templates.helpers.calls_of`).

The tables are kept exact by the warehouse's writes, in the same transaction as the segments: an
append rolls up again every call the batch touched (its earlier segments included, so a call
spread over several imports is right), and :meth:`Warehouse.optimize` rebuilds them sorted by
(workspace, start) like the segments. A warehouse file from before a table existed gets it built
once when opened for writing. Writing segments by any other way than the warehouse's own methods
leaves them stale: call :meth:`Warehouse.rebuild_call_rollups` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import ibis
import ibis.expr.types as ir

CALL_ROLLUPS_TABLE = "call_rollups"
CALL_USERS_TABLE = "call_users"
CALL_CODES_TABLE = "call_codes"
CALL_LINES_TABLE = "call_lines"
TOUCHED_TABLE = "_cb_touched"  # the connIds an append touched (a temporary table)
_WS_SENTINEL = "cb-rollup-workspace-3b8e0c55"


@dataclass(frozen=True)
class StoredRollup:
    """One stored table: ``rows(segs)`` turns segments (the segment view plus ``workspace``) into
    its rows grouped by workspace, ``connId`` and more; each row gets its call's span."""

    table: str
    rows: Callable[[ir.Table], ir.Table]


def _calls(segs: ir.Table) -> ir.Table:
    from callboard.reports.templates.helpers import rollup_calls

    return rollup_calls(segs, "duckdb", by=("workspace", "connId"), last_start=True)


def _users(segs: ir.Table) -> ir.Table:
    from callboard.reports.templates.usage import user_calls

    return user_calls(segs, by=("workspace",))


def _codes(segs: ir.Table) -> ir.Table:
    from callboard.reports.templates.usage import code_calls

    return code_calls(segs, by=("workspace",))


def _lines(segs: ir.Table) -> ir.Table:
    from callboard.reports.templates.trunks import line_spans

    return line_spans(segs, by=("workspace",))


# deferred imports: the definitions live with the report templates, which import the warehouse
STORED: tuple[StoredRollup, ...] = (StoredRollup(CALL_ROLLUPS_TABLE, _calls), StoredRollup(CALL_USERS_TABLE, _users),
                                    StoredRollup(CALL_CODES_TABLE, _codes), StoredRollup(CALL_LINES_TABLE, _lines))


def rollup_expression(stored: StoredRollup, segments: ir.Table, *, touched: ir.Table | None = None) -> ir.Table:
    """``stored``'s rows of stored segments (storage columns); with ``touched`` only of the calls
    whose ``connId`` it lists."""
    from callboard.reports.templates.helpers import segment_view

    if touched is not None:
        segments = segments.semi_join(touched, "connId")
    segs = segment_view(segments, keep=("workspace",))
    rows = stored.rows(segs)
    if "lastStart" in rows.columns:
        return rows
    spans = segs.group_by(["workspace", "connId"]).aggregate(start=segs.start.min(), lastStart=segs.start.max())
    return rows.join(spans, ["workspace", "connId"])


def _storage_table(name: str) -> ir.Table:
    from callboard.warehouse.store import STORAGE_SCHEMA

    return ibis.table(ibis.schema(STORAGE_SCHEMA), name=name)


def rebuild_sql(stored: StoredRollup, calls_table: str) -> str:
    """``SELECT`` of every stored call's rows, sorted by (workspace, start)."""
    expr = rollup_expression(stored, _storage_table(calls_table)).order_by(["workspace", "start"])
    return str(ibis.to_sql(expr, dialect="duckdb"))


@cache
def _refresh_template(stored: StoredRollup, calls_table: str) -> str:
    t = _storage_table(calls_table)
    touched = ibis.table({"connId": "string"}, name=TOUCHED_TABLE)
    expr = rollup_expression(stored, t.filter(t.workspace == _WS_SENTINEL), touched=touched)
    return str(ibis.to_sql(expr, dialect="duckdb"))


def refresh(cur: Any, calls_table: str, workspace: str) -> None:
    """Roll up again, on DuckDB cursor ``cur`` (inside the append's transaction), the calls of
    ``workspace`` listed in the temporary table :data:`TOUCHED_TABLE`, in every stored table."""
    quoted = "'" + workspace.replace("'", "''") + "'"
    for stored in STORED:
        select = _refresh_template(stored, calls_table).replace("'" + _WS_SENTINEL + "'", quoted)
        cur.execute(f'DELETE FROM {stored.table} WHERE workspace = ? AND "connId" IN '
                    f'(SELECT "connId" FROM {TOUCHED_TABLE})', [workspace])
        cur.execute(f"INSERT INTO {stored.table} BY NAME {select}")
