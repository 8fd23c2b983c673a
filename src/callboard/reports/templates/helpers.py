"""Reusable pieces of report templates, written once in portable Ibis: the segment view with
derived fields, the settings filters, a call-level rollup of segments, local-time buckets and the
concurrency sweep.

Portability notes (DuckDB and PySpark must give the same answer):

* order-sensitive aggregates (``first(order_by=…)``, ordered ``collect``) do not compile on Spark, so
  "the first segment of a call" is an arg-min over a ``(start, docId)`` struct key (:func:`first_by`);
* timestamp differences go through integer epoch microseconds (``epoch_us`` on DuckDB,
  ``unix_micros`` on Spark), since ``epoch_seconds`` truncates to whole seconds on Spark;
* adding float seconds to a timestamp goes through an integer microsecond interval.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from callboard.calls.schema import CALL_DIRS, CALL_FIELDS, CALL_TYPE_EXTERNAL, CALL_TYPES

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest
    from callboard.reports.templates.base import BuildContext


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.timestamp) -> dt.int64:  # type: ignore[empty-body]
    """DuckDB: microseconds since the epoch."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts: dt.timestamp) -> dt.int64:  # type: ignore[empty-body]
    """Spark: microseconds since the epoch."""


def epoch_us(ts: ir.TimestampValue, engine: str) -> ir.IntegerValue:
    """Integer microseconds since 1970 of a naive timestamp, exact on every supported engine."""
    if engine == "duckdb":
        return _duckdb_epoch_us(ts)
    if engine == "pyspark":
        return _spark_unix_micros(ts)
    return ts.epoch_seconds().cast("int64") * 1_000_000


def add_seconds(ts: ir.TimestampValue, seconds: ir.NumericValue) -> ir.TimestampValue:
    """``ts + seconds`` for fractional seconds (microsecond precision)."""
    return ts + (seconds * 1_000_000).round().cast("int64").as_interval("us")


def seconds_between(a: ir.TimestampValue, b: ir.TimestampValue, engine: str) -> ir.FloatingValue:
    """``b - a`` in (fractional) seconds."""
    return (epoch_us(b, engine) - epoch_us(a, engine)).cast("float64") / 1_000_000


def segment_view(t: ir.Table, *, keep: tuple[str, ...] = ()) -> ir.Table:
    """Stored segments plus the derived fields of SPEC §1 (``end``, ``talk``, ``startUtc``,
    ``callDirName``, ``callTypeName``); times stay naive UTC here. ``keep``: storage columns to
    carry along (the workspace, for the stored call rollups)."""
    dir_name = ibis.cases(*[(t.callDir == k, v) for k, v in CALL_DIRS.items()], else_=ibis.null("string"))
    type_name = ibis.cases(*[(t.callType == k, v) for k, v in CALL_TYPES.items()], else_=ibis.null("string"))
    return t.select(
        *keep,
        *[f.name for f in CALL_FIELDS],
        end=add_seconds(t.start, t.duration),
        talk=ibis.cases((t.ans == 1, t.duration - t.ring), else_=0.0),
        startUtc=t.start,
        callDirName=dir_name,
        callTypeName=type_name,
    )


def drop_short_calls(segs: ir.Table, req: ResolvedRequest) -> ir.Table:
    """Honour ``ignoreAbandonedCalls`` (lost segments ringing < ``shortAbandonSeconds``) and
    ``ignoreShortAnsweredCalls`` (answered segments talking < ``shortCallSeconds``)."""
    r = req.request
    if r.ignoreAbandonedCalls:
        segs = segs.filter(~((segs.lost == 1) & (segs.ring < r.shortAbandonSeconds)))
    if r.ignoreShortAnsweredCalls:
        segs = segs.filter(~((segs.ans == 1) & (segs.talk < r.shortCallSeconds)))
    return segs


def flag(cond: ir.BooleanValue) -> ir.IntegerValue:
    """A boolean as 0/1, so it can be summed on every engine."""
    return cond.ifelse(1, 0)


def count_where(t: ir.Table, cond: ir.BooleanValue) -> ir.IntegerValue:
    """Rows of ``t`` where ``cond`` holds, as an aggregate: ``COUNT(*) FILTER (WHERE …)`` on DuckDB,
    ~7 % faster there than summing a 0/1 ``CASE`` (a workspace-year of ``CallSummaryByUser``)."""
    return t.count(where=cond)


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """``num / den`` as a float, null (not NaN, not an error) when ``den`` is 0."""
    return num.cast("float64") / den.cast("float64").nullif(0.0)


def first_by(value: ir.StructValue, key: ir.StructValue, engine: str,
             where: ir.BooleanValue | None = None) -> ir.StructValue:
    """The struct ``value`` of the row with the smallest ``key`` (a struct, compared member by
    member; ``where`` restricts the rows; null when no row qualifies) -- an aggregate.

    ``value`` is a struct so null members survive (the engines' arg-min functions skip null
    arguments, never a non-null struct). DuckDB: its hash-aggregate ``arg_min`` (Ibis's own
    ``argmin`` compiles to ``first(… ORDER BY …)``, which sorts each group); Spark: ``min_by``.
    """
    if engine == "duckdb":
        udf = ibis.udf.agg.builtin(_arg_min_stub, name="arg_min",
                                   signature=((value.type(), key.type()), value.type()))
        return udf(value, key, where=where)
    return value.argmin(key, where=where)


def _arg_min_stub(value: ir.Value, key: ir.Value) -> ir.Value:  # pragma: no cover - never called
    """Placeholder body for DuckDB's builtin ``arg_min`` (the signature is given at the call)."""
    raise NotImplementedError


def first_value_by(value: ir.Value, key: ir.StructValue, engine: str,
                   where: ir.BooleanValue | None = None) -> ir.Value:
    """:func:`first_by` for one value: on DuckDB its ``arg_min_null`` (a null value on the first row
    is the answer, not skipped) -- ~15 % faster than ``arg_min`` over a one-member struct, while for
    several members one struct beats a scalar pick per member by ~4× (the call rollup of a
    workspace-year: 0.83 s against 3.75 s)."""
    if engine == "duckdb":
        udf = ibis.udf.agg.builtin(_arg_min_null_stub, name="arg_min_null",
                                   signature=((value.type(), key.type()), value.type()))
        return udf(value, key, where=where)
    return first_by(ibis.struct({"v": value}), key, engine, where=where)["v"]


def _arg_min_null_stub(value: ir.Value, key: ir.Value) -> ir.Value:  # pragma: no cover - never called
    """Placeholder body for DuckDB's builtin ``arg_min_null`` (the signature is given at the call)."""
    raise NotImplementedError


def call_rollup(segs: ir.Table, ctx: BuildContext) -> ir.Table:
    """One row per ``connId`` (the ``CallList`` definitions of SPEC §3).

    * ``start``: the first segment's start; ``end``: the last segment end; ``duration``: end − start;
    * ``cli``/``cliName``/``callType``/``callDir``: the first segment's (ties on start: lowest docId);
    * ``hgNum``/``hgName``: the first hunt group the call visited;
    * ``userName``/``userNum``: the answering user (first segment with ans = 1), else null;
    * ``ans``/``lost``/``ref``: 1 when any segment has the flag;
    * ``ring``: the caller's wait -- first start to the answer (answering segment's start + its
      ring) or, unanswered, to the last segment end;
    * ``talk``: Σ talk of answered segments; ``segments``: how many segments.

    One aggregation per ``connId``: the first / first answering / first hunt-group segment's fields
    are picked by :func:`first_by` on the ``(start, docId)`` key (formerly three ``row_number()``
    windows joined back on ``connId``: the same rows, about 2× slower).
    """
    return rollup_calls(segs, ctx.engine)


def rollup_calls(segs: ir.Table, engine: str, *, by: tuple[str, ...] = ("connId",),
                 last_start: bool = False) -> ir.Table:
    """:func:`call_rollup` grouped by ``by`` (which must end with ``connId``; the stored call
    rollups group by workspace too), with ``lastStart`` (the last segment's start) on request."""
    eng = engine
    key = ibis.struct({"s": segs.start, "d": segs.docId})
    first = ibis.struct({"docId": segs.docId, "cli": segs.cli, "cliName": segs.cliName,
                         "callType": segs.callType, "callDir": segs.callDir})
    answer = ibis.struct({"user": segs.userName, "num": segs.userNum, "at": add_seconds(segs.start, segs.ring)})
    hunt = ibis.struct({"num": segs.hgNum, "name": segs.hgName})
    extra = {"c_last": segs.start.max()} if last_start else {}
    j = segs.group_by(list(by)).aggregate(
        c_start=segs.start.min(),
        c_end=segs.end.max(),
        c_ans=segs.ans.max(),
        c_lost=segs.lost.max(),
        c_ref=segs.ref.max(),
        c_talk=segs.talk.sum(),
        c_hold=segs.hold.sum(),
        c_segments=segs.count(),
        f=first_by(first, key, eng),
        a=first_by(answer, key, eng, where=segs.ans == 1),
        h=first_by(hunt, key, eng, where=segs.hgNum.notnull()),
        **extra,
    )
    waited_until = ibis.coalesce(j.a["at"], j.c_end)
    keys = [k for k in by if k != "connId"]
    return j.select(
        *keys,
        docId=j.connId,
        connId=j.connId,
        start=j.c_start,
        end=j.c_end,
        userName=j.a["user"],
        userNum=j.a["num"],
        cli=j.f["cli"],
        cliName=j.f["cliName"],
        hgNum=j.h["num"],
        hgName=j.h["name"],
        callType=j.f["callType"].cast("int64"),
        callDir=j.f["callDir"].cast("int64"),
        ans=j.c_ans.cast("int64"),
        lost=j.c_lost.cast("int64"),
        ref=j.c_ref.cast("int64"),
        ring=seconds_between(j.c_start, waited_until, eng),
        talk=j.c_talk,
        hold=j.c_hold,
        duration=seconds_between(j.c_start, j.c_end, eng),
        segments=j.c_segments,
        firstDocId=j.f["docId"],
        **({"lastStart": j.c_last} if last_start else {}),
    )


RollupFn = Callable[[ir.Table, "BuildContext"], ir.Table]


def columns_read(expr: ir.Table, t: ir.Table) -> list[str]:
    """The columns of ``t`` that ``expr`` may read (``connId`` always), in ``t``'s order: every
    column name it reads anywhere (a superset when a derived table reuses a name; never fewer)."""
    used = {f.name for f in expr.op().find(ops.Field)} | {"connId"}
    return [c for c in t.columns if c in used]


def calls_of(segs: ir.Table, ctx: BuildContext, rollup: RollupFn = call_rollup, *, after: bool = False,
             where: Callable[[ir.Table], ir.BooleanValue] | None = None, table: str = "call_rollups") -> ir.Table:
    """``rollup(segs, ctx)`` (filtered by ``where``): calls rolled up from the report's segments
    ``segs`` -- those of the period, or with ``after`` those of the template's look past it
    (:meth:`Template.lookahead_seconds`).

    ``rollup`` is :func:`call_rollup` or a narrower one returning some of its columns by the same
    definitions, or the per-call step of another stored ``table`` (``call_users``, ``call_codes``).
    With stored call rollups (``ctx.stored``) the rows of calls whose segments all lie in the
    range are read from that table, and only the calls a bound of the range cuts are rolled up from their
    segments in ``segs``: the same rows, without aggregating every segment. ``where`` is applied to
    both parts, so on the stored rows the engine filters while it scans."""
    def keep(t: ir.Table) -> ir.Table:
        return t.filter(where(t)) if where is not None else t

    shape = rollup(segs, ctx)
    stored = ctx.stored
    if stored is None:
        return keep(shape)
    (lo_name, lo), (hi_name, hi) = (("hi", stored.hi), ("after", stored.after)) if after else \
        (("lo", stored.lo), ("hi", stored.hi))
    t = stored.table(table)
    inside = [c for c in ((t.start >= lo) if lo is not None else None,
                          (t.lastStart < hi) if hi is not None else None) if c is not None]
    # the stored columns are nullable where a segment's are not: one schema for both sides
    schema = ibis.schema({n: typ.copy(nullable=True) for n, typ in shape.schema().items()})
    whole = keep((t.filter(*inside) if inside else t).select(*schema.names).cast(schema))
    if not inside:
        return whole
    # Calls with segments on both sides of a bound: only their segments inside count. One scan per
    # bound, each pruned by the zone maps of start and lastStart to the row groups around it; none
    # for a bound no call spans (``stored.cut``), which is most bounds at midnight.
    bounds = [b for name, b in ((lo_name, lo), (hi_name, hi)) if b is not None and stored.may_cut(name)]
    if not bounds:
        return whole
    narrow = segs.select(*columns_read(shape, segs))  # a short SELECT list: DuckDB parses what it is sent
    cut = [narrow.semi_join(t.filter(t.start < b, t.lastStart >= b).select("connId"), "connId") for b in bounds]
    # a call cut by both bounds is found twice: its segments are kept once
    cut_segs = cut[0] if len(cut) == 1 else cut[0].union(cut[1], distinct=True)
    part = keep(rollup(cut_segs, ctx).cast(schema))
    return whole.union(part, distinct=False)


InstanceFn = Callable[[ir.TimestampValue], ir.TimestampValue]


def concurrency_peaks(segs: ir.Table, calls: ir.Table, instance: InstanceFn, ctx: BuildContext) -> ir.Table:
    """Peak simultaneous external calls per time *instance* (a local bucket start), by event sweep.

    Each external call (``callType`` 2) counts once, over ``[first start, last end)`` of its
    external segments. Events: +1 at a start, −1 at an end, and a 0 "marker" at the UTC instant
    each instance of ``calls`` (which must carry a local ``_local`` start column) begins, so a call
    running into the instance counts. A window running sum ordered by (time, delta) -- ends before
    markers before starts, which makes the intervals half-open -- gives the level after each event;
    the instance's peak is the largest level at a marker or start inside it.

    Returns ``(_inst, peak)``. Instances with call starts get markers; an instance in which no call
    starts and no event happens is not reported (its rows do not exist either).
    """
    eng = ctx.engine
    ext = segs.filter(segs.callType == CALL_TYPE_EXTERNAL)
    spans = ext.group_by("connId").aggregate(s=ext.start.min(), e=ext.end.max())
    inst_calls = calls.mutate(_inst=instance(calls._local))
    markers = inst_calls.group_by("_inst").aggregate(
        t=(epoch_us(inst_calls.start, eng)
           - (epoch_us(inst_calls._local, eng) - epoch_us(inst_calls._inst, eng))).min()
    ).select("_inst", "t", d=ibis.literal(0, "int64"))
    starts = spans.select(_inst=instance(ctx.local(spans.s)), t=epoch_us(spans.s, eng),
                          d=ibis.literal(1, "int64"))
    ends = spans.select(_inst=instance(ctx.local(spans.e)), t=epoch_us(spans.e, eng),
                        d=ibis.literal(-1, "int64"))
    events = markers.union(starts, distinct=False).union(ends, distinct=False)
    level = events.d.sum().over(ibis.window(order_by=[events.t, events.d], rows=(None, 0)))
    swept = events.mutate(level=level)
    return swept.filter(swept.d >= 0).group_by("_inst").aggregate(peak=swept.level.max())
