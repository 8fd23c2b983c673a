"""The template framework: a template declares its field catalogue and builds one Ibis expression
over the workspace's (already filtered) segments.

Conventions every template follows, so the runner can treat them alike:

* timestamps a template outputs are naive **UTC** unless the field is declared ``local=True`` (a
  bucket computed in local time); the runner turns UTC ones into local wall time of the request's
  ``timeZoneId`` in the engine, with one ``CASE`` branch per UTC-offset run;
* a ``string`` field the template outputs as a timestamp (``startUtc``) is written as ISO 8601 UTC
  with ``Z``;
* a ``call`` template's ``children`` column is a list of structs whose first member is a sort key
  (engines cannot all order a ``collect``), dropped by the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir

from callboard.calls.functions import EngineFunctions
from callboard.calls.schema import CALL_FIELDS, DERIVED_FIELDS

if TYPE_CHECKING:
    # for annotations only: the request module validates requests against the templates' fields,
    # so it imports them; templates never need it at run time
    from callboard.reports.request import ResolvedRequest

TemplateKind = Literal["segment", "call", "aggregate"]


@dataclass(frozen=True)
class TemplateField:
    """One column of a template's output, as published in the field catalogue."""

    name: str
    type: str  # string | timestamp | float | int | flag | date | list
    title: str
    additive: bool = False
    default_display: bool = True
    description: str = ""
    local: bool = False  # the engine already computes this timestamp in local time

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "title": self.title, "additive": self.additive,
                "defaultDisplay": self.default_display, "description": self.description}


# The segment fields every filter may name and every segment-level template can show: SPEC §1 plus
# the derived ones.
SEGMENT_FIELDS: tuple[TemplateField, ...] = tuple(
    TemplateField(f.name, f.type, f.title, f.additive, f.default_display, f.description)
    for f in CALL_FIELDS
) + tuple(
    TemplateField(f.name, f.type, f.title, f.additive, False, f.description) for f in DERIVED_FIELDS
)
_SEGMENT_BY_NAME = {f.name: f for f in SEGMENT_FIELDS}


def segment_field(name: str) -> TemplateField | None:
    return _SEGMENT_BY_NAME.get(name)


@dataclass(frozen=True)
class StoredCalls:
    """The workspace's stored call rollups (:mod:`callboard.calls.rollups`), given to a
    template when the request's segment-stage filters are its period alone: ``table(name)`` is the
    workspace's rows of one stored table, ``lo``/``hi`` are the period's bounds (None: no period)
    and ``after`` the end of the template's look past it.

    ``cut``: the names (``"lo"``, ``"hi"``, ``"after"``) of the bounds that some stored call spans,
    found by a query just before, in the report's transaction; None when not known (every bound
    may cut calls)."""

    table: Callable[[str], ir.Table]
    lo: ir.TimestampValue | None
    hi: ir.TimestampValue | None
    after: ir.TimestampValue | None = None
    cut: frozenset[str] | None = None

    def bounds(self) -> dict[str, ir.TimestampValue]:
        """The bounds that are set, by name."""
        named = {"lo": self.lo, "hi": self.hi, "after": self.after}
        return {k: v for k, v in named.items() if v is not None}

    def may_cut(self, name: str) -> bool:
        """Whether calls may span bound ``name`` (then their segments on each side are rolled up)."""
        return self.cut is None or name in self.cut


@dataclass(frozen=True)
class BuildContext:
    """Engine facts a template needs beyond the request: the engine's spelling of the few
    expressions that differ by engine (``functions``), the UTC-offset runs of ``timeZoneId`` over
    the data's time span (naive UTC bounds), and the stored call rollups when the request may read
    its calls from them (:func:`helpers.calls_of`)."""

    functions: EngineFunctions
    offsets: tuple[tuple[datetime, datetime, int], ...]
    stored: StoredCalls | None = None

    @classmethod
    def create(cls, functions: EngineFunctions, runs: list[tuple[datetime, datetime, int]],
               stored: StoredCalls | None = None) -> BuildContext:
        naive = tuple((a.astimezone(UTC).replace(tzinfo=None), b.astimezone(UTC).replace(tzinfo=None), o)
                      for a, b, o in runs)
        return cls(functions=functions, offsets=naive or ((datetime.min, datetime.max, 0),), stored=stored)

    def local(self, ts: ir.TimestampValue) -> ir.TimestampValue:
        """Local wall time of a naive-UTC timestamp: ``ts + offset`` chosen by a short ``CASE``
        (one branch per offset run) -- no per-row time-zone library, so every engine can do it."""
        runs = self.offsets
        last = runs[-1][2]
        if len(runs) == 1:
            return ts + ibis.interval(seconds=last) if last else ts
        branches = [(ts < ibis.timestamp(to), ts + ibis.interval(seconds=off)) for _, to, off in runs[:-1]]
        return ibis.cases(*branches, else_=ts + ibis.interval(seconds=last))


class Template:
    """A report template. Subclasses set the class attributes and implement :meth:`build`."""

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[TemplateKind]
    fields: ClassVar[tuple[TemplateField, ...]]
    # Result columns that make the sort total (ties broken the same way on every engine).
    key: ClassVar[tuple[str, ...]] = ("docId",)

    def field(self, name: str) -> TemplateField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        """The template's rows from filtered segments (see :func:`callboard.calls.rollups.segment_view`)."""
        raise NotImplementedError

    def lookahead_seconds(self, req: ResolvedRequest) -> float:
        """How long after the period's end the template also reads segments (0: not at all). When
        positive and the request has a period, :meth:`build` receives those segments too, after
        the same filters, with a boolean column ``_inPeriod`` telling the period's apart."""
        return 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "kind": self.kind,
                "fields": [f.as_dict() for f in self.fields]}
