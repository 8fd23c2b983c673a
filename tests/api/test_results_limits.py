"""Values at the edges (huge numbers, foreign bytes, unknown media types, far dates) get a clear 4xx,
never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import ADMIN, Api, V, check_error


@pytest.fixture
def env(api: Api) -> dict[str, Any]:
    tenant, token = api.tenant()
    ws = api.workspace(token)
    report = api.report(token, ws)
    rid = api.request(token, ws, report)
    return {"tenant": tenant, "token": token, "ws": ws, "report": report, "rid": rid, "h": api.auth(token)}


def test_numbers_beyond_64_bits_are_refused(api: Api, env: dict[str, Any]) -> None:
    ws, h = env["ws"], env["h"]
    check_error(api.client.post(f"{V}/workspaces/{ws}/requests", headers=h,
                                json={"reportTemplateName": "CallList", "rowLimit": 1e20}), 400, "rowLimit")
    check_error(api.client.post(f"{V}/workspaces/{ws}/requests", headers=h, json={
        "reportTemplateName": "CallList",
        "filterConditions": [{"fieldName": "callDir", "operator": "=", "values": [10**30]}]}),
        400, "64-bit")
    url = f"{V}/workspaces/{ws}/reports/{env['report']}/requests/{env['rid']}/data"
    r = api.client.get(url, params={"page": "99999999999999999999"}, headers=h)
    assert 400 <= r.status_code < 500 and "page" in r.text
    r = api.client.get(url, params={"pageSize": "99999999999999999999"}, headers=h)
    assert 400 <= r.status_code < 500 and "pageSize" in r.text


def test_unknown_country_is_refused(api: Api, env: dict[str, Any]) -> None:
    check_error(api.client.post(f"{V}/workspaces/{env['ws']}/requests", headers=env["h"],
                                json={"reportTemplateName": "UnreturnedLostCalls", "countryCode": "ZZZ"}),
                400, "countryCode", "unknown country")


def test_token_lifetime_has_a_ceiling(api: Api, env: dict[str, Any]) -> None:
    r = api.client.post(f"{V}/tenants/{env['tenant']}/tokens", headers=api.auth(ADMIN),
                        json={"scopes": ["reports:read"], "expiresIn": 10**15})
    check_error(r, 400, "expiresIn")


def test_ingest_refuses_an_unknown_media_type_and_non_utf8_csv(api: Api, env: dict[str, Any]) -> None:
    url = f"{V}/workspaces/{env['ws']}/calls"
    r = api.client.post(url, content=b"<calls/>", headers={**env["h"], "Content-Type": "application/xml"})
    check_error(r, 415, "application/xml", "text/csv")
    r = api.client.post(url, content=b"start,userNum\n2025-01-01T00:00:00Z,\xff\xfe\x80\n",
                        headers={**env["h"], "Content-Type": "text/csv"})
    assert r.status_code in (400, 422), r.text
    assert "UTF-8" in r.text


def test_webex_far_dates_and_huge_template_ids(api: Api, env: dict[str, Any]) -> None:
    h = api.auth(api.token(env["tenant"], ["spark-admin:reports_write", "spark-admin:reports_read",
                                           "identity:people_read"]))
    r = api.client.post("/v1/reports", headers=h,
                        json={"templateId": 100, "startDate": "9999-12-01", "endDate": "9999-12-31"})
    assert r.status_code == 400 and "between 1900-01-01 and 2999-12-31" in r.text
    r = api.client.get("/v1/reports", params={"templateId": "99999999999999999999"}, headers=h)
    assert r.status_code == 400 and "templateId" in r.text


def test_saved_report_defaults_cannot_name_another_template(api: Api, env: dict[str, Any]) -> None:
    r = api.client.post(f"{V}/workspaces/{env['ws']}/reports", headers=env["h"], json={
        "name": "mixed", "reportTemplateName": "CallList",
        "defaults": {"reportTemplateName": "CallSummaryByUser"}})
    check_error(r, 400, "contradicts")
