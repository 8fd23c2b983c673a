"""``CallListByUserSegmented``: one row per stored segment, every field of SPEC §1 plus the derived
ones -- the seed-000 report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis.expr.types as ir

from callboard.reports.templates.base import SEGMENT_FIELDS, BuildContext, Template, TemplateField

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest

# The seed's default column order: its displayFields list, then the rest of SPEC §1.
_SEED_ORDER = ("connId", "start", "userName", "userNum", "cli", "cliName", "hgNum", "callType", "callDir",
               "ans", "ref", "lost", "ring", "duration", "calledUserNum", "calledUserName", "callUserName",
               "callUserNum", "hgName")


def _ordered() -> tuple[TemplateField, ...]:
    by_name = {f.name: f for f in SEGMENT_FIELDS}
    first = [by_name[n] for n in _SEED_ORDER]
    rest = [f for f in SEGMENT_FIELDS if f.name not in _SEED_ORDER]
    return (*first, *rest)


class CallListByUserSegmented(Template):
    name = "CallListByUserSegmented"
    description = "One row per call segment (one leg of a call as seen by one user, extension or group)."
    kind = "segment"
    fields = _ordered()
    key = ("docId",)

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        return segments
