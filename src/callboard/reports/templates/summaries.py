"""Per-user and per-hunt-group summaries (SPEC §3 definitions).

``calls``/``ans``/``ref``/``lost`` count segments for a user; a hunt group counts each call once
(distinct ``connId``). ``ring``, ``talk`` and ``duration`` are sums over segments; ``avgRing``,
``avgTalk`` average over answered segments; ``maxRing`` is the longest ring of any segment;
``serviceLevel`` = answered segments with ring ≤ the threshold ÷ (answered + lost segments), the
threshold being the first ``ringDurationThresholds`` bucket (10 s by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis.expr.types as ir

from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import count_where, ratio

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest


def _measures(kind: str) -> tuple[TemplateField, ...]:
    unit = "segments" if kind == "user" else "calls (each once per group)"
    rate = ("ans ÷ (ans + lost + ref)" if kind == "user" else "ans ÷ calls")
    return (
        TemplateField("calls", "int", "Calls", True, description=f"Offered {unit}."),
        TemplateField("ans", "int", "Answered", True, description=f"Answered {unit}."),
        TemplateField("ref", "int", "Refused", True,
                      description="Refused segments." if kind == "user" else
                      "Calls refused in the group and neither answered nor lost there (overflowed)."),
        TemplateField("lost", "int", "Lost", True, description=f"Lost {unit}."),
        TemplateField("ring", "float", "Ring (s)", True, description="Σ ring of the segments."),
        TemplateField("avgRing", "float", "Average ring (s)", description="Mean ring of answered segments."),
        TemplateField("maxRing", "float", "Longest ring (s)", description="Longest ring of any segment."),
        TemplateField("talk", "float", "Talk (s)", True, description="Σ (duration − ring) of answered segments."),
        TemplateField("avgTalk", "float", "Average talk (s)", description="Mean talk of answered segments."),
        TemplateField("duration", "float", "Duration (s)", True, description="Σ duration of the segments."),
        TemplateField("answerRate", "float", "Answer rate", description=f"{rate} (0–1; null when nothing offered)."),
        TemplateField("serviceLevel", "float", "Service level",
                      description="Answered segments with ring ≤ the first ringDurationThresholds value "
                                  "÷ (answered + lost segments), 0–1."),
    )


def _segment_measures(s: ir.Table, threshold: float) -> dict[str, ir.Value]:
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


class CallSummaryByUser(Template):
    name = "CallSummaryByUser"
    description = "One row per user (userNum): segments offered, answered, refused and lost, ring and talk."
    kind = "aggregate"
    key = ("userNum",)
    fields = (
        TemplateField("userNum", "string", "User number"),
        TemplateField("userName", "string", "User"),
        *_measures("user"),
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
        return agg.mutate(
            answerRate=ratio(agg.ans, agg.ans + agg.lost + agg.ref),
            serviceLevel=ratio(agg._fast, agg._offered),
        ).drop("_fast", "_offered")


class CallSummaryByHuntGroup(Template):
    name = "CallSummaryByHuntGroup"
    description = "One row per hunt group (hgNum): calls routed through it, each counted once per group."
    kind = "aggregate"
    key = ("hgNum",)
    fields = (
        TemplateField("hgNum", "string", "Hunt group number"),
        TemplateField("hgName", "string", "Hunt group"),
        *_measures("group"),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        s = segments.filter(segments.hgNum.notnull())
        per_call = s.group_by(["hgNum", "connId"]).aggregate(
            a=s.ans.max(), lo=s.lost.max(), r=s.ref.max())
        calls = per_call.group_by("hgNum").aggregate(
            calls=per_call.count(),
            ans=count_where(per_call, per_call.a == 1),
            lost=count_where(per_call, per_call.lo == 1),
            ref=count_where(per_call, (per_call.r == 1) & (per_call.a == 0) & (per_call.lo == 0)),
        )
        seg = s.group_by("hgNum").aggregate(hgName=s.hgName.max(),
                                            **_segment_measures(s, req.service_level_threshold))
        j = calls.join(seg, "hgNum")
        return j.select(
            "hgNum", "hgName", "calls", "ans", "ref", "lost", "ring", "avgRing", "maxRing", "talk",
            "avgTalk", "duration",
            answerRate=ratio(j.ans, j.calls),
            serviceLevel=ratio(j._fast, j._offered),
        )
