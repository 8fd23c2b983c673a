"""The few expressions whose best (or only) spelling differs between engines.

Everything else in a report is portable Ibis. These are not, because the portable spelling is
either inexact or much slower on some engine:

* integer microseconds since the epoch (``epoch_seconds`` truncates to whole seconds on Spark);
* "the value of the row with the smallest key" in one hash aggregation (order-sensitive aggregates
  such as ``first(order_by=…)`` do not compile on Spark, and sort every group on DuckDB).

:class:`EngineFunctions` holds the portable spellings; each warehouse class supplies a subclass with
its engine's own functions (``callboard.warehouse``), and templates reach them as
``BuildContext.functions``, so no template ever asks which engine it runs on.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


class EngineFunctions:
    """Portable spellings (any Ibis backend); engines override what they can do better."""

    def epoch_us(self, ts: ir.TimestampValue) -> ir.IntegerValue:
        """Integer microseconds since 1970 of a naive timestamp."""
        return ts.epoch_seconds().cast("int64") * 1_000_000

    def seconds_between(self, a: ir.TimestampValue, b: ir.TimestampValue) -> ir.FloatingValue:
        """``b - a`` in (fractional) seconds."""
        return (self.epoch_us(b) - self.epoch_us(a)).cast("float64") / 1_000_000

    def first_by(self, value: ir.StructValue, key: ir.StructValue,
                 where: ir.BooleanValue | None = None) -> ir.StructValue:
        """The struct ``value`` of the row with the smallest ``key`` (a struct, compared member by
        member; ``where`` restricts the rows; null when no row qualifies) -- an aggregate.

        ``value`` is a struct so null members survive (the engines' arg-min functions skip null
        arguments, never a non-null struct)."""
        return value.argmin(key, where=where)

    def first_value_by(self, value: ir.Value, key: ir.StructValue,
                       where: ir.BooleanValue | None = None) -> ir.Value:
        """:meth:`first_by` for one value (a null value on the first row is the answer)."""
        return self.first_by(ibis.struct({"v": value}), key, where=where)["v"]

    def last_by(self, value: ir.StructValue, key: ir.StructValue) -> ir.StructValue:
        """The struct ``value`` of the row with the largest ``key`` -- the arg-max twin of
        :meth:`first_by`."""
        return value.argmax(key)


PORTABLE = EngineFunctions()
