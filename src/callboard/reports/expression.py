"""A resolved request as Ibis expressions over a warehouse: the filtered segments, the stored calls
it may read, the report itself, the probe for the bounds stored calls span, and the pre-query.
Building them runs nothing; :mod:`callboard.reports.runner` runs them.
"""

from __future__ import annotations

from functools import partial

import ibis
import ibis.expr.types as ir

from callboard.calls.rollups import CALL_ROLLUPS_TABLE, add_seconds, segment_view
from callboard.calls.schema import FIELD_NAMES
from callboard.reports.filters import apply
from callboard.reports.request import ResolvedRequest
from callboard.reports.templates.base import BuildContext, StoredCalls
from callboard.reports.templates.helpers import drop_short_calls
from callboard.warehouse.base import Warehouse

SUMMARY_FIELDS: tuple[str, ...] = ("ans", "ref", "lost", "ring", "duration")


def _with_start_first(conditions: list) -> list:
    # date conditions first: they are the ones the storage order can prune on
    return sorted(conditions, key=lambda c: c.field != "start")


def prepare(warehouse: Warehouse, workspace: str, req: ResolvedRequest, *, lookahead: bool = True) -> ir.Table:
    """Segments of the workspace with derived fields, restricted by the segment-stage filters.

    With ``lookahead`` and a template that reads past the period (:meth:`Template.lookahead_seconds`),
    the period's end is moved that far out and ``_inPeriod`` marks the period's own segments."""
    segs = segment_view(warehouse.segments(workspace))
    seg_conds = req.segment_conditions()
    extra = req.template.lookahead_seconds(req) if lookahead and req.period_to is not None else 0.0
    if extra <= 0 or req.period_to is None:
        return apply(segs, _with_start_first(seg_conds))
    end = req.period_to
    hi = ibis.literal(end.values[0], "timestamp")
    segs = segs.filter(segs.start < add_seconds(hi, ibis.literal(extra)))
    segs = apply(segs, _with_start_first([c for c in seg_conds if c is not end]))
    return segs.mutate(_inPeriod=segs.start < hi)


def stored_calls(warehouse: Warehouse, workspace: str, req: ResolvedRequest,
                 cut: frozenset[str] | None = None) -> StoredCalls | None:
    """The stored call rollups for this request, or None when it must roll its calls up from
    segments: they hold whole calls, so they serve only requests whose segment-stage filters are the
    period alone -- no other filter on segments, no ``daysOfWeek`` mask, neither
    ``ignoreAbandonedCalls`` nor ``ignoreShortAnsweredCalls``. ``cut``: see :class:`StoredCalls`."""
    r = req.request
    if not warehouse.has_call_rollups or req.weekdays is not None:
        return None
    if r.ignoreAbandonedCalls or r.ignoreShortAnsweredCalls:
        return None
    table = partial(warehouse.call_rollups, workspace)
    seg_conds = req.segment_conditions()
    if req.period_from is None or req.period_to is None:
        return None if seg_conds else StoredCalls(table, None, None, cut=cut)
    if len(seg_conds) != 2 or not all(c is req.period_from or c is req.period_to for c in seg_conds):
        return None
    lo = ibis.literal(req.period_from.values[0], "timestamp")
    hi = ibis.literal(req.period_to.values[0], "timestamp")
    extra = req.template.lookahead_seconds(req)
    after = add_seconds(hi, ibis.literal(extra)) if extra > 0 else None
    return StoredCalls(table, lo, hi, after, cut=cut)


def cut_expression(stored: StoredCalls) -> ir.Table:
    """One row (``bound``) per bound of ``stored`` that some stored call spans (first segment before
    it, last at or after it); each probe stops at its first row and reads only the row groups
    around its bound."""
    t = stored.table(CALL_ROLLUPS_TABLE)
    probes = [t.filter(t.start < b, t.lastStart >= b).limit(1).select(bound=ibis.literal(name))
              for name, b in stored.bounds().items()]
    out = probes[0]
    for p in probes[1:]:
        out = out.union(p, distinct=False)
    return out


def build_expression(segs: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> tuple[ir.Table, list[str]]:
    """The report's Ibis expression (sorted, cut at rowLimit + 1) and the columns it returns."""
    template = req.template
    if req.weekdays is not None:
        segs = segs.filter((ctx.local(segs.start).day_of_week.index() + 1).isin(list(req.weekdays)))
    segs = drop_short_calls(segs, req)
    out = template.build(segs, req, ctx)
    out = apply(out, [c for c in req.conditions if c.stage == "result"])
    extra = [n for n in SUMMARY_FIELDS if template.field(n) is not None and n not in req.display_fields]
    names = [*req.display_fields, *extra]
    cols: dict[str, ir.Value] = {}
    for name in names:
        fld = template.field(name)
        col = out[name]
        if fld is not None and fld.type == "timestamp" and not fld.local:
            col = ctx.local(col)
        cols[name] = col
    # Sort on the template's own values (UTC instants, not local wall time, which repeats an hour
    # in autumn), through hidden key columns; the template key makes the order total.
    sort_names = {f for f, _ in req.sort}
    order = [(out[f], desc) for f, desc in req.sort]
    order += [(out[k], False) for k in template.key if k in out.columns and k not in sort_names]
    hidden = {f"_sort{i}": expr for i, (expr, _) in enumerate(order)}
    proj = out.select(**cols, **hidden)
    if order:
        proj = proj.order_by([ibis.desc(proj[k]) if order[i][1] else ibis.asc(proj[k])
                              for i, k in enumerate(hidden)])
    proj = proj.limit(req.request.rowLimit + 1)
    if hidden:
        proj = proj.drop(*hidden)
    return proj, names


def stats_expression(warehouse: Warehouse, workspace: str, req: ResolvedRequest,
                     *, long_only: bool = False) -> ir.Table:
    """The pre-query: segments passing the segment-stage filters (``n``, for ``effort``) and their
    time span (``lo`` = first start, ``hi`` = last end). Built on the stored table when every
    condition names a stored field (no derived-field ``CASE`` chains to compile), else on
    :func:`prepare`'s view; both count the same rows.

    ``long_only`` (a request with a period, whose segments all start before its end): ``n`` and
    ``long`` = the longest duration only. Only a segment longer than a day can end more than a day
    after the period (past its offset runs), so the caller computes the span only when ``long``
    says one exists: no per-row end (a filtered ``max(end)`` costs 10x the count on the whole
    table)."""
    seg_conds = req.segment_conditions()
    if all(c.field in FIELD_NAMES for c in seg_conds):
        t = apply(warehouse.segments(workspace), _with_start_first(seg_conds))
        end = add_seconds(t.start, t.duration)  # segment_view's ``end``
    else:
        t = prepare(warehouse, workspace, req, lookahead=False)
        end = t.end
    if long_only:
        return t.aggregate(n=t.count(), long=t.duration.max())
    return t.aggregate(n=t.count(), lo=t.start.min(), hi=end.max())
