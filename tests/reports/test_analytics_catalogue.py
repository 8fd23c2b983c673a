"""The analytics templates (and the summaries, whose figures docs/templates.md defines too) are in the
published catalogue with their fields, and docs/templates.md defines each of them and names every field."""

from __future__ import annotations

import re
from pathlib import Path

from callboard.reports.templates import TEMPLATES, catalogue

ANALYTICS = {
    # the summaries' figures are defined there too (the rest of the summaries in docs/reports.md)
    "CallSummaryByHuntGroup": {"calls", "ans", "ref", "lost", "ring", "avgRing", "maxRing", "answerRate",
                               "serviceLevel", "legRing", "avgLegRing", "maxLegRing", "legServiceLevel"},
    "CallSummaryByUser": {"calls", "ans", "ref", "lost", "answeredElsewhere", "answerRate", "answerRateAllRings",
                          "serviceLevel"},
    "RingTimeDistribution": {"upTo", "answered", "lost", "cumulativeAnswered", "serviceLevel"},
    "CallDurationDistribution": {"calls", "share"},
    "UnreturnedLostCalls": {"cli", "attempts", "firstAttempt", "lastAttempt", "returned", "returnedAt",
                            "timeToReturn"},
    "LostCallRevenue": {"hgNum", "lostCalls", "unreturned", "estimatedRevenueLost"},
    "TrunkUtilisation": {"peakConcurrent", "avgConcurrent", "utilisation", "erlangs", "busyHour"},
    "CallsByAccountCode": {"accountCode", "label", "calls", "ans", "duration"},
    "CallingUsage": {"userNum", "incoming", "outgoing", "internal", "incomingMinutes", "outgoingMinutes",
                     "totalMinutes"},
    "CallingDetailedCallHistory": {"Start time", "Answer time", "Duration", "Ring duration", "Answered",
                                   "Direction", "Calling number", "Called number", "User", "User number",
                                   "Call type", "Correlation ID", "Report ID"},
}
DOC = Path(__file__).resolve().parents[2] / "docs" / "templates.md"


def test_catalogue_lists_the_analytics_templates_and_their_fields() -> None:
    published = {t["name"]: t for t in catalogue()}
    for name, required in ANALYTICS.items():
        fields = {f["name"] for f in published[name]["fields"]}
        assert required <= fields, (name, required - fields)
        assert all(f["title"] and f["description"] for f in published[name]["fields"]), name


def test_docs_define_every_analytics_template_and_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M))
    for name in ANALYTICS:
        assert name in sections, name
        for f in TEMPLATES[name].fields:
            assert f"`{f.name}`" in sections[name], (name, f.name)
