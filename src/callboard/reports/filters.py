"""The filter operators of ``filterConditions``, declared once: what each takes (validated at
submission by :mod:`callboard.reports.request`) and the predicate it becomes in the engine
(:func:`apply`). Adding an operator is one row here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import ibis.expr.types as ir

Arity = Literal["none", "one", "two", "many"]


class _Condition(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def operator(self) -> str: ...
    @property
    def values(self) -> tuple[Any, ...]: ...


@dataclass(frozen=True)
class Operator:
    """One filter operator: ``arity`` (how many values), ``text_only`` (applies to string fields
    only) and ``predicate(column, values)``."""

    name: str
    arity: Arity
    predicate: Callable[[Any, tuple[Any, ...]], ir.BooleanValue]
    text_only: bool = False

    def arity_error(self, n: int) -> str | None:
        """Why ``n`` values do not fit this operator (None: they do)."""
        if self.arity == "none" and n:
            return f"operator {self.name!r} takes no values, got {n}"
        if self.arity == "one" and n != 1:
            return f"operator {self.name!r} takes exactly 1 value, got {n}"
        if self.arity == "two" and n != 2:
            return f"operator {self.name!r} takes exactly 2 values, got {n}"
        if self.arity == "many" and n < 1:
            return f"operator {self.name!r} takes at least 1 value"
        return None


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("=", "one", lambda c, v: c == v[0]),
    # SQL's != drops nulls; "not equal to X" should keep rows where the field is empty
    Operator("!=", "one", lambda c, v: c.isnull() | (c != v[0])),
    Operator("<", "one", lambda c, v: c < v[0]),
    Operator("<=", "one", lambda c, v: c <= v[0]),
    Operator(">", "one", lambda c, v: c > v[0]),
    Operator(">=", "one", lambda c, v: c >= v[0]),
    Operator("in", "many", lambda c, v: c.isin(list(v))),
    Operator("notIn", "many", lambda c, v: c.isnull() | c.notin(list(v))),
    Operator("between", "two", lambda c, v: (c >= v[0]) & (c <= v[1])),
    Operator("contains", "one", lambda c, v: c.contains(v[0]), text_only=True),
    Operator("startsWith", "one", lambda c, v: c.startswith(v[0]), text_only=True),
    Operator("endsWith", "one", lambda c, v: c.endswith(v[0]), text_only=True),
    Operator("isNull", "none", lambda c, v: c.isnull()),
    Operator("isNotNull", "none", lambda c, v: c.notnull()),
)}


def predicate(t: ir.Table, cond: _Condition) -> ir.BooleanValue:
    """One filter condition on ``t`` as an Ibis predicate."""
    return OPERATORS[cond.operator].predicate(t[cond.field], cond.values)


def apply(t: ir.Table, conditions: Sequence[_Condition]) -> ir.Table:
    """``t`` restricted by every condition."""
    preds = [predicate(t, c) for c in conditions]
    return t.filter(*preds) if preds else t
