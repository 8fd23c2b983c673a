"""Usage summaries: ``CallsByAccountCode`` and ``CallingUsage`` (SPEC §3).

Both count *calls* (distinct ``connId``) rather than segments: a call that rings a user twice (say,
back from a hunt group) is one call for that user, and a call with several coded segments is one
call for its account code. Durations are sums over the segments concerned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from callboard.calls.rollups import code_calls, user_calls
from callboard.calls.schema import DIR_INCOMING, DIR_INTERNAL, DIR_OUTGOING
from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import calls_of, count_where, flag

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest


class CallsByAccountCode(Template):
    """One row per ``accountCode`` (segments without one make a row with a null code): ``calls`` =
    distinct calls with a segment carrying the code, ``ans`` = those of them answered on such a
    segment, ``duration``/``talk`` = Σ over the coded segments. ``label`` is the code's entry in
    ``accountCodeLabels`` (null when it has none)."""

    name = "CallsByAccountCode"
    description = "Calls per account code, labelled from accountCodeLabels."
    kind = "aggregate"
    key = ("noCode", "accountCode")
    fields = (
        TemplateField("accountCode", "string", "Account code", description="The code; null for calls without one."),
        TemplateField("label", "string", "Label", description="The code's name in accountCodeLabels."),
        TemplateField("calls", "int", "Calls", True, description="Calls with a segment carrying the code."),
        TemplateField("ans", "int", "Answered", True, description="Of those, calls answered on such a segment."),
        TemplateField("duration", "float", "Duration (s)", True, description="Σ duration of the coded segments."),
        TemplateField("talk", "float", "Talk (s)", True, default_display=False,
                      description="Σ talk of the coded segments."),
        TemplateField("noCode", "flag", "Without code", default_display=False,
                      description="1 on the row of segments without an account code."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        per_call = calls_of(segments, ctx, code_calls, table="call_codes")
        agg = per_call.group_by("accountCode").aggregate(
            calls=per_call.count(), ans=per_call.a.cast("int64").sum(), duration=per_call.d.sum(),
            talk=per_call.tk.sum())
        labels = req.request.accountCodeLabels
        label = (ibis.cases(*[(agg.accountCode == k, v) for k, v in labels.items()], else_=ibis.null("string"))
                 if labels else ibis.null("string"))
        return agg.select("accountCode", label=label, calls=agg.calls, ans=agg.ans, duration=agg.duration,
                          talk=agg.talk, noCode=flag(agg.accountCode.isnull()))


class CallingUsage(Template):
    """One row per user (``userNum``; segments without a user are not counted): calls the user took
    part in by direction -- ``incoming`` (external calls that reached the user, answered or not),
    ``outgoing`` (external calls the user placed), ``internal`` -- and talk minutes
    (Σ duration − ring of the user's answered segments) per direction; ``totalMinutes`` is the sum
    of the three."""

    name = "CallingUsage"
    description = "Per user: incoming, outgoing and internal calls and talk minutes."
    kind = "aggregate"
    key = ("userNum",)
    fields = (
        TemplateField("userNum", "string", "User number", description="The user (segments' userNum)."),
        TemplateField("userName", "string", "User", description="The user's name."),
        TemplateField("incoming", "int", "Incoming calls", True,
                      description="External incoming calls that reached the user (answered or not)."),
        TemplateField("outgoing", "int", "Outgoing calls", True, description="External calls the user placed."),
        TemplateField("internal", "int", "Internal calls", True, description="Internal calls, either side."),
        TemplateField("incomingMinutes", "float", "Incoming minutes", True,
                      description="Talk minutes of the user's answered incoming segments."),
        TemplateField("outgoingMinutes", "float", "Outgoing minutes", True,
                      description="Talk minutes of the user's answered outgoing segments."),
        TemplateField("internalMinutes", "float", "Internal minutes", True, default_display=False,
                      description="Talk minutes of the user's answered internal segments."),
        TemplateField("totalMinutes", "float", "Total minutes", True,
                      description="incomingMinutes + outgoingMinutes + internalMinutes."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        per_call = calls_of(segments, ctx, user_calls, table="call_users")
        d = per_call.callDir

        def minutes(direction: int) -> ir.FloatingValue:
            return ibis.coalesce(per_call.tk.sum(where=d == direction), 0.0) / 60.0

        agg = per_call.group_by("userNum").aggregate(
            userName=per_call.name.max(),
            incoming=count_where(per_call, d == DIR_INCOMING),
            outgoing=count_where(per_call, d == DIR_OUTGOING),
            internal=count_where(per_call, d == DIR_INTERNAL),
            incomingMinutes=minutes(DIR_INCOMING),
            outgoingMinutes=minutes(DIR_OUTGOING),
            internalMinutes=minutes(DIR_INTERNAL),
        )
        return agg.mutate(totalMinutes=agg.incomingMinutes + agg.outgoingMinutes + agg.internalMinutes)
