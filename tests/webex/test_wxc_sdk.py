"""The real wxc_sdk (installed, unmodified) against a live callboard: its base URL is the only thing
changed (``RestSession.BASE`` is a class variable, so a subclass points it at our server)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from wxc_sdk import WebexSimpleApi
from wxc_sdk.reports import CallingCDR, Report, ReportTemplate
from wxc_sdk.rest import RestError, RestSession
from wxc_sdk.tokens import Tokens

from callboard.webex.service import CreateSpec, request_body
from callboard.webex.templates import WEBEX_TEMPLATE_IDS, catalogue
from tests.support.webex import results_rows
from tests.support.webex_live import Live

START, END = date(2025, 3, 3), date(2025, 3, 9)


def sdk(live: Live, who: str = "webex") -> WebexSimpleApi:
    token = live.tokens[who]
    session_class = type("CallboardSession", (RestSession,), {"BASE": live.url("/v1")})
    session = session_class(tokens=Tokens(access_token=token), concurrent_requests=4, retry_429=False)
    return WebexSimpleApi(tokens=token, session=session)


def run_through_sdk(api: WebexSimpleApi, title: str, **create: Any) -> tuple[ReportTemplate, Report, list[dict]]:
    """List templates, create a report, poll details until done, find it in the list, download it."""
    templates = api.reports.list_templates()
    template = next(t for t in templates if t.title == title)
    assert template.start_date == START and template.end_date == END
    report_id = api.reports.create(template_id=template.id, start_date=START, end_date=END, **create)
    deadline = time.monotonic() + 90
    while (details := api.reports.details(report_id)).status == "In progress":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert details.status == "done", details
    assert details.id == report_id and details.title == title and details.service == "Webex Calling"
    assert (details.start_date, details.end_date) == (START, END)
    assert details.created is not None and details.download_url and details.schedule_from == "api"
    listed = list(api.reports.list(template_id=str(template.id)))
    assert report_id in {r.id for r in listed}
    assert [r.id for r in api.reports.list(report_id=report_id)] == [report_id]
    rows = list(api.reports.download(url=details.download_url))
    return template, details, rows


def _template_name(title: str) -> str:
    return next(t.name for t in catalogue() if t.title == title)


def catalogue_fields(live: Live, template: str) -> list[dict[str, Any]]:
    """The field list of one template from the Results API catalogue (``{data, count}``)."""
    r = live.get("/api/v1.0/templates", who="native")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["count"] == len(doc["data"])
    return list(next(t for t in doc["data"] if t["name"] == template)["fields"])


def _same_rows(live: Live, template_name: str, time_zone: str, csv_rows: list[dict[str, str]]) -> None:
    """The CSV rows are the Results API's rows for the same request: same order, same values."""
    webex_template = next(t for t in catalogue() if t.name == template_name)
    spec = CreateSpec(webex_template, START, END, time_zone, "", "US", None)
    doc, data = results_rows(live, request_body(spec))
    assert doc["rowLimitExceeded"] is False
    titles = {f["name"]: f["title"] for f in catalogue_fields(live, template_name)}
    assert len(csv_rows) == len(data) == doc["totalCount"] > 0
    for row, expected in zip(csv_rows, data, strict=True):
        for name, value in expected.items():
            if name == "children":
                continue
            cell = row[titles[name]]
            assert _same_value(cell, value), (name, cell, value)
        shown = {titles[n] for n in expected}
        assert all(v == "" for k, v in row.items() if k not in shown), row  # nulls are empty cells


def _same_value(cell: str, value: Any) -> bool:
    """A CSV cell against a JSON value: numbers by value (CSV writes 25.0 as 25), text exactly."""
    if isinstance(value, bool):
        return cell.lower() in ("true", "1") if value else cell.lower() in ("false", "0")
    if isinstance(value, int | float):
        return float(cell) == float(value)
    return cell == str(value)


def test_wxc_sdk_call_list_round_trip_matches_the_results_api(live: Live) -> None:
    api = sdk(live)
    template, _, rows = run_through_sdk(api, "Call List", time_zone="Europe/Paris")
    assert template.id == WEBEX_TEMPLATE_IDS["CallList"].id and template.max_days == 31
    assert template.validations and {v.field for v in template.validations} >= {"templateId", "startDate"}
    _same_rows(live, "CallList", "Europe/Paris", rows)


def test_wxc_sdk_calling_detailed_call_history_parses_as_calling_cdr(live: Live) -> None:
    api = sdk(live)
    _, _, rows = run_through_sdk(api, "Calling Detailed Call History")
    cdrs = list(CallingCDR.from_dicts(rows))
    assert len(cdrs) == len(rows) > 0
    for cdr in cdrs:
        assert cdr.start_time is not None and cdr.start_time.tzinfo is not None
        assert cdr.duration is not None and cdr.correlation_id and cdr.report_id
        assert cdr.answered in (True, False)
    assert len({c.report_id for c in cdrs}) == len(cdrs)
    _same_rows(live, "CallingDetailedCallHistory", "UTC", rows)


def test_wxc_sdk_sees_errors_as_rest_errors(live: Live) -> None:
    api = sdk(live)
    with pytest.raises(RestError) as bad:
        api.reports.create(template_id=WEBEX_TEMPLATE_IDS["CallList"].id, start_date=date(2025, 1, 1),
                           end_date=END)
    assert bad.value.response.status_code == 400 and "maxDays" in bad.value.response.text
    with pytest.raises(RestError) as missing:
        api.reports.details("Y2lzY29zcGFyazovL3VybjpURUFNOmNhbGxib2FyZC9SRVBPUlQvMDA")
    assert missing.value.response.status_code == 404
    report_id = api.reports.create(template_id=WEBEX_TEMPLATE_IDS["CallsByDate"].id, start_date=START, end_date=END)
    api.reports.delete(report_id)
    assert report_id not in {r.id for r in api.reports.list()}
