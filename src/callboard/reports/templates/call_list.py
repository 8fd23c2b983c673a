"""``CallList``: one row per call (``connId``), built by :func:`callboard.calls.rollups.rollup_calls`; the call's
segments nest under it as ``children`` when ``childDisplayFields`` asks for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import calls_of

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest

CHILD_KEY = "_k"


class CallList(Template):
    name = "CallList"
    description = "One row per call: its first start, answering user, caller, first hunt group, outcome, " \
                  "the caller's wait and the whole duration."
    kind = "call"
    key = ("docId",)
    fields = (
        TemplateField("connId", "string", "Call ID", description="The call."),
        TemplateField("start", "timestamp", "Start", description="Start of the call's first segment."),
        TemplateField("userName", "string", "Answered by", description="User of the first answering segment."),
        TemplateField("userNum", "string", "Answering number", description="Number of the answering user."),
        TemplateField("cli", "string", "Caller number", description="The first segment's caller number."),
        TemplateField("cliName", "string", "Caller name", description="The first segment's caller name."),
        TemplateField("hgNum", "string", "Hunt group number", description="First hunt group the call visited."),
        TemplateField("hgName", "string", "Hunt group", description="Name of that hunt group."),
        TemplateField("callType", "int", "Call type", description="The first segment's: 1 internal, 2 external."),
        TemplateField("callDir", "int", "Direction",
                      description="The first segment's: 1 internal, 2 incoming, 3 outgoing."),
        TemplateField("ans", "flag", "Answered", True, description="1 when a segment has ans = 1."),
        TemplateField("lost", "flag", "Lost", True, description="1 when a segment has lost = 1."),
        TemplateField("ring", "float", "Wait (s)", True,
                      description="The caller's wait: first start to the answer (answering segment's "
                                  "start + ring), or unanswered, to the last segment's end."),
        TemplateField("duration", "float", "Duration (s)", True,
                      description="Whole call: first segment start to last segment end."),
        TemplateField("segments", "int", "Segments", True, description="Number of segments."),
        TemplateField("ref", "flag", "Refused somewhere", True, default_display=False,
                      description="1 when a segment has ref = 1."),
        TemplateField("talk", "float", "Talk (s)", True, default_display=False,
                      description="Σ (duration − ring) over answered segments."),
        TemplateField("end", "timestamp", "End", default_display=False, description="Last segment end."),
        TemplateField("startUtc", "string", "Start (UTC)", default_display=False,
                      description="start as ISO 8601 UTC with Z."),
        TemplateField("docId", "string", "Record ID", default_display=False,
                      description="The call's identity (its connId)."),
        TemplateField("children", "list", "Segments of the call", default_display=False,
                      description="The call's segments (fields per childDisplayFields), in start order."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        calls = calls_of(segments, ctx).mutate(startUtc=ibis._.start)
        if not req.child_fields:
            return calls
        members: dict[str, ir.Value] = {CHILD_KEY: segments.start, "_d": segments.docId}
        for name in req.child_fields:
            col = segments[name]
            # child timestamps are shown in local time like the parent row's (startUtc stays UTC)
            members[name] = ctx.local(col) if name in ("start", "end") else col
        # Spark cannot order a collect, so each struct leads with its sort key (start, docId), the
        # array is sorted, and the runner drops the key.
        kids = segments.group_by("connId").aggregate(children=ibis.struct(members).collect().sort())
        return calls.left_join(kids, "connId").drop("connId_right")
