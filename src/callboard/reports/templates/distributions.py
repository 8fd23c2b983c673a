"""Distributions of calls: ``RingTimeDistribution`` (the callers' wait, with the service level at
each threshold) and ``CallDurationDistribution`` (talk time histogram), SPEC §3.

Both count calls (``connId``, by :func:`callboard.calls.rollups.rollup_calls`'s definitions), and both emit every bucket
in range, empty ones with 0, so a client can chart them without filling gaps. The bucket rows come
from unnesting a literal (or ``range``) array on a one-row aggregate, which every engine can do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from callboard.calls.functions import EngineFunctions
from callboard.calls.rollups import add_seconds
from callboard.calls.schema import DIR_INCOMING
from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import calls_of, count_where, ratio

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest


def _ring_rollup(segs: ir.Table, fn: EngineFunctions) -> ir.Table:
    """The ``callDir``, ``ans``, ``lost`` and ``ring`` of :func:`callboard.calls.rollups.rollup_calls`, one row per
    ``connId``, by the same definitions -- but picking only those members (arg-min over wide structs
    of strings is what makes the full rollup slow on DuckDB)."""
    key = ibis.struct({"s": segs.start, "d": segs.docId})
    j = segs.group_by("connId").aggregate(
        c_start=segs.start.min(), c_end=segs.end.max(), c_ans=segs.ans.max(), c_lost=segs.lost.max(),
        f_callDir=fn.first_value_by(segs.callDir, key),
        a_at=fn.first_value_by(add_seconds(segs.start, segs.ring), key, where=segs.ans == 1),
    )
    return j.select(callDir=j.f_callDir.cast("int64"), ans=j.c_ans.cast("int64"), lost=j.c_lost.cast("int64"),
                    ring=fn.seconds_between(j.c_start, ibis.coalesce(j.a_at, j.c_end)))


class RingTimeDistribution(Template):
    """Incoming calls by the caller's wait (``CallList.ring``: first segment start to the answer, or
    unanswered to the last segment end).

    Buckets: the sorted distinct ``ringDurationThresholds`` t1 < … < tn give rows ``wait ≤ t1``,
    ``t1 < wait ≤ t2`` … and a last row ``wait > tn`` (``upTo`` null), so the rows add up to every
    incoming call with an outcome. A call counts as *answered* when a segment has ans = 1 and as
    *lost* when none has but one has lost = 1; a call with neither (its outcome segment was removed
    by ``ignoreAbandonedCalls`` -- a short abandon -- or by ``ignoreShortAnsweredCalls``) is not
    offered and is left out. ``serviceLevel`` = calls answered with wait ≤ ``upTo`` ÷ offered
    (answered + lost over all buckets); on the last row it is the answer rate.
    """

    name = "RingTimeDistribution"
    description = ("Incoming calls by the caller's wait, one row per ringDurationThresholds bucket plus one for "
                   "longer waits, with the service level at each threshold.")
    kind = "aggregate"
    key = ("bucket",)
    fields = (
        TemplateField("bucket", "int", "Bucket", default_display=False,
                      description="1 for the shortest waits … n + 1 for waits over the last threshold."),
        TemplateField("upTo", "float", "Wait up to (s)",
                      description="The bucket's upper bound (inclusive); null for the last bucket."),
        TemplateField("answered", "int", "Answered", True, description="Calls answered with a wait in the bucket."),
        TemplateField("lost", "int", "Lost", True, description="Calls lost with a wait in the bucket."),
        TemplateField("cumulativeAnswered", "int", "Answered within",
                      description="Calls answered with a wait ≤ upTo (all answered calls on the last row)."),
        TemplateField("serviceLevel", "float", "Service level",
                      description="cumulativeAnswered ÷ offered (answered + lost incoming calls), 0–1."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        limits = sorted({float(t) for t in req.request.ringDurationThresholds})
        calls = calls_of(segments, ctx, _ring_rollup)
        inc = calls.filter((calls.callDir == DIR_INCOMING) & ((calls.ans == 1) | (calls.lost == 1)))
        bucket = ibis.cases(*[(inc.ring <= t, i + 1) for i, t in enumerate(limits)], else_=len(limits) + 1)
        per = inc.group_by(_b=bucket).aggregate(
            answered=count_where(inc, inc.ans == 1), lost=count_where(inc, inc.ans == 0))
        rows = (inc.aggregate(_offered=inc.count())
                .select("_offered", bucket=ibis.literal(list(range(1, len(limits) + 2)), "array<int64>").unnest()))
        j = rows.left_join(per, rows.bucket == per._b)
        j = j.select("bucket", "_offered", answered=ibis.coalesce(j.answered, 0), lost=ibis.coalesce(j.lost, 0))
        cum = j.answered.sum().over(ibis.window(order_by=j.bucket, rows=(None, 0)))
        up_to = ibis.cases(*[(j.bucket == i + 1, t) for i, t in enumerate(limits)], else_=ibis.null("float64"))
        return j.select("bucket", upTo=up_to, answered=j.answered.cast("int64"), lost=j.lost.cast("int64"),
                        cumulativeAnswered=cum.cast("int64"), serviceLevel=ratio(cum, j._offered))


def _talk_rollup(segs: ir.Table, fn: EngineFunctions) -> ir.Table:
    """Only the ``ans`` and ``talk`` members of the call rollup (the full one keeps part of its cost
    on DuckDB even when its other members are not read)."""
    return segs.group_by("connId").aggregate(ans=segs.ans.max().cast("int64"), talk=segs.talk.sum())


class CallDurationDistribution(Template):
    """Answered calls by talk time (Σ talk of the call's answered segments, as in ``CallList``), in
    buckets of ``durationGroupPeriodInSeconds``: ``[from, upTo)``. Every bucket from 0 to the
    longest call's is a row (empty ones with 0 calls); unanswered calls have no talk and are not
    counted. ``share`` = the bucket's calls ÷ all answered calls."""

    name = "CallDurationDistribution"
    description = "Answered calls by talk time, in buckets of durationGroupPeriodInSeconds."
    kind = "aggregate"
    key = ("from",)
    fields = (
        TemplateField("from", "int", "Talk from (s)", description="Lower bound of the bucket (inclusive)."),
        TemplateField("upTo", "int", "Talk up to (s)", description="Upper bound of the bucket (exclusive)."),
        TemplateField("calls", "int", "Calls", True, description="Answered calls with talk time in the bucket."),
        TemplateField("share", "float", "Share", description="calls ÷ all answered calls, 0–1."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        width = int(req.request.durationGroupPeriodInSeconds)
        # only the two members of the call rollup needed (CallList's ans and talk definitions)
        calls = calls_of(segments, ctx, _talk_rollup)
        ans = calls.filter(calls.ans == 1)
        ans = ans.mutate(_b=(ibis.greatest(ans.talk, 0.0) / width).floor().cast("int64"))
        per = ans.group_by("_b").aggregate(calls=ans.count())
        top = ans.aggregate(_n=ans.count(), _max=ans._b.max())
        top = top.filter(top._n > 0)
        rows = top.select("_n", b=ibis.range(0, top._max + 1).unnest())
        j = rows.left_join(per, rows.b == per._b)
        n = ibis.coalesce(j.calls, 0).cast("int64")
        return j.select(**{"from": (j.b * width).cast("int64"), "upTo": ((j.b + 1) * width).cast("int64")},
                        calls=n, share=ratio(n, j._n))
