"""The report SQL cache: one prepared statement per request *shape*, its workspace and period
bounds named parameters.

Building an Ibis expression and compiling it to SQL costs 50-250 ms per report on an idle machine
(more than running a workspace summary). The SQL depends on the request's shape -- template, fields,
sort, filters, settings, the UTC-offset boundaries -- and on three values that change from request
to request: the workspace and the period's bounds. So the expression is built once per shape with
sentinel values in those places, and the warehouse compiles it with each sentinel literal turned
into a named parameter in the SQL tree (:meth:`Warehouse.prepare`); every later request of that
shape runs the statement with its own values. Every template qualifies: none reads anything else
from the request that varies between requests of one shape (``tests/reports/test_sql_cache.py``
checks each against a fresh compile). Only warehouses with ``prepared_statements`` take part.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from callboard.reports.request import ResolvedRequest
from callboard.reports.templates.base import BuildContext
from callboard.warehouse.base import PreparedStatement, Warehouse

WORKSPACE, PERIOD_FROM, PERIOD_TO = "ws", "lo", "hi"  # the parameters' names
_WS_SENTINEL = "cb-sentinel-workspace-5f0c2d71"
_LO_SENTINEL = datetime(1111, 11, 11, 11, 11, 11, 111111)
_HI_SENTINEL = datetime(1222, 12, 12, 12, 12, 12, 121212)
_MARKERS = (_WS_SENTINEL, "1111", "1222")  # a sentinel in any form left in the SQL: not cacheable
SIZE = 256

Builder = Callable[[str, ResolvedRequest], tuple[ir.Table, list[str]]]


@dataclass(frozen=True)
class Statement:
    """A cached statement and what running it for one request takes."""

    prepared: PreparedStatement
    names: list[str]
    params: dict[str, Any]


@dataclass(frozen=True)
class _Entry:
    prepared: PreparedStatement
    names: list[str]


_cache: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
_lock = threading.Lock()


def clear() -> None:
    with _lock:
        _cache.clear()


def size() -> int:
    return len(_cache)


def _workspace_parameter(warehouse: Warehouse) -> bool:
    """Whether the workspace can be a parameter: only when ``segments`` is the interface's own (a
    filter on the workspace column whatever its value); a subclass's may depend on the value."""
    return getattr(type(warehouse), "segments", None) is Warehouse.segments


def key(kind: str, warehouse: Warehouse, workspace: str, req: ResolvedRequest,
        ctx: BuildContext | None) -> tuple[Any, ...]:
    """The request's shape: everything its SQL depends on except the parameters' values."""
    shape = None
    if ctx is not None:
        shape = (tuple((to, off) for _, to, off in ctx.offsets[:-1]), ctx.offsets[-1][2])
    sentinel = req.with_period(_LO_SENTINEL, _HI_SENTINEL)
    ws_key = None if _workspace_parameter(warehouse) else workspace
    # has_call_rollups: whether the report reads the stored call rollups (expression.stored_calls)
    return (kind, id(warehouse), warehouse.has_call_rollups, ws_key, req.template.name,
            req.request.model_dump_json(exclude={"metadata"}), repr(sentinel.conditions), tuple(req.display_fields),
            tuple(req.child_fields), tuple(req.sort), req.weekdays, req.tz, shape)


Key = tuple[Any, ...]


def lookup(kind: str, warehouse: Warehouse, workspace: str, req: ResolvedRequest,
           ctx: BuildContext | None) -> tuple[Key | None, Statement | None, bool]:
    """``(key, statement, found)``: the shape's key (None: the warehouse takes no part), its
    statement for this request when cached, and whether the shape was in the cache."""
    if not warehouse.capabilities.prepared_statements:
        return None, None, False
    k = key(kind, warehouse, workspace, req, ctx)
    with _lock:
        entry = _cache.get(k)
        if entry is not None:
            _cache.move_to_end(k)
    if entry is None:
        return k, None, False
    return k, _for_request(entry, workspace, req), True


def build_with_sentinels(warehouse: Warehouse, workspace: str, req: ResolvedRequest,
                         build: Builder) -> tuple[ir.Table, list[str]]:
    """``build`` with the sentinel workspace (where it can be a parameter) and period."""
    ws = _WS_SENTINEL if _workspace_parameter(warehouse) else workspace
    return build(ws, req.with_period(_LO_SENTINEL, _HI_SENTINEL))


def compile_into(k: Key, warehouse: Warehouse, workspace: str, req: ResolvedRequest, expr: ir.Table,
                 names: list[str]) -> Statement | None:
    """Compile an expression built by :func:`build_with_sentinels` (no engine access: any
    thread may), keep it under ``k`` and return its statement for this request."""
    placeholders = {PERIOD_FROM: ibis.literal(_LO_SENTINEL, "timestamp"),
                    PERIOD_TO: ibis.literal(_HI_SENTINEL, "timestamp")}
    if _workspace_parameter(warehouse):
        placeholders[WORKSPACE] = ibis.literal(_WS_SENTINEL, "string")
    prepared = warehouse.prepare(expr, placeholders)
    if prepared is None or any(m in prepared.sql for m in _MARKERS):
        return None  # not kept: the shape is built and compiled afresh each time, as without a cache
    entry = _Entry(prepared, names)
    with _lock:
        _cache[k] = entry
        while len(_cache) > SIZE:
            _cache.popitem(last=False)
    return _for_request(entry, workspace, req)


def statement(kind: str, warehouse: Warehouse, workspace: str, req: ResolvedRequest, ctx: BuildContext | None,
              build: Builder) -> Statement | None:
    """The prepared statement of ``build(workspace, req)`` and its parameters for this request,
    compiled once per shape; None when the warehouse or the shape cannot use the cache (then the
    caller builds and runs the expression itself)."""
    k, hit, found = lookup(kind, warehouse, workspace, req, ctx)
    if k is None or found:
        return hit
    expr, names = build_with_sentinels(warehouse, workspace, req, build)
    return compile_into(k, warehouse, workspace, req, expr, names)


def _for_request(entry: _Entry, workspace: str, req: ResolvedRequest) -> Statement | None:
    values: dict[str, Any] = {WORKSPACE: workspace}
    if req.period_from is not None and req.period_to is not None:
        values |= {PERIOD_FROM: req.period_from.values[0], PERIOD_TO: req.period_to.values[0]}
    if not entry.prepared.parameters <= values.keys():
        return None
    return Statement(entry.prepared, entry.names, {p: values[p] for p in entry.prepared.parameters})
