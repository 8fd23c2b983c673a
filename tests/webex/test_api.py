"""The Webex-compatible Reports API over HTTP against a live server: shapes, validation, paging,
tenancy, the rendered file and every error code of the routes and the download link."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from callboard.webex import ids
from callboard.webex.signing import Signer, load_secret
from callboard.webex.templates import WEBEX_TEMPLATE_IDS
from tests.support.webex import PARTNER_FIELDS, csv_rows, request_of, unzip_csv, wait_partner, wait_request
from tests.support.webex_live import ADMIN, Live, setup_org, start_server, stop_server

CALL_LIST = WEBEX_TEMPLATE_IDS["CallList"].id
SUMMARY = WEBEX_TEMPLATE_IDS["CallSummaryByUser"].id
WEEK = {"startDate": "2025-03-03", "endDate": "2025-03-09"}


def assert_error(r: requests.Response, status: int, *words: str) -> dict[str, Any]:
    """The Webex error body with ``status``, naming every word given."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) >= {"message", "errors", "trackingId"}, body
    assert body["errors"] and all("description" in e for e in body["errors"])
    assert body["trackingId"] and r.headers.get("TrackingID") == body["trackingId"]
    text = (body["message"] + " " + " ".join(e["description"] for e in body["errors"])).lower()
    for w in words:
        assert w.lower() in text, (w, body)
    return body


def create_partner(live: Live, template: int = CALL_LIST, **extra: Any) -> str:
    r = live.post("/v1/partner/reports", json={"templateId": template, **WEEK, **extra})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"reportId", "createdTime"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", body["createdTime"])
    return str(body["reportId"])


# ---- templates ----------------------------------------------------------------------------------
def test_org_templates_list_every_template_with_its_stable_id_and_the_data_range(live: Live) -> None:
    r = live.get("/v1/report/templates")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberOfTemplate"] == len(doc["items"]) > 0
    by_id = {t["Id"]: t for t in doc["items"]}
    assert len(by_id) == len(doc["items"])
    for t in doc["items"]:
        assert set(t) == {"Id", "title", "service", "maxDays", "startDate", "endDate", "identifier", "validations"}
        assert isinstance(t["Id"], int) and isinstance(t["maxDays"], int)
        assert t["service"] == "Webex Calling"
        assert (t["startDate"], t["endDate"]) == ("2025-03-03", "2025-03-09")  # the calls stored
        assert {"field": "startDate", "required": "yes"} in t["validations"]
    assert by_id[CALL_LIST]["title"] == "Call List" and by_id[CALL_LIST]["maxDays"] == 31
    from callboard.reports.templates import TEMPLATES

    assert len(by_id) == len(TEMPLATES)
    for name in TEMPLATES:  # every fixed-table template answers with its documented id and title
        if name in WEBEX_TEMPLATE_IDS:
            entry = WEBEX_TEMPLATE_IDS[name]
            assert (by_id[entry.id]["title"], by_id[entry.id]["maxDays"]) == (entry.title, entry.max_days)


def test_partner_templates_use_the_partner_keys(live: Live) -> None:
    r = live.get("/v1/partner/reports/templates")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    t = next(i for i in items if i["templateId"] == CALL_LIST)
    assert t["title"] == "Call List" and t["dataStartDate"] == "2025-03-03" and t["dataEndDate"] == "2025-03-09"
    assert t["maxDays"] == 31 and t["category"] == "Partner"


# ---- creation rules (400) -----------------------------------------------------------------------
@pytest.mark.parametrize(("body", "words"), [
    ({"startDate": "2025-03-03", "endDate": "2025-03-04"}, ["templateId", "required"]),
    ({"templateId": "call-list", **WEEK}, ["templateId", "number"]),
    ({"templateId": 999_999_999, **WEEK}, ["templateId", "999999999", "Valid templateIds"]),
    ({"templateId": CALL_LIST, "endDate": "2025-03-04"}, ["startDate", "required"]),
    ({"templateId": CALL_LIST, "startDate": "2025-03-04"}, ["endDate", "required"]),
    ({"templateId": CALL_LIST, "startDate": "03/04/2025", "endDate": "2025-03-04"}, ["startDate", "YYYY-MM-DD"]),
    ({"templateId": CALL_LIST, "startDate": "2025-02-30", "endDate": "2025-03-04"}, ["startDate", "calendar"]),
    ({"templateId": CALL_LIST, "startDate": "2025-03-05", "endDate": "2025-03-04"}, ["endDate", "before"]),
    ({"templateId": CALL_LIST, "startDate": "2025-01-01", "endDate": "2025-03-09"}, ["68 days", "maxDays", "31"]),
    ({"templateId": CALL_LIST, **WEEK, "timeZone": "Mars/Olympus"}, ["timeZone", "Mars/Olympus"]),
    ({"templateId": CALL_LIST, **WEEK, "workspaceId": "nope"}, ["workspaceId"]),
    ([1, 2], ["JSON object"]),
])
def test_create_refuses_rule_breakers_with_400(live: Live, body: Any, words: list[str]) -> None:
    for path in ("/v1/reports", "/v1/partner/reports"):
        assert_error(live.post(path, json=body), 400, *words)


def test_create_refuses_malformed_json(live: Live) -> None:
    r = requests.post(live.url("/v1/reports"), data=b"{not json", timeout=30,
                      headers={**live.auth("write"), "Content-Type": "application/json"})
    assert_error(r, 400)


def test_max_days_boundary_is_inclusive(live: Live) -> None:
    ok = live.post("/v1/reports", json={"templateId": str(CALL_LIST), "startDate": "2025-02-07",
                                        "endDate": "2025-03-09"})  # 31 days, templateId as a string
    assert ok.status_code == 200, ok.text
    assert set(ok.json()) == {"items"} and set(ok.json()["items"]) == {"Id"}
    assert_error(live.post("/v1/reports", json={"templateId": CALL_LIST, "startDate": "2025-02-06",
                                                "endDate": "2025-03-09"}), 400, "32 days")


# ---- the whole life of a partner report ---------------------------------------------------------
def test_partner_report_details_carry_every_seed_field_and_the_file_matches(live: Live) -> None:
    rid = create_partner(live, regionId="EU")
    doc = wait_partner(live, rid)
    assert doc["status"] == "done", doc
    assert set(doc) == set(PARTNER_FIELDS), set(doc) ^ set(PARTNER_FIELDS)
    for key, kind in PARTNER_FIELDS.items():
        assert type(doc[key]) is kind, (key, doc[key])
    assert doc["reportId"] == rid and doc["templateId"] == CALL_LIST and doc["title"] == "Call List"
    assert (doc["startDate"], doc["endDate"], doc["regionId"]) == ("2025-03-03", "2025-03-09", "EU")
    assert doc["downloadUrlExpiryTime"] == "3600"
    uuid_hex = ids.parse_report_id(rid).hex  # type: ignore[union-attr]
    assert doc["fileName"] == f"Call List_{uuid_hex}_Acme Org_2025-03-03_2025-03-09.csv"

    r = requests.get(doc["downloadURL"], headers=live.auth("read"), timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    assert len(r.content) == doc["fileSize"]
    assert hashlib.sha256(r.content).hexdigest() == doc["checksum"]
    name, member = unzip_csv(r.content)
    assert name == doc["fileName"]
    header, rows = csv_rows(member)
    assert rows and len(header) == len(set(header))

    again = wait_partner(live, rid)  # a second read renders nothing again: same bytes, new link
    assert (again["checksum"], again["fileSize"]) == (doc["checksum"], doc["fileSize"])
    files = list((live.data_dir / "webex").glob(f"{uuid_hex}-*.zip"))
    assert len(files) == 1


def test_org_details_list_and_delete(live: Live) -> None:
    r = live.post("/v1/reports", json={"templateId": SUMMARY, **WEEK, "timeZone": "Europe/London",
                                       "siteList": "acme.webex.com"})
    assert r.status_code == 200, r.text
    rid = r.json()["items"]["Id"]
    wait_partner(live, rid)
    r = live.get(f"/v1/reports/{rid}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberOfReports"] == 1 and len(doc["items"]) == 1
    item = doc["items"][0]
    assert {"Id", "title", "service", "startDate", "endDate", "siteList", "created", "createdBy", "scheduleFrom",
            "status", "downloadDomain", "downloadURL"} <= set(item)
    assert item["Id"] == rid and item["status"] == "done" and item["siteList"] == "acme.webex.com"
    assert item["timeZone"] == "Europe/London" and item["scheduleFrom"] == "api"
    assert item["downloadURL"].startswith(item["downloadDomain"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", item["created"])
    listed = live.get("/v1/reports", params={"reportId": rid}).json()
    assert [i["Id"] for i in listed["items"]] == [rid] and listed["numberOfReports"] == 1
    link = item["downloadURL"]

    assert live.delete(f"/v1/reports/{rid}").status_code == 204
    assert_error(live.get(f"/v1/reports/{rid}"), 404)
    assert_error(live.get(f"/v1/partner/reports/{rid}"), 404)
    assert_error(live.delete(f"/v1/reports/{rid}"), 404)
    assert_error(requests.get(link, timeout=30), 404, "deleted")  # the link outlives nothing
    assert not list((live.data_dir / "webex").glob(f"{ids.parse_report_id(rid).hex}-*"))  # type: ignore[union-attr]


def test_lists_page_with_max_and_a_next_link_that_keeps_every_parameter(live: Live) -> None:
    made = {create_partner(live, template=SUMMARY) for _ in range(3)}
    params = {"templateId": str(SUMMARY), "service": "Webex Calling", "from": datetime.now(UTC).date().isoformat(),
              "to": "2999-01-01", "regionId": "US", "onBehalfOfSubPartnerOrgId": "sub-1", "max": "1"}
    seen: list[str] = []
    url: str | None = live.url("/v1/partner/reports")
    first = True
    while url:
        r = requests.get(url, params=params if first else None, headers=live.auth("read"), timeout=60)
        first = False
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) <= 1
        seen += [i["reportId"] for i in items]
        nxt = r.links.get("next", {}).get("url")
        if nxt:
            query = dict(parse_qsl(urlsplit(nxt).query))
            assert {k: query[k] for k in params} == params  # every filter and max carried over
        url = nxt
    assert made <= set(seen) and len(seen) == len(set(seen))
    assert all(live.get(f"/v1/partner/reports/{i}").json()["templateId"] == SUMMARY for i in seen)
    org = live.get("/v1/reports", params={"templateId": SUMMARY, "max": 2})
    assert org.status_code == 200 and len(org.json()["items"]) == 2 and 'rel="next"' in org.headers["Link"]
    assert live.get("/v1/reports", params={"templateId": CALL_LIST + 5000}).json()["items"] == []
    assert_error(live.get("/v1/reports", params={"max": "0"}), 400, "max")
    assert_error(live.get("/v1/reports", params={"from": "yesterday"}), 400, "from")
    assert_error(live.get("/v1/reports", params={"templateId": "x"}), 400, "templateId")


def test_concurrent_first_reads_render_once(live: Live) -> None:
    rid = create_partner(live, template=SUMMARY)
    uuid_hex = ids.parse_report_id(rid).hex  # type: ignore[union-attr]
    wait_request(live, rid)  # the request is complete; the report is not rendered yet (nobody read it)
    assert not list((live.data_dir / "webex").glob(f"{uuid_hex}-*"))
    results: list[dict[str, Any]] = []
    start = threading.Barrier(6)

    def read() -> None:
        start.wait()
        results.append(wait_partner(live, rid))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r["status"] for r in results} == {"done"}
    assert len({r["checksum"] for r in results}) == 1
    assert len(list((live.data_dir / "webex").glob(f"{uuid_hex}-*.zip"))) == 1


# ---- auth, tenancy and rate limits --------------------------------------------------------------
def test_missing_or_unknown_token_is_401(live: Live) -> None:
    assert_error(requests.get(live.url("/v1/report/templates"), timeout=30), 401)
    assert_error(requests.get(live.url("/v1/partner/reports"), headers={"Authorization": "Bearer nope"},
                              timeout=30), 401)
    assert_error(requests.post(live.url("/v1/reports"), json={"templateId": CALL_LIST, **WEEK}, timeout=30), 401)


@pytest.mark.parametrize(("who", "read", "write"), [
    ("read", True, False), ("analytics", True, False), ("native_read", True, False), ("native", True, True),
    ("write", False, True), ("webex", True, True), ("people_only", False, False), ("read_no_people", False, False),
    ("calls", False, False),
])
def test_scopes(live: Live, who: str, read: bool, write: bool) -> None:
    def check(r: requests.Response, allowed: bool) -> None:
        if allowed:
            assert r.status_code == 200, r.text
        else:
            assert_error(r, 403, "scope")

    check(live.get("/v1/reports", who=who, params={"max": 1}), read)
    check(live.get("/v1/partner/reports/templates", who=who), read)
    check(live.get("/v1/report/templates", who=who), read)
    check(live.post("/v1/partner/reports", who=who, json={"templateId": SUMMARY, **WEEK}), write)
    check(live.post("/v1/reports", who=who, json={"templateId": SUMMARY, **WEEK}), write)


def test_system_admin_token_cannot_read_reports(live: Live) -> None:
    r = requests.get(live.url("/v1/reports"), headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
    assert_error(r, 403)


def test_reports_of_another_tenant_are_404_and_its_token_cannot_download(live: Live) -> None:
    rid = create_partner(live, template=SUMMARY)
    doc = wait_partner(live, rid)
    other = Live(live.base, live.data_dir, live.settings)
    setup_org(other, name="Other Org")
    assert_error(other.get(f"/v1/partner/reports/{rid}"), 404)
    assert_error(other.get(f"/v1/reports/{rid}"), 404)
    assert_error(other.delete(f"/v1/partner/reports/{rid}"), 404)
    assert rid not in {i["reportId"] for i in other.get("/v1/partner/reports").json()["items"]}
    assert_error(requests.get(doc["downloadURL"], headers=other.auth("read"), timeout=30), 401)
    assert_error(requests.get(doc["downloadURL"], headers={"Authorization": "Bearer forged"}, timeout=30), 401)
    assert requests.get(doc["downloadURL"], timeout=30).status_code == 200  # the link alone suffices
    assert_error(live.get("/v1/partner/reports/not-an-id"), 404)


def test_errors_on_v1_use_the_webex_body(live: Live) -> None:
    assert_error(live.get("/v1/no-such-thing"), 404)
    assert_error(requests.put(live.url("/v1/reports"), headers=live.auth("write"), timeout=30), 405)


# ---- the download link --------------------------------------------------------------------------
def _link(live: Live, rid: str) -> str:
    return str(wait_partner(live, rid)["downloadURL"])


def _with(link: str, **changes: str) -> str:
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()


def test_forged_links_are_403_and_expired_ones_410(live: Live) -> None:
    rid = create_partner(live, template=SUMMARY)
    link = _link(live, rid)
    sig = dict(parse_qsl(urlsplit(link).query))["signature"]
    expires = dict(parse_qsl(urlsplit(link).query))["expires"]
    assert requests.get(link, timeout=30).status_code == 200
    assert_error(requests.get(_with(link, signature=sig[:-2] + "xx"), timeout=30), 403, "signature")
    assert_error(requests.get(_with(link, expires=str(int(expires) + 3600)), timeout=30), 403)
    other = create_partner(live, template=SUMMARY)
    assert_error(requests.get(link.replace(rid, other), timeout=30), 403)  # a signature for another report
    assert_error(requests.get(link.split("?")[0], timeout=30), 403)
    # a genuinely signed link whose time is up
    signer = Signer(load_secret(live.data_dir, None))
    past_exp, past_sig = signer.sign(ids.parse_report_id(rid), -10)  # type: ignore[arg-type]
    assert_error(requests.get(_with(link, expires=str(past_exp), signature=past_sig), timeout=30), 410, "expired")


def test_each_details_call_issues_a_fresh_link_with_the_configured_lifetime(live: Live) -> None:
    rid = create_partner(live, template=SUMMARY)
    first = _link(live, rid)
    time.sleep(1.1)
    second = _link(live, rid)
    e1 = int(dict(parse_qsl(urlsplit(first).query))["expires"])
    e2 = int(dict(parse_qsl(urlsplit(second).query))["expires"])
    assert e2 > e1 and abs(e2 - time.time() - 3600) < 10
    assert requests.get(first, timeout=30).status_code == 200 and requests.get(second, timeout=30).status_code == 200


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server without workers: reports stay ``In progress`` as long as the test needs."""
    live, server, thread = start_server(tmp_path_factory.mktemp("webex-idle"), workers=0)
    try:
        setup_org(live)
        yield live
    finally:
        stop_server(server, thread)


def test_not_done_is_423_with_retry_after_and_a_cancelled_request_fails_the_report(idle: Live) -> None:
    rid = create_partner(idle, template=SUMMARY)
    doc = idle.get(f"/v1/partner/reports/{rid}").json()
    assert doc["status"] == "In progress" and doc["fileSize"] == 0 and doc["checksum"] == ""
    r = requests.get(doc["downloadURL"], timeout=30)
    assert_error(r, 423)
    assert r.headers["Retry-After"].isdigit() and int(r.headers["Retry-After"]) >= 1
    org = idle.get(f"/v1/reports/{rid}").json()["items"][0]
    assert org["status"] == "In progress"
    # cancel the underlying request through the Results API: the report becomes failed, with why
    r = idle.delete(f"/api/v1.0/workspaces/{idle.workspace}/requests/{request_of(idle, rid)}", who="native")
    assert r.status_code in (200, 204), r.text
    doc = idle.get(f"/v1/partner/reports/{rid}").json()
    assert doc["status"] == "failed" and "cancel" in doc["failureReason"].lower()
    assert_error(requests.get(doc["downloadURL"], timeout=30), 410, "failed")


def test_over_the_rate_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    first, server, thread = start_server(tmp_path, workers=0, rate_limit_per_minute=100_000)
    try:
        setup_org(first)  # many calls: done under a generous limit, then the same folder restarts
    finally:
        stop_server(server, thread)
    live, server, thread = start_server(tmp_path, workers=0, rate_limit_per_minute=3)
    live.tokens, live.tenant, live.workspace = first.tokens, first.tenant, first.workspace
    try:
        codes = [live.get("/v1/report/templates", who="read").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        r = live.get("/v1/partner/reports", who="read")
        body = assert_error(r, 429, "rate limit")
        assert r.headers["Retry-After"].isdigit() and int(r.headers["Retry-After"]) >= 1, body
        assert live.get("/v1/report/templates", who="analytics").status_code == 200  # limits are per token
    finally:
        stop_server(server, thread)


def test_a_token_restricted_to_a_workspace_reports_on_it_and_sees_only_its_reports(live: Live) -> None:
    r = requests.post(live.url("/api/v1.0/workspaces"), headers=live.auth("admin"),
                      json={"name": "Branch", "timeZoneId": "Europe/Paris"}, timeout=30)
    assert r.status_code == 201, r.text
    branch = r.json()["id"]
    token = live.token(["spark-admin:reports_read", "spark-admin:reports_write", "identity:people_read"],
                       workspaces=[branch])
    restricted = {"Authorization": f"Bearer {token}"}
    main_report = create_partner(live, template=SUMMARY)
    assert_error(requests.get(live.url(f"/v1/partner/reports/{main_report}"), headers=restricted, timeout=30), 404)
    templates = requests.get(live.url("/v1/report/templates"), headers=restricted, timeout=30).json()["items"]
    assert {(t["startDate"], t["endDate"]) for t in templates} == {(None, None)}  # the branch holds no calls
    r = requests.post(live.url("/v1/partner/reports"), headers=restricted,
                      json={"templateId": SUMMARY, **WEEK}, timeout=30)
    assert r.status_code == 200, r.text
    mine = r.json()["reportId"]
    listed = requests.get(live.url("/v1/partner/reports"), headers=restricted, timeout=30).json()["items"]
    assert [i["reportId"] for i in listed] == [mine]
    assert_error(requests.post(live.url("/v1/partner/reports"), headers=restricted, timeout=30,
                               json={"templateId": SUMMARY, **WEEK, "workspaceId": live.workspace}), 400,
                 "workspaceId")
    assert wait_partner(live, mine)["status"] == "done"  # the organisation's own tokens see every report
