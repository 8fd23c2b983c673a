"""Every callboard report template as a Webex report template (SPEC §3, §4.2).

Webex clients address templates by a numeric ``Id`` and show a ``title``; they store the id in
scripts and configuration, so ids must never change or be reused. :data:`WEBEX_TEMPLATE_IDS` is the
fixed table (documented in ``docs/webex.md``). A template added to the report registry later and
not yet listed here still gets a stable id: ``100000 + crc32(name) mod 900000``, a pure function of
its name, outside the range of the fixed table (so it cannot collide with it; collisions among
derived ids are checked when the catalogue is built and by the tests). Adding it to the table
afterwards must keep that derived id.

``maxDays`` bounds the date range of one report: 31 days for templates with one row per segment or
per call (a month of a large organisation is already millions of rows, and Webex's own detailed
call history allows 31 days on Standard), 92 days for the per-caller and concurrency templates
(their cost grows with the calls examined), 366 days for aggregates (a year of rows is small).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from callboard.reports.templates import TEMPLATES

SERVICE = "Webex Calling"
IDENTIFIER = "orgWithDate"  # the whole organisation (tenant), for a date range
VALIDATIONS: tuple[dict[str, str], ...] = (
    {"field": "templateId", "required": "yes"},
    {"field": "startDate", "required": "yes"},
    {"field": "endDate", "required": "yes"},
)
DERIVED_ID_BASE = 100_000
DERIVED_ID_SPAN = 900_000


@dataclass(frozen=True)
class IdEntry:
    id: int
    title: str
    max_days: int


# template name → (Webex id, title, maxDays). Append only: never change or reuse an id.
WEBEX_TEMPLATE_IDS: dict[str, IdEntry] = {
    "CallingDetailedCallHistory": IdEntry(100, "Calling Detailed Call History", 31),
    "CallListByUserSegmented": IdEntry(101, "Call List By User Segmented", 31),
    "CallList": IdEntry(102, "Call List", 31),
    "CallSummaryByUser": IdEntry(103, "Call Summary By User", 366),
    "CallSummaryByHuntGroup": IdEntry(104, "Call Summary By Hunt Group", 366),
    "CallsByStartTime": IdEntry(105, "Calls By Start Time", 366),
    "CallsByHourOfDay": IdEntry(106, "Calls By Hour Of Day", 366),
    "CallsByDayOfWeek": IdEntry(107, "Calls By Day Of Week", 366),
    "CallsByDate": IdEntry(108, "Calls By Date", 366),
    "RingTimeDistribution": IdEntry(109, "Ring Time Distribution", 366),
    "CallDurationDistribution": IdEntry(110, "Call Duration Distribution", 366),
    "UnreturnedLostCalls": IdEntry(111, "Unreturned Lost Calls", 92),
    "LostCallRevenue": IdEntry(112, "Lost Call Revenue", 366),
    "TrunkUtilisation": IdEntry(113, "Trunk Utilisation", 92),
    "CallsByAccountCode": IdEntry(114, "Calls By Account Code", 366),
    # 130 is the id the Webex partner API documents for Calling Usage; clients may have it hard-coded.
    "CallingUsage": IdEntry(130, "Calling Usage", 366),
}
DEFAULT_MAX_DAYS = 31


@dataclass(frozen=True)
class WebexTemplate:
    """One entry of ``GET /v1/report/templates``."""

    id: int
    name: str  # the callboard template (``reportTemplateName``)
    title: str
    max_days: int
    service: str = SERVICE
    identifier: str = IDENTIFIER

    def org_item(self, start: date | None, end: date | None) -> dict[str, Any]:
        """The org-family shape (``Id`` with a capital I, as wxc_sdk and the real service use)."""
        return {
            "Id": self.id,
            "title": self.title,
            "service": self.service,
            "maxDays": self.max_days,
            "startDate": _iso(start),
            "endDate": _iso(end),
            "identifier": self.identifier,
            "validations": [dict(v) for v in VALIDATIONS],
        }

    def partner_item(self, start: date | None, end: date | None) -> dict[str, Any]:
        """The partner-family shape (``templateId``, ``dataStartDate``/``dataEndDate``)."""
        return {
            "templateId": self.id,
            "title": self.title,
            "service": self.service,
            "category": "Partner",
            "maxDays": self.max_days,
            "dataStartDate": _iso(start),
            "dataEndDate": _iso(end),
            "identifier": self.identifier,
            "validations": [dict(v) for v in VALIDATIONS],
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def derived_id(name: str) -> int:
    """The stable id of a template missing from the fixed table (a pure function of its name)."""
    return DERIVED_ID_BASE + zlib.crc32(name.encode("utf-8")) % DERIVED_ID_SPAN


def title_of(name: str, registry_title: str | None = None) -> str:
    """A template's Webex title: the fixed table's, else the registry's, else its name in words."""
    entry = WEBEX_TEMPLATE_IDS.get(name)
    if entry is not None:
        return entry.title
    if registry_title:
        return registry_title
    return " ".join(re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b)|[A-Z]?[a-z]+|\d+", name)) or name


def build_catalogue(names: Iterable[tuple[str, str | None]]) -> list[WebexTemplate]:
    """Webex templates for the report templates' ``(name, title)`` pairs, ordered by id.

    Raises ``RuntimeError`` if two templates would share an id: serving either would silently
    answer for the other, which is worse than refusing to start.
    """
    out: dict[int, WebexTemplate] = {}
    for name, registry_title in names:
        entry = WEBEX_TEMPLATE_IDS.get(name)
        tid = entry.id if entry is not None else derived_id(name)
        max_days = entry.max_days if entry is not None else DEFAULT_MAX_DAYS
        if tid in out:
            raise RuntimeError(f"Webex template id {tid} of {name!r} is already used by {out[tid].name!r}")
        out[tid] = WebexTemplate(tid, name, title_of(name, registry_title), max_days)
    return [out[k] for k in sorted(out)]


def report_templates() -> list[tuple[str, str | None]]:
    """``(name, title)`` of every report template (``callboard.reports.templates``)."""
    pairs: list[tuple[str, str | None]] = []
    for name, template in TEMPLATES.items():
        title = getattr(template, "title", None)
        pairs.append((str(name), title if isinstance(title, str) else None))
    return pairs


def catalogue() -> list[WebexTemplate]:
    """The Webex templates of every report template (ordered by id)."""
    return build_catalogue(report_templates())


def by_id(template_id: int) -> WebexTemplate | None:
    return next((t for t in catalogue() if t.id == template_id), None)
