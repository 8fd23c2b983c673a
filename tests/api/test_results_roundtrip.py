"""The whole Results API journey, checked against numbers computed by hand.

Six segments are ingested into a Europe/London workspace; five fall in July 2025 (BST, UTC+1):

| doc | call | start (UTC)        | local    | user | dir | ans ref lost | ring | duration |
|-----|------|--------------------|----------|------|-----|--------------|------|----------|
| d1  | c1   | 07-01 09:00:00     | 10:00:00 | 101  | in  | 1   0   0    | 5    | 65       |
| d2  | c1   | 07-01 08:59:50     | 09:59:50 | 102  | in  | 0   1   0    | 10   | 10       |
| d3  | c2   | 07-02 14:30:00     | 15:30:00 | 101  | out | 1   0   0    | 3    | 123      |
| d4  | c3   | 07-03 12:00:00     | 13:00:00 | 102  | in  | 0   0   1    | 30   | 30       |
| d5  | c4   | 07-03 16:00:00     | 17:00:00 | 101  | int | 1   0   0    | 2    | 42       |
| d6  | c5   | 08-10 10:00:00     | (August, outside the July period)                      |

So July sorted newest first is d5, d4, d3, d1, d2; the summary is ans 3, ref 1, lost 1,
ring 5+10+3+30+2 = 50, duration 65+10+123+30+42 = 270.
"""

from __future__ import annotations

import threading
import time

import orjson

from tests.support.api import SEED_DOCUMENT_TYPES, SEED_REQUEST_KEYS, Api, V
from tests.support.roundtrip import DEFAULTS, EXPECTED, JULY, ROWS


def setup(api: Api) -> tuple[str, str, str]:
    _, token = api.tenant()
    ws = api.workspace(token)
    assert api.ingest(token, ws, ROWS) == {"received": 6, "inserted": 6, "duplicates": 0}
    assert api.ingest(token, ws, ROWS[:2]) == {"received": 2, "inserted": 0, "duplicates": 2}
    report = api.report(token, ws, defaults=DEFAULTS)
    return token, ws, report


def test_post_poll_and_read_the_results_document(api: Api) -> None:
    token, ws, report = setup(api)
    h = api.auth(token)
    r = api.client.post(f"{V}/workspaces/{ws}/reports/{report}/requests", json={}, headers=h)
    assert r.status_code == 202
    doc = r.json()
    rid = doc["requestId"]
    assert r.headers["Location"].endswith(f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}")
    assert doc["status"] == 0 and doc["state"] == "queued" and "data" not in doc
    assert doc["request"]["reportId"] == report and doc["request"]["requestId"] == rid

    base = f"{V}/workspaces/{ws}/reports/{report}"
    early = api.client.get(f"{base}/requests/{rid}/data", headers=h)
    assert early.status_code == 202 and int(early.headers["Retry-After"]) >= 1
    assert early.json()["status"] == 0 and "data" not in early.json()

    assert api.work() == 1

    status = api.client.get(f"{base}/requests/{rid}", headers=h)
    assert status.status_code == 200 and "data" not in status.json()
    assert status.json()["status"] == 1 and status.json()["totalCount"] == 5

    full = api.client.get(f"{base}/requests/{rid}/data", headers=h)
    assert full.status_code == 200
    assert full.headers["content-type"].startswith("application/json")
    doc = full.json()
    # Field for field, in the seed's order, with the seed's types.
    assert list(doc)[:14] == list(SEED_DOCUMENT_TYPES)
    for key, kind in SEED_DOCUMENT_TYPES.items():
        assert isinstance(doc[key], kind), (key, doc[key])
    assert set(SEED_REQUEST_KEYS) <= set(doc["request"])
    assert doc["requestId"] == rid and doc["status"] == 1 and doc["state"] == "complete"
    assert doc["statusMessage"] == "Report processing complete"
    assert doc["totalCount"] == 5 and doc["rowLimit"] == 1_000_000 and doc["rowLimitExceeded"] is False
    assert doc["queryCount"] >= 1 and doc["totalDuration"] >= 0 and doc["queryDuration"] >= 0
    summary = doc["summary"]
    assert len(summary) == 1
    assert {k: summary[0][k] for k in ("ans", "ref", "lost", "ring", "duration")} == {
        "ans": 3, "ref": 1, "lost": 1, "ring": 50.0, "duration": 270.0}
    got = [(d["docId"], d["start"], d["userNum"], flag, d["ring"], d["duration"])
           for d, (_, _, _, flag, _, _) in zip(doc["data"], EXPECTED, strict=True)]
    assert got == EXPECTED
    for d, (_, _, _, flag, _, _) in zip(doc["data"], EXPECTED, strict=True):
        assert d[flag] == 1
        assert "calledUserName" not in d  # null fields are left out
    assert doc["data"][2]["calledUserNum"] == "07977502880"
    # The other path spelling answers the same document.
    other = api.client.get(f"{base}/results/{rid}/data", headers=h)
    assert orjson.loads(other.content) == doc
    assert api.client.get(f"{base}/results/{rid}", headers=h).json() == status.json()


def test_paging_with_link_headers(api: Api) -> None:
    token, ws, report = setup(api)
    h = api.auth(token)
    rid = api.request(token, ws, report)
    api.work()
    url = f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}/data?page=1&pageSize=2"
    seen: list[str] = []
    pages = 0
    while url:
        r = api.client.get(url, headers=h)
        assert r.status_code == 200
        doc = r.json()
        pages += 1
        assert doc["totalCount"] == 5 and doc["page"] == pages and doc["pageSize"] == 2
        assert doc["summary"][0]["ans"] == 3  # the summary is over the whole result
        seen += [d["docId"] for d in doc["data"]]
        link = r.headers.get("link")
        if link:
            assert link.endswith('>; rel="next"')
            url = link[1:link.index(">")]
            assert f"page={pages + 1}" in url and "pageSize=2" in url
        else:
            url = ""
    assert pages == 3 and seen == [e[0] for e in EXPECTED]
    beyond = api.client.get(f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}/data?page=9&pageSize=2",
                            headers=h)
    assert beyond.status_code == 200 and beyond.json()["data"] == [] and "link" not in beyond.headers


def test_request_page_size_applies_without_query_parameters(api: Api) -> None:
    token, ws, report = setup(api)
    rid = api.request(token, ws, report, {"pageSize": 4})
    api.work()
    r = api.client.get(f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}/data", headers=api.auth(token))
    assert [d["docId"] for d in r.json()["data"]] == ["d5", "d4", "d3", "d1"]
    assert "page=2" in r.headers["link"] and "pageSize=4" in r.headers["link"]


def test_body_overrides_saved_defaults_and_ad_hoc_requests(api: Api) -> None:
    token, ws, report = setup(api)
    h = api.auth(token)
    only_ann = {"filterConditions": [{"fieldName": "userNum", "operator": "=", "values": ["101"]}]}
    rid = api.request(token, ws, report, only_ann)
    adhoc = api.client.post(f"{V}/workspaces/{ws}/requests", headers=h,
                            json={"reportTemplateName": "CallListByUserSegmented", **JULY})
    assert adhoc.status_code == 202
    aid = adhoc.json()["requestId"]
    assert adhoc.headers["Location"].endswith(f"{V}/workspaces/{ws}/requests/{aid}")
    assert adhoc.json()["request"]["reportId"] is None
    assert api.work() == 2
    doc = api.client.get(f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}/data", headers=h).json()
    assert [d["docId"] for d in doc["data"]] == ["d5", "d3", "d1"]
    assert doc["summary"][0]["duration"] == 230.0
    ad = api.client.get(f"{V}/workspaces/{ws}/requests/{aid}/data", headers=h).json()
    assert ad["totalCount"] == 5 and sorted(d["docId"] for d in ad["data"]) == ["d1", "d2", "d3", "d4", "d5"]
    # An ad-hoc request is not reachable under a saved report.
    assert api.client.get(f"{V}/workspaces/{ws}/reports/{report}/requests/{aid}", headers=h).status_code == 404


def test_saved_report_crud(api: Api) -> None:
    _, token = api.tenant()
    ws = api.workspace(token)
    h = api.auth(token)
    rid = api.report(token, ws, "CallListByUserSegmented", {"timeZoneId": "UTC"}, name="users")
    r = api.client.get(f"{V}/workspaces/{ws}/reports", headers=h)
    assert r.json() == {"data": [{"id": rid, "name": "users", "reportTemplateName": "CallListByUserSegmented",
                                  "defaults": {"timeZoneId": "UTC"}}], "count": 1}
    r = api.client.put(f"{V}/workspaces/{ws}/reports/{rid}", headers=h, json={"name": "by user"})
    assert r.status_code == 200 and r.json()["name"] == "by user" and r.json()["defaults"] == {"timeZoneId": "UTC"}
    r = api.client.put(f"{V}/workspaces/{ws}/reports/{rid}", headers=h,
                       json={"defaults": {"timeZoneId": "Mars/Base"}})
    assert r.status_code == 400 and "timeZoneId" in r.json()["message"]
    assert api.client.get(f"{V}/workspaces/{ws}/reports/{rid}", headers=h).json()["name"] == "by user"
    req = api.request(token, ws, rid)
    assert api.client.delete(f"{V}/workspaces/{ws}/reports/{rid}", headers=h).status_code == 204
    assert api.client.get(f"{V}/workspaces/{ws}/reports/{rid}", headers=h).status_code == 404
    assert api.client.get(f"{V}/workspaces/{ws}/requests/{req}", headers=h).status_code == 404


def test_cancel_then_discard(api: Api) -> None:
    token, ws, report = setup(api)
    h = api.auth(token)
    rid = api.request(token, ws, report)
    url = f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}"
    r = api.client.delete(url, headers=h)
    assert r.status_code == 200 and r.json()["status"] == 4 and r.json()["state"] == "cancelled"
    assert api.work() == 0  # never run
    data = api.client.get(url + "/data", headers=h)
    assert data.status_code == 200 and data.json()["status"] == 4 and data.json()["data"] == []
    assert api.client.delete(url, headers=h).status_code == 204
    assert api.client.get(url, headers=h).status_code == 404


def test_discarding_a_complete_result_removes_its_snapshot(api: Api) -> None:
    token, ws, report = setup(api)
    rid = api.request(token, ws, report)
    api.work()
    snapshot = api.ctx.settings.results_dir / f"{rid}.parquet"
    assert snapshot.exists()
    r = api.client.delete(f"{V}/workspaces/{ws}/reports/{report}/results/{rid}", headers=api.auth(token))
    assert r.status_code == 204 and not snapshot.exists()


def test_results_expire_with_410(app_factory) -> None:
    import time

    api = Api(app_factory(result_ttl_seconds=1))
    token, ws, report = setup(api)
    rid = api.request(token, ws, report)
    api.work()
    url = f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}"
    assert api.client.get(url + "/data", headers=api.auth(token)).status_code == 200
    time.sleep(1.2)
    gone = api.client.get(url + "/data", headers=api.auth(token))
    assert gone.status_code == 410 and gone.json()["trackingId"] == gone.headers["TrackingID"]
    status = api.client.get(url, headers=api.auth(token)).json()
    assert status["status"] == 5 and status["state"] == "expired"


def test_templates_catalogue_and_health(api: Api) -> None:
    _, token = api.tenant()
    from callboard.reports.templates import TEMPLATES

    r = api.client.get(f"{V}/templates", headers=api.auth(token))
    assert r.status_code == 200 and TEMPLATES and all(f'"{name}"' in r.text for name in TEMPLATES)
    assert api.client.get("/health").json() == {"status": "ok"}


def test_openapi_describes_models_and_errors(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"ErrorBody", "StatusDocument", "ResultsDocument", "WorkspacePublic", "ReportPublic",
            "ReportCreate", "IngestResult"} <= set(schemas)
    data_op = spec["paths"][f"{V}/workspaces/{{workspaceId}}/reports/{{reportId}}/requests/{{requestId}}/data"]["get"]
    assert {"200", "202", "401", "403", "404", "410"} <= set(data_op["responses"])
    ingest = spec["paths"][f"{V}/workspaces/{{workspaceId}}/calls"]["post"]
    assert {"application/json", "text/csv", "application/x-ndjson"} <= set(ingest["requestBody"]["content"])


def test_prefer_wait_answers_when_the_request_ends(api: Api) -> None:
    """RFC 7240 ``Prefer: wait=N``: the read is held until the worker publishes the result, so one
    GET replaces polling; with nobody to run it, the answer is the usual 202 after N seconds."""
    token, ws, report = setup(api)
    h = api.auth(token)
    base = f"{V}/workspaces/{ws}/reports/{report}/requests"
    rid = api.request(token, ws, report)

    waited = api.client.get(f"{base}/{rid}/data", headers={**h, "Prefer": "wait=1"})
    assert waited.status_code == 202 and waited.headers["Preference-Applied"] == "wait=1"
    assert int(waited.headers["Retry-After"]) >= 1

    ran: list[int] = []
    worker = threading.Thread(target=lambda: (time.sleep(0.3), ran.append(api.work())))
    worker.start()
    t0 = time.monotonic()
    r = api.client.get(f"{base}/{rid}/data", params={"page": 1, "pageSize": 2},
                       headers={**h, "Prefer": "respond-async, wait=20"})
    elapsed = time.monotonic() - t0
    worker.join()
    assert ran == [1]
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "wait=20"
    doc = r.json()
    assert doc["totalCount"] == 5 and len(doc["data"]) == 2 and doc["summary"][0]["ans"] == 3
    assert elapsed < 15  # answered when the worker finished, not at the end of the wait

    # the status route honours it too; a finished request answers at once, without the header's wait
    s = api.client.get(f"{base}/{rid}", headers={**h, "Prefer": "wait=30"})
    assert s.status_code == 200 and s.json()["state"] == "complete"
    plain = api.client.get(f"{base}/{rid}", headers=h)
    assert "Preference-Applied" not in plain.headers
