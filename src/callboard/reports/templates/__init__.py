"""Report templates (SPEC §3) and their registry.

Adding a template is one new module defining a :class:`Template` subclass plus one line in
``_REGISTERED`` below; shared building blocks live in :mod:`.helpers`.
"""

from __future__ import annotations

from typing import Any

from callboard.reports.templates.base import (
    SEGMENT_FIELDS,
    BuildContext,
    Template,
    TemplateField,
    segment_field,
)
from callboard.reports.templates.by_time import (
    CallsByDate,
    CallsByDayOfWeek,
    CallsByHourOfDay,
    CallsByStartTime,
)
from callboard.reports.templates.call_list import CallList
from callboard.reports.templates.segmented import CallListByUserSegmented
from callboard.reports.templates.summaries import CallSummaryByHuntGroup, CallSummaryByUser

_REGISTERED: tuple[Template, ...] = (
    CallListByUserSegmented(),
    CallList(),
    CallSummaryByUser(),
    CallSummaryByHuntGroup(),
    CallsByStartTime(),
    CallsByHourOfDay(),
    CallsByDayOfWeek(),
    CallsByDate(),
)

TEMPLATES: dict[str, Template] = {t.name: t for t in _REGISTERED}


def catalogue() -> list[dict[str, Any]]:
    """The template and field catalogue published at ``GET /templates``."""
    return [t.as_dict() for t in TEMPLATES.values()]


__all__ = ["SEGMENT_FIELDS", "TEMPLATES", "BuildContext", "Template", "TemplateField", "catalogue",
           "segment_field"]
