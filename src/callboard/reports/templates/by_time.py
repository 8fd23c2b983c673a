"""Traffic by time of the call's first segment, in local time of ``timeZoneId``:
``CallsByStartTime`` (``callRatePeriod`` buckets), ``CallsByHourOfDay``, ``CallsByDayOfWeek`` and
``CallsByDate``.

Rows exist only for buckets in which a call starts (clients fill gaps; a 0 row would need a
calendar table the engines do not share). Counts are calls (distinct ``connId``) with ``ans``/``lost``
as in ``CallList``; ``ring`` is the callers' total wait (``CallList.ring``), ``talk`` the answered
segments' talk; ``peakConcurrent`` the most simultaneous external calls at any moment of the bucket
(for hour/weekday/date: of any one occurrence of it), from :func:`helpers.concurrency_peaks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import ibis
import ibis.expr.types as ir

from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import calls_of, concurrency_peaks

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest

_MEASURES = (
    TemplateField("calls", "int", "Calls", True, description="Calls starting in the bucket (distinct connId)."),
    TemplateField("segments", "int", "Segments", True, description="Segments of those calls."),
    TemplateField("ans", "int", "Answered calls", True, description="Calls answered (as in CallList)."),
    TemplateField("lost", "int", "Lost calls", True, description="Calls lost (as in CallList)."),
    TemplateField("ring", "float", "Wait (s)", True, description="Σ of the calls' wait (CallList ring)."),
    TemplateField("talk", "float", "Talk (s)", True, description="Σ talk of the calls' answered segments."),
    TemplateField("peakConcurrent", "int", "Peak concurrent",
                  description="Most external calls in progress at once within the bucket."),
)


class _ByTime(Template):
    """Shared build: bucket calls by their local first start, aggregate, join the peaks."""

    kind = "aggregate"
    key_fields: ClassVar[tuple[TemplateField, ...]]

    def keys(self, local: ir.TimestampValue, req: ResolvedRequest, ctx: BuildContext) -> dict[str, ir.Value]:
        raise NotImplementedError

    def instance(self, req: ResolvedRequest, ctx: BuildContext) -> Callable[[ir.TimestampValue], ir.TimestampValue]:
        """The occurrence of a bucket a local time falls in (its local start)."""
        return lambda local: local.truncate("D")

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        calls = calls_of(segments, ctx)
        calls = calls.mutate(_local=ctx.local(calls.start))
        keyed = calls.mutate(**self.keys(calls._local, req, ctx))
        names = [f.name for f in self.key_fields]
        agg = keyed.group_by(names).aggregate(
            calls=keyed.count(),
            segments=keyed.segments.sum(),
            ans=keyed.ans.sum(),
            lost=keyed.lost.sum(),
            ring=keyed.ring.sum(),
            talk=keyed.talk.sum(),
        )
        inst = self.instance(req, ctx)
        peaks = concurrency_peaks(segments, calls, inst, ctx)
        peaks = peaks.mutate(**self.keys(peaks._inst, req, ctx))
        peak = peaks.group_by(names).aggregate(peakConcurrent=peaks.peak.max())
        j = agg.left_join(peak, names)
        return j.select(*names, "calls", "segments", "ans", "lost", "ring", "talk",
                        peakConcurrent=ibis.coalesce(j.peakConcurrent, 0))


class CallsByStartTime(_ByTime):
    name = "CallsByStartTime"
    description = "One row per callRatePeriod-minute bucket of the calls' first segment start (local time)."
    key = ("start",)
    key_fields = (TemplateField("start", "timestamp", "Period start", local=True,
                                description="Local start of the bucket (callRatePeriod minutes)."),)
    fields = (*key_fields, *_MEASURES)

    def instance(self, req: ResolvedRequest, ctx: BuildContext) -> Callable[[ir.TimestampValue], ir.TimestampValue]:
        period_us = int(req.request.callRatePeriod) * 60 * 1_000_000

        def bucket(local: ir.TimestampValue) -> ir.TimestampValue:
            # floor on the local clock: (local epoch µs // period) * period, back to a timestamp
            us = ctx.functions.epoch_us(local)
            start_s = ((us // period_us) * (period_us // 1_000_000))
            return start_s.as_timestamp("s")

        return bucket

    def keys(self, local: ir.TimestampValue, req: ResolvedRequest, ctx: BuildContext) -> dict[str, ir.Value]:
        return {"start": self.instance(req, ctx)(local)}


class CallsByHourOfDay(_ByTime):
    name = "CallsByHourOfDay"
    description = "One row per local hour of day (0–23) of the calls' first segment start."
    key = ("hour",)
    key_fields = (TemplateField("hour", "int", "Hour", description="Local hour of day, 0–23."),)
    fields = (*key_fields, *_MEASURES)

    def instance(self, req: ResolvedRequest, ctx: BuildContext) -> Callable[[ir.TimestampValue], ir.TimestampValue]:
        return lambda local: local.truncate("h")

    def keys(self, local: ir.TimestampValue, req: ResolvedRequest, ctx: BuildContext) -> dict[str, ir.Value]:
        return {"hour": local.hour().cast("int64")}


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CallsByDayOfWeek(_ByTime):
    name = "CallsByDayOfWeek"
    description = "One row per local weekday of the calls' first segment start (ISO: 1 Monday … 7 Sunday)."
    key = ("dayOfWeek",)
    key_fields = (TemplateField("dayOfWeek", "int", "Weekday", description="ISO weekday, 1 Monday … 7 Sunday."),
                  TemplateField("dayName", "string", "Weekday name", description="Monday … Sunday."))
    fields = (*key_fields, *_MEASURES)

    def keys(self, local: ir.TimestampValue, req: ResolvedRequest, ctx: BuildContext) -> dict[str, ir.Value]:
        idx = local.day_of_week.index().cast("int64")
        name = ibis.cases(*[(idx == i, n) for i, n in enumerate(_DAY_NAMES)], else_=ibis.null("string"))
        return {"dayOfWeek": idx + 1, "dayName": name}


class CallsByDate(_ByTime):
    name = "CallsByDate"
    description = "One row per local date of the calls' first segment start."
    key = ("date",)
    key_fields = (TemplateField("date", "date", "Date", description="Local calendar date."),)
    fields = (*key_fields, *_MEASURES)

    def keys(self, local: ir.TimestampValue, req: ResolvedRequest, ctx: BuildContext) -> dict[str, ir.Value]:
        return {"date": local.date()}
