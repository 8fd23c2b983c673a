"""Per-user and per-hunt-group summaries (SPEC §3; the definitions are written out in
docs/templates.md).

``CallSummaryByUser`` counts a user's **segments** (rings): ``calls``/``ans``/``ref``/``lost``,
``ring``/``talk``/``duration`` sums, ``avgRing``/``avgTalk`` over answered segments, ``maxRing``
of any segment, ``serviceLevel`` = answered segments with ring ≤ the threshold ÷ (answered + lost
segments). Its ``answerRate`` leaves out the rings it refused on calls another user answered
(``answeredElsewhere``): ans ÷ (ans + lost + ref − answeredElsewhere); ``answerRateAllRings`` is
ans ÷ (ans + lost + ref).

``CallSummaryByHuntGroup`` counts **calls** (each ``connId`` once per group). Its ring figures are
the caller's **wait in the group**, per call, as ``RingTimeDistribution`` measures a call's wait but
over the call's segments in the group only: from the first of them to the answer in the group (the
first answering segment's start + its ring) or, unanswered there, to the last of them's end.
``serviceLevel`` = calls answered in the group within the threshold ÷ calls answered or lost there.
The per-segment (per-leg) figures are kept as ``legRing``, ``avgLegRing``, ``maxLegRing`` and
``legServiceLevel``.

The threshold is the first ``ringDurationThresholds`` bucket (10 s by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from callboard.calls.rollups import add_seconds
from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import count_where, ratio

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest

_THRESHOLD = "the first ringDurationThresholds value"


def _shared(unit: str) -> tuple[TemplateField, ...]:
    return (
        TemplateField("calls", "int", "Calls", True, description=f"Offered {unit}."),
        TemplateField("ans", "int", "Answered", True, description=f"Answered {unit}."),
    )


def _talk_fields() -> tuple[TemplateField, ...]:
    return (
        TemplateField("talk", "float", "Talk (s)", True, description="Σ (duration − ring) of answered segments."),
        TemplateField("avgTalk", "float", "Average talk (s)", description="Mean talk of answered segments."),
        TemplateField("duration", "float", "Duration (s)", True, description="Σ duration of the segments."),
    )


USER_FIELDS: tuple[TemplateField, ...] = (
    *_shared("segments"),
    TemplateField("ref", "int", "Refused", True, description="Refused segments."),
    TemplateField("lost", "int", "Lost", True, description="Lost segments."),
    TemplateField("answeredElsewhere", "int", "Refused, answered elsewhere", True, default_display=False,
                  description="Refused segments of calls that another user (another userNum, or a segment "
                              "without a user) answered."),
    TemplateField("ring", "float", "Ring (s)", True, description="Σ ring of the segments."),
    TemplateField("avgRing", "float", "Average ring (s)", description="Mean ring of answered segments."),
    TemplateField("maxRing", "float", "Longest ring (s)", description="Longest ring of any segment."),
    *_talk_fields(),
    TemplateField("answerRate", "float", "Answer rate",
                  description="ans ÷ (ans + lost + ref − answeredElsewhere): rings another user answered are "
                              "not counted (0–1; null when nothing is left)."),
    TemplateField("answerRateAllRings", "float", "Answer rate (every ring)", default_display=False,
                  description="ans ÷ (ans + lost + ref): every refused ring counts (0–1; null when nothing "
                              "offered)."),
    TemplateField("serviceLevel", "float", "Service level",
                  description=f"Answered segments with ring ≤ {_THRESHOLD} ÷ (answered + lost segments), 0–1."),
)

GROUP_FIELDS: tuple[TemplateField, ...] = (
    *_shared("calls (each once per group)"),
    TemplateField("ref", "int", "Refused", True,
                  description="Calls refused in the group and neither answered nor lost there (overflowed)."),
    TemplateField("lost", "int", "Lost", True, description="Calls with a lost segment in the group."),
    TemplateField("ring", "float", "Wait (s)", True,
                  description="Σ over the group's calls of the caller's wait in the group: from the call's first "
                              "segment in the group to the answer there, or unanswered there to the end of its "
                              "last segment in the group."),
    TemplateField("avgRing", "float", "Average wait to answer (s)",
                  description="Mean wait in the group of the calls answered in the group."),
    TemplateField("maxRing", "float", "Longest wait (s)", description="Longest wait in the group of any call."),
    *_talk_fields(),
    TemplateField("answerRate", "float", "Answer rate", description="ans ÷ calls (0–1; null when nothing offered)."),
    TemplateField("serviceLevel", "float", "Service level",
                  description=f"Calls answered in the group with a wait ≤ {_THRESHOLD} ÷ calls answered or lost "
                              "in the group, 0–1."),
    TemplateField("legRing", "float", "Ring of the legs (s)", True, default_display=False,
                  description="Σ ring of the group's segments (every agent leg)."),
    TemplateField("avgLegRing", "float", "Average leg ring (s)", default_display=False,
                  description="Mean ring of the group's answered segments."),
    TemplateField("maxLegRing", "float", "Longest leg ring (s)", default_display=False,
                  description="Longest ring of any of the group's segments."),
    TemplateField("legServiceLevel", "float", "Leg service level", default_display=False,
                  description=f"The group's answered segments with ring ≤ {_THRESHOLD} ÷ its answered + lost "
                              "segments, 0–1."),
)


def _segment_measures(s: ir.Table, threshold: float) -> dict[str, ir.Value]:
    """Sums and means over segments (a user's rings, a group's legs)."""
    answered = s.ans == 1
    return {
        "ring": s.ring.sum(),
        "avgRing": s.ring.mean(where=answered),
        "maxRing": s.ring.max(),
        "talk": s.talk.sum(),
        "avgTalk": s.talk.mean(where=answered),
        "duration": s.duration.sum(),
        "_fast": count_where(s, answered & (s.ring <= threshold)),
        "_offered": count_where(s, answered | (s.lost == 1)),
    }


def _answered_elsewhere(s: ir.Table) -> ir.BooleanValue:
    """Per segment of ``s``: refused on a call that a segment of another user answered. ``s`` must
    carry the call's answers (:func:`_call_answers`): ``_an`` answering segments, ``_anull`` of them
    without a user, ``_alo``/``_ahi`` the lowest and highest answering ``userNum``; null when the
    call has no answer. A user's own answers are not another's: the refusal then counts."""
    named = s.userNum.notnull()
    other_named = (s._alo != s.userNum) | (s._ahi != s.userNum)  # null when no named user answered
    other = ibis.cases((named, (s._anull > 0) | ibis.coalesce(other_named, False)),
                       else_=s._an > s._anull)
    return (s.ref == 1) & ibis.coalesce(other, False)


def _call_answers(s: ir.Table) -> ir.Table:
    """One row per answered call: how many segments answered it (``_an``), how many of them have no
    user (``_anull``), and the lowest and highest answering ``userNum`` (``_alo``, ``_ahi``) -- enough
    to tell, without a join on the nullable ``userNum``, whether someone other than a given user
    answered it."""
    a = s.filter(s.ans == 1)
    return a.group_by("connId").aggregate(_an=a.count(), _anull=count_where(a, a.userNum.isnull()),
                                          _alo=a.userNum.min(), _ahi=a.userNum.max())


class CallSummaryByUser(Template):
    name = "CallSummaryByUser"
    description = "One row per user (userNum): segments offered, answered, refused and lost, ring and talk."
    kind = "aggregate"
    key = ("userNum",)
    fields = (
        TemplateField("userNum", "string", "User number",
                      description="The user (extension) owning the segments; null: segments without a user."),
        TemplateField("userName", "string", "User", description="The user's name."),
        *USER_FIELDS,
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        s = segments
        agg = s.group_by("userNum").aggregate(
            userName=s.userName.max(),
            calls=s.count(),
            ans=s.ans.cast("int64").sum(),
            ref=s.ref.cast("int64").sum(),
            lost=s.lost.cast("int64").sum(),
            **_segment_measures(s, req.service_level_threshold),
        )
        # Only refusals can have been answered elsewhere: just they meet the answers of their calls
        # (hash joins on connId, never null), counted per user, then joined to the users' rows (a
        # handful) -- rather than every segment joined to every answered call.
        refused = s.filter(s.ref == 1).select("connId", "userNum", "ref")
        r = refused.join(_call_answers(s.semi_join(refused, "connId")), "connId")
        elsewhere = r.group_by("userNum").aggregate(_else=count_where(r, _answered_elsewhere(r)))
        agg = agg.left_join(elsewhere, agg.userNum.identical_to(elsewhere.userNum)).drop("userNum_right")
        agg = agg.mutate(answeredElsewhere=ibis.coalesce(agg._else, 0)).drop("_else")
        return agg.mutate(
            answerRate=ratio(agg.ans, agg.ans + agg.lost + agg.ref - agg.answeredElsewhere),
            answerRateAllRings=ratio(agg.ans, agg.ans + agg.lost + agg.ref),
            serviceLevel=ratio(agg._fast, agg._offered),
        ).drop("_fast", "_offered")


def _group_calls(s: ir.Table, ctx: BuildContext) -> ir.Table:
    """One row per hunt group and call with the call's outcome in the group (``a`` answered there,
    ``lo`` lost there, ``r`` refused there) and ``wait``: the caller's wait in the group, from the
    call's first segment in the group to the answer there (the first answering segment's start +
    its ring, by ``(start, docId)``) or, unanswered there, to the end of its last segment there --
    ``RingTimeDistribution``'s wait over the group's segments of the call."""
    fn = ctx.functions
    key = ibis.struct({"s": s.start, "d": s.docId})
    per = s.group_by(["hgNum", "connId"]).aggregate(
        a=s.ans.max(), lo=s.lost.max(), r=s.ref.max(), g_start=s.start.min(), g_end=s.end.max(),
        g_at=fn.first_value_by(add_seconds(s.start, s.ring), key, where=s.ans == 1),
    )
    return per.select("hgNum", "connId", "a", "lo", "r",
                      wait=fn.seconds_between(per.g_start, ibis.coalesce(per.g_at, per.g_end)))


class CallSummaryByHuntGroup(Template):
    name = "CallSummaryByHuntGroup"
    description = ("One row per hunt group (hgNum): calls routed through it, each counted once per group, and "
                   "the callers' wait in the group.")
    kind = "aggregate"
    key = ("hgNum",)
    fields = (
        TemplateField("hgNum", "string", "Hunt group number", description="The hunt group (queue)."),
        TemplateField("hgName", "string", "Hunt group", description="The hunt group's name."),
        *GROUP_FIELDS,
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        threshold = req.service_level_threshold
        s = segments.filter(segments.hgNum.notnull())
        per_call = _group_calls(s, ctx)
        answered = per_call.a == 1
        calls = per_call.group_by("hgNum").aggregate(
            calls=per_call.count(),
            ans=count_where(per_call, answered),
            lost=count_where(per_call, per_call.lo == 1),
            ref=count_where(per_call, (per_call.r == 1) & (per_call.a == 0) & (per_call.lo == 0)),
            ring=per_call.wait.sum(),
            avgRing=per_call.wait.mean(where=answered),
            maxRing=per_call.wait.max(),
            _fast=count_where(per_call, answered & (per_call.wait <= threshold)),
            _offered=count_where(per_call, answered | (per_call.lo == 1)),
        )
        legs = _segment_measures(s, threshold)
        seg = s.group_by("hgNum").aggregate(
            hgName=s.hgName.max(), legRing=legs["ring"], avgLegRing=legs["avgRing"], maxLegRing=legs["maxRing"],
            talk=legs["talk"], avgTalk=legs["avgTalk"], duration=legs["duration"], _legFast=legs["_fast"],
            _legOffered=legs["_offered"])
        j = calls.join(seg, "hgNum")
        return j.select(
            "hgNum", "hgName", "calls", "ans", "ref", "lost", "ring", "avgRing", "maxRing", "talk",
            "avgTalk", "duration",
            answerRate=ratio(j.ans, j.calls),
            serviceLevel=ratio(j._fast, j._offered),
            legRing=j.legRing, avgLegRing=j.avgLegRing, maxLegRing=j.maxLegRing,
            legServiceLevel=ratio(j._legFast, j._legOffered),
        )
