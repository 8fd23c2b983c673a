"""Bad input never causes a 500: every mistake is a 4xx with a clear message, the error shape, and
the tracking id of the response's TrackingID header."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.api import Api, V, check_error


@pytest.fixture
def env(api: Api) -> dict[str, Any]:
    _, token = api.tenant()
    ws = api.workspace(token)
    report = api.report(token, ws)
    rid = api.request(token, ws, report)
    return {"token": token, "ws": ws, "report": report, "rid": rid, "h": api.auth(token)}


def test_malformed_json_everywhere(api: Api, env: dict[str, Any]) -> None:
    ws, report, h = env["ws"], env["report"], {**env["h"], "Content-Type": "application/json"}
    for method, path in [
        ("POST", f"{V}/workspaces"),
        ("POST", f"{V}/workspaces/{ws}/reports"),
        ("PUT", f"{V}/workspaces/{ws}/reports/{report}"),
        ("POST", f"{V}/workspaces/{ws}/reports/{report}/requests"),
        ("POST", f"{V}/workspaces/{ws}/requests"),
        ("POST", f"{V}/workspaces/{ws}/calls"),
    ]:
        r = api.client.request(method, path, content=b'{"name": "x",', headers=h)
        check_error(r, 400, "json")


def test_wrong_types_and_unknown_fields(api: Api, env: dict[str, Any]) -> None:
    ws, report, h = env["ws"], env["report"], env["h"]
    check_error(api.client.post(f"{V}/workspaces", json={"name": 5}, headers=h), 400, "name")
    check_error(api.client.post(f"{V}/workspaces", json={"name": "x", "colour": "red"}, headers=h), 400, "colour")
    check_error(api.client.post(f"{V}/workspaces", json=["x"], headers=h), 400)
    check_error(api.client.post(f"{V}/workspaces", json={"name": "x", "timeZoneId": "Mars/Base"}, headers=h),
                400, "time zone")
    check_error(api.client.post(f"{V}/workspaces/{ws}/reports", json={"name": "r"}, headers=h),
                400, "reportTemplateName")
    check_error(api.client.post(f"{V}/workspaces/{ws}/reports", headers=h,
                                json={"name": "r", "reportTemplateName": "NoSuchReport"}),
                400, "NoSuchReport", "CallListByUserSegmented")
    reqs = f"{V}/workspaces/{ws}/reports/{report}/requests"
    check_error(api.client.post(reqs, json={"rowLimit": "lots"}, headers=h), 400, "rowLimit")
    check_error(api.client.post(reqs, json={"sortFeilds": []}, headers=h), 400, "sortFeilds", "sortFields")
    check_error(api.client.post(reqs, json=[1, 2], headers=h), 400)
    check_error(api.client.post(reqs, json={"filterConditions": [{"fieldName": "nope", "operator": "="}]},
                                headers=h), 400, "nope")
    check_error(api.client.post(reqs, json={"filterConditions": [{"fieldName": "ans", "operator": "~"}]},
                                headers=h), 400, "operator", "between")
    check_error(api.client.post(reqs, json={"timeZoneId": "Nowhere/Land"}, headers=h), 400, "timeZoneId")
    check_error(api.client.post(reqs, json={"reportTemplateName": "Other"}, headers=h), 400, "reportTemplateName")
    check_error(api.client.post(f"{V}/workspaces/{ws}/requests", json={}, headers=h), 400, "reportTemplateName")
    check_error(api.client.post(f"{V}/tenants/{uuid.uuid4()}/tokens", json={"scopes": "admin"}, headers=h), 400)
    # Nothing was queued for any bad request: only the fixture's one exists.
    listed = api.client.get(reqs, headers=h).json()
    assert listed["count"] == 1 and listed["data"][0]["requestId"] == env["rid"]


def test_bad_ids_are_not_found(api: Api, env: dict[str, Any]) -> None:
    ws, report, rid, h = env["ws"], env["report"], env["rid"], env["h"]
    for path in [
        f"{V}/workspaces/not-a-uuid",
        f"{V}/workspaces/not-a-uuid/reports",
        f"{V}/workspaces/{ws}/reports/12345",
        f"{V}/workspaces/{ws}/reports/{report}/requests/zzz",
        f"{V}/workspaces/{ws}/reports/{report}/results/zzz/data",
        f"{V}/workspaces/{ws}/requests/{uuid.uuid4()}",
        f"{V}/workspaces/{ws}/reports/{rid}/requests/{rid}",  # a request id where a report id belongs
        f"{V}/nothing/here",
    ]:
        check_error(api.client.get(path, headers=h), 404)
    check_error(api.client.post(f"{V}/tenants/not-a-uuid/tokens", json={"scopes": ["admin"]}, headers=h), 404)
    check_error(api.client.patch(f"{V}/workspaces/{ws}", json={}, headers=h), 405)


def test_bad_paging_parameters(api: Api, env: dict[str, Any]) -> None:
    api.work()
    base = f"{V}/workspaces/{env['ws']}/reports/{env['report']}/requests/{env['rid']}/data"
    check_error(api.client.get(base + "?page=0", headers=env["h"]), 400, "page")
    check_error(api.client.get(base + "?page=abc", headers=env["h"]), 400, "page")
    check_error(api.client.get(base + "?pageSize=0", headers=env["h"]), 400, "pageSize")


def test_ingest_errors_list_rows_and_store_nothing(api: Api, env: dict[str, Any]) -> None:
    url, h = f"{V}/workspaces/{env['ws']}/calls", env["h"]
    rows = [{"docId": "ok", "start": "2025-07-01T09:00:00Z"},
            {"docId": "bad", "start": "yesterday"},
            {"docId": "worse", "start": "tomorrow"}]
    body = check_error(api.client.post(url, json=rows, headers=h), 422, "row 2", "row 3")
    assert {(e.get("row"), e.get("field")) for e in body["errors"]} == {(2, "start"), (3, "start")}
    typo = [{"docId": "typo", "start": "2025-07-01T09:00:00Z", "durration": 5}]
    check_error(api.client.post(url, json=typo, headers=h), 422, "durration", "duration")
    assert api.ctx.warehouse.count(env["ws"]) == 0  # atomic: the good row was not stored either
    check_error(api.client.post(url + "?format=nosuch", json=rows, headers=h), 400, "nosuch", "asterisk")
    check_error(api.client.post(url + "?timeZone=Nowhere", json=rows[:1], headers=h), 400, "Nowhere")
    check_error(api.client.post(url, content=b"", headers={**h, "Content-Type": "application/json"}), 400, "empty")
    csv = b"docId,start,ring\nc1,2025-07-01T09:00:00Z,3\nc2,2025-07-01T10:00:00Z,4\n"
    r = api.client.post(url, content=csv, headers={**h, "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"received": 2, "inserted": 2, "duplicates": 0}
    nd = b'{"docId": "n1", "start": "2025-07-01T09:00:00+02:00"}\n{"docId": "c1", "start": "2025-07-01T09:00:00Z"}\n'
    r = api.client.post(url, content=nd, headers={**h, "Content-Type": "application/x-ndjson"})
    assert r.json() == {"received": 2, "inserted": 1, "duplicates": 1}


def test_ingest_parquet_and_time_zone(api: Api, env: dict[str, Any]) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"docId": ["p1"], "start": ["2025-07-01 10:00:00"], "duration": [7.0]}), buf)
    url, h = f"{V}/workspaces/{env['ws']}/calls", env["h"]
    r = api.client.post(url + "?format=parquet&timeZone=Europe/London", content=buf.getvalue(),
                        headers={**h, "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1
    start = api.ctx.warehouse.raw_sql("SELECT start FROM calls WHERE \"docId\" = 'p1'").fetchone()[0]
    assert start.isoformat() == "2025-07-01T09:00:00"  # 10:00 BST stored as 09:00 UTC


def test_oversized_bodies_are_413(app_factory) -> None:
    api = Api(app_factory(max_body_bytes=2000))
    _, token = api.tenant()
    ws = api.workspace(token)
    h = api.auth(token)
    big = [{"docId": f"d{i}", "start": "2025-07-01T09:00:00Z"} for i in range(100)]
    check_error(api.client.post(f"{V}/workspaces/{ws}/calls", json=big, headers=h), 413, "limit")
    check_error(api.client.post(f"{V}/workspaces", json={"name": "x" * 5000}, headers=h), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b"["
        for i in range(100):
            yield b'{"docId": "c%d", "start": "2025-07-01T09:00:00Z"},' % i
        yield b'{"docId": "last", "start": "2025-07-01T09:00:00Z"}]'

    r = api.client.post(f"{V}/workspaces/{ws}/calls", content=chunks(),
                        headers={**h, "Content-Type": "application/json"})
    check_error(r, 413)
    assert api.ctx.warehouse.count(ws) == 0
    r = api.client.post(f"{V}/workspaces/{ws}/reports", content=chunks(),
                        headers={**h, "Content-Type": "application/json"})
    check_error(r, 413)


def test_every_response_has_a_tracking_id_and_a_client_one_is_kept(api: Api) -> None:
    r = api.client.get("/health")
    assert r.headers["TrackingID"].startswith("CB_")
    r = api.client.get("/health", headers={"TrackingID": "ROUTER_1234-abcd"})
    assert r.headers["TrackingID"] == "ROUTER_1234-abcd"
    r = api.client.get("/health", headers={"TrackingID": "bad id with spaces"})
    assert r.headers["TrackingID"].startswith("CB_")
    assert api.client.get("/openapi.json").headers["TrackingID"]
