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
from callboard.reports.templates.distributions import CallDurationDistribution, RingTimeDistribution
from callboard.reports.templates.lost_calls import LostCallRevenue, UnreturnedLostCalls
from callboard.reports.templates.segmented import CallListByUserSegmented
from callboard.reports.templates.summaries import CallSummaryByHuntGroup, CallSummaryByUser
from callboard.reports.templates.trunks import TrunkUtilisation
from callboard.reports.templates.usage import CallingUsage, CallsByAccountCode
from callboard.reports.templates.webex_history import CallingDetailedCallHistory

_REGISTERED: tuple[Template, ...] = (
    CallListByUserSegmented(),
    CallList(),
    CallSummaryByUser(),
    CallSummaryByHuntGroup(),
    CallsByStartTime(),
    CallsByHourOfDay(),
    CallsByDayOfWeek(),
    CallsByDate(),
    RingTimeDistribution(),
    CallDurationDistribution(),
    UnreturnedLostCalls(),
    LostCallRevenue(),
    TrunkUtilisation(),
    CallsByAccountCode(),
    CallingUsage(),
    CallingDetailedCallHistory(),
)

TEMPLATES: dict[str, Template] = {t.name: t for t in _REGISTERED}


def catalogue() -> list[dict[str, Any]]:
    """The template and field catalogue published at ``GET /templates``."""
    return [t.as_dict() for t in TEMPLATES.values()]


__all__ = ["SEGMENT_FIELDS", "TEMPLATES", "BuildContext", "Template", "TemplateField", "catalogue",
           "segment_field"]
