"""``TrunkUtilisation``: external lines in use per ``callRatePeriod`` bucket of local time (SPEC §3).

Definitions (documented in docs/templates.md):

* an external call occupies a line over ``[first start, last end)`` of its external segments
  (``callType`` 2), each ``connId`` once -- ringing included, since a trunk is seized while it rings;
* a bucket is ``callRatePeriod`` minutes of local wall time in ``timeZoneId``; its real length is
  what that wall-clock span lasts (on the autumn DST day London's 01:00–01:30 happens twice, so it
  lasts 60 minutes; on the spring day 01:00–02:00 does not exist and has no bucket);
* ``avgConcurrent`` = line-seconds occupied in the bucket ÷ the bucket's seconds (mean lines busy,
  i.e. the offered traffic in Erlangs); ``peakConcurrent`` = most calls at once at any instant of it;
* ``erlangs`` = talk seconds in the bucket (answered external segments, ``[start + ring, end)``) ÷
  the bucket's seconds: the *carried conversation* traffic, smaller than ``avgConcurrent`` by the
  ringing time;
* ``utilisation`` = ``avgConcurrent`` ÷ ``totalTrunks`` (null when ``totalTrunks`` is 0, unknown);
* ``busyHour`` = 1 on the bucket with the most occupied line-seconds (the earliest on a tie).

How it runs in the engine (no per-row time-zone library, no Python loop over rows): every interval
is cut at the UTC-offset changes of the zone (one run index per instant from a handful of
comparisons), each piece is moved to local time and split into the buckets it covers by unnesting
an integer ``range``; the overlap of piece and bucket is its occupancy. Peaks: one sweep of +1 at
each call start and −1 at each end, ordered by (time, delta) -- ends before starts, so intervals are
half-open -- gives the number of calls in progress at every start; a bucket's peak is the highest of
those at its starts and of the calls already in progress where one of its pieces begins (the pieces
of a call that don't hold its start). No marker events at bucket edges, so the one ordered window
sorts only the calls' own starts and ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from callboard.calls.rollups import US_PER_SECOND as _US
from callboard.calls.rollups import external_segments, line_spans
from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import calls_of, count_where, flag

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest

_EPOCH = datetime(1970, 1, 1)


def _us(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


class LocalBuckets:
    """Local-time buckets of ``period_us`` over the UTC-offset runs of a :class:`BuildContext`.

    Run ``i`` covers UTC ``[bounds[i-1], bounds[i])`` (the first from −∞, the last to +∞) with
    offset ``offsets[i]``; all in integer microseconds.
    """

    def __init__(self, ctx: BuildContext, period_us: int) -> None:
        self.period = period_us
        self.offsets = [off * _US for _, _, off in ctx.offsets]
        self.bounds = [_us(to) for _, to, _ in ctx.offsets[:-1]]

    def run_of(self, t: ir.IntegerValue) -> ir.IntegerValue:
        """Index of the offset run holding UTC instant ``t`` (µs)."""
        out: ir.IntegerValue = ibis.literal(0, "int64")
        for b in self.bounds:
            out = out + flag(t >= b).cast("int64")
        return out

    def _pick(self, ri: ir.IntegerValue, values: list[ir.Value]) -> ir.Value:
        if len(values) == 1:
            return values[0]
        return ibis.cases(*[(ri == i, v) for i, v in enumerate(values[:-1])], else_=values[-1])

    def pieces(self, t: ir.Table) -> ir.Table:
        """Rows of ``t`` (``su`` < ``eu``, UTC µs) split into (offset run, local bucket) pieces, with
        ``_ri`` (offset run), ``k`` (local bucket number: local µs // period), ``ls``/``le`` (the
        piece's local µs span, before cutting at the bucket), ``off`` (µs), ``ov`` (µs of the
        interval inside the bucket) and ``first`` (1 on the piece holding the interval's start).

        Most intervals (calls of minutes, buckets of half an hour) lie in one run and one bucket:
        those are one piece without an ``UNNEST`` (which costs ~8× the arithmetic per row); only the
        others are spread over ranges of runs and buckets."""
        n = len(self.offsets)
        p = self.period
        t = t.mutate(_r0=self.run_of(t.su), _r1=self.run_of(t.eu - 1))
        t = t.mutate(_off0=self.offset(t._r0))
        t = t.mutate(_k0=(t.su + t._off0) // p, _k1=(t.eu - 1 + t._off0) // p)
        whole = (t._r0 == t._r1) & (t._k0 == t._k1)
        one = t.filter(whole)
        one = one.mutate(_ri=one._r0, ls=one.su + one._off0, le=one.eu + one._off0, off=one._off0, k=one._k0,
                         ov=one.eu - one.su, first=ibis.literal(1, "int8"))
        many = t.filter(~whole).drop("_k0", "_k1")
        many = many.mutate(_ri=ibis.range(many._r0, many._r1 + 1).unnest() if n > 1 else ibis.literal(0, "int64"))
        ps = self._pick(many._ri, [many.su] + [ibis.greatest(many.su, b) for b in self.bounds])
        pe = self._pick(many._ri, [ibis.least(many.eu, b) for b in self.bounds] + [many.eu])
        off = self.offset(many._ri)
        many = many.mutate(ls=ps + off, le=pe + off, off=off)
        many = many.mutate(_k0=many.ls // p, _k1=(many.le - 1) // p)
        many = many.mutate(k=ibis.range(many._k0, many._k1 + 1).unnest().cast("int64"))
        many = many.mutate(ov=ibis.least(many.le, (many.k + 1) * p) - ibis.greatest(many.ls, many.k * p),
                           first=flag((many._ri == many._r0) & (many.k == many._k0)))
        cols = [*t.columns, "_ri", "ls", "le", "off", "k", "ov", "first"]
        one = one.select(*cols)
        return one.union(many.select(*cols).cast(one.schema()), distinct=False)

    def offset(self, ri: ir.IntegerValue) -> ir.IntegerValue:
        """The UTC offset (µs) of offset run ``ri``."""
        return self._pick(ri, [ibis.literal(o, "int64") for o in self.offsets])

    def bucket_of(self, t: ir.IntegerValue) -> ir.IntegerValue:
        """Local bucket number of UTC instant ``t`` (µs)."""
        off = self.offset(self.run_of(t))
        return ((t + off) // self.period).cast("int64")

    def length_us(self, k: ir.IntegerValue) -> ir.IntegerValue:
        """Real µs that local bucket ``k`` lasts: Σ over runs of its overlap with the run's local span."""
        p = self.period
        lo, hi = k * p, (k + 1) * p
        total: ir.IntegerValue = ibis.literal(0, "int64")
        n = len(self.offsets)
        for i, off in enumerate(self.offsets):
            start = lo if i == 0 else ibis.greatest(lo, self.bounds[i - 1] + off)
            end = hi if i == n - 1 else ibis.least(hi, self.bounds[i] + off)
            total = total + ibis.greatest(end - start, 0)
        return total


class TrunkUtilisation(Template):
    name = "TrunkUtilisation"
    description = ("External lines in use per callRatePeriod bucket of local time: peak and mean concurrent "
                   "calls, utilisation of totalTrunks, talk traffic in Erlangs and the busy hour.")
    kind = "aggregate"
    key = ("start",)
    fields = (
        TemplateField("start", "timestamp", "Period start", local=True,
                      description="Local start of the bucket (callRatePeriod minutes)."),
        TemplateField("peakConcurrent", "int", "Peak concurrent",
                      description="Most external calls in progress at once at any instant of the bucket."),
        TemplateField("avgConcurrent", "float", "Mean concurrent",
                      description="Line-seconds occupied (ringing + talk) in the bucket ÷ the bucket's seconds."),
        TemplateField("utilisation", "float", "Utilisation",
                      description="avgConcurrent ÷ totalTrunks, 0–1; null when totalTrunks is 0 (unknown)."),
        TemplateField("erlangs", "float", "Talk traffic (E)",
                      description="Talk seconds of answered external segments inside the bucket ÷ the bucket's "
                                  "seconds."),
        TemplateField("busyHour", "flag", "Busy hour",
                      description="1 on the bucket with the most occupied line-seconds (earliest on a tie)."),
        TemplateField("occupiedSeconds", "float", "Occupied line-seconds", True, default_display=False,
                      description="Σ over external calls of their seconds inside the bucket."),
        TemplateField("talkSeconds", "float", "Talk seconds", True, default_display=False,
                      description="Σ over answered external segments of their talk seconds inside the bucket."),
        TemplateField("bucketSeconds", "float", "Bucket seconds", default_display=False,
                      description="Real length of the bucket (differs from callRatePeriod on DST days)."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        period_us = int(req.request.callRatePeriod) * 60 * _US
        lb = LocalBuckets(ctx, period_us)
        spans = calls_of(segments, ctx, line_spans, table="call_lines")
        spans = spans.filter(spans.eu > spans.su)
        ext = external_segments(segments, ctx.functions)
        talking = ext.filter(ext.ans == 1)
        talk = talking.select(su=talking._su + (talking.ring * _US).round().cast("int64"), eu=talking._eu)
        talk = talk.filter(talk.eu > talk.su)

        occ = lb.pieces(spans)
        talk_p = lb.pieces(talk)
        # per bucket: occupied µs, and the most calls already in progress where one of its pieces
        # begins (a bucket has two pieces on the day the clocks go back)
        per_piece = occ.group_by(["k", "_ri"]).aggregate(_occ=occ.ov.sum(), _carried=count_where(occ, occ.first == 0))
        occupied = per_piece.group_by("k").aggregate(_occ=per_piece._occ.sum(), _carried=per_piece._carried.max())
        talked = talk_p.group_by("k").aggregate(_talk=talk_p.ov.sum())

        # the level at each call start, from one sweep of +1 at starts and −1 at ends ordered by
        # (time, delta); a bucket's peak is the higher of that at its starts and of the calls carried
        # into it, so no marker events where buckets begin. `occ` and `occupied` are read once each:
        # DuckDB inlines a relation without an aggregate at each use and would cut the pieces again
        starts = spans.select(t=spans.su, d=ibis.literal(1, "int8"))
        ends = spans.select(t=spans.eu, d=ibis.literal(-1, "int8"))
        events = starts.union(ends, distinct=False)
        swept = events.mutate(level=events.d.sum().over(ibis.window(order_by=[events.t, events.d], rows=(None, 0))))
        at_starts = swept.filter(swept.d == 1)
        # the start's bucket after the sweep, not carried through its sort
        rises = at_starts.group_by(k=lb.bucket_of(at_starts.t)).aggregate(_rise=at_starts.level.max())

        j = occupied.left_join(talked, "k").select(occupied.k, occupied._occ, occupied._carried, talked._talk)
        j = j.left_join(rises, "k").select(j.k, j._occ, j._talk,
                                           _peak=ibis.greatest(j._carried, ibis.coalesce(rises._rise, 0)))
        length = lb.length_us(j.k).cast("float64")
        occ_s = j._occ.cast("float64") / _US
        talk_s = ibis.coalesce(j._talk, 0).cast("float64") / _US
        avg = j._occ.cast("float64") / length
        trunks = int(req.request.totalTrunks)
        busiest = ibis.row_number().over(ibis.window(order_by=[ibis.desc(j._occ), j.k]))
        return j.select(
            start=(j.k * (period_us // _US)).as_timestamp("s"),
            peakConcurrent=ibis.coalesce(j._peak, 0).cast("int64"),
            avgConcurrent=avg,
            utilisation=avg / trunks if trunks else ibis.null("float64"),
            erlangs=ibis.coalesce(j._talk, 0).cast("float64") / length,
            busyHour=flag(busiest == 0),
            occupiedSeconds=occ_s,
            talkSeconds=talk_s,
            bucketSeconds=length / _US,
        )
