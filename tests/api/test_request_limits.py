"""No request can exhaust the server: a report request over one of its limits is refused at submission
with a 400 naming the part, the limit and the value; a JSON body over CALLBOARD_MAX_JSON_BODY_BYTES is
a 413 before it is parsed, while call-record ingest keeps its own, larger limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from callboard.reports import request as rq
from callboard.reports.request import RequestError, resolve_request
from tests.support.api import Api, V, check_error

PERIOD = {"dateFilter": {"presetName": "Custom", "start": "2025-07-01", "end": "2025-08-01"}}


@pytest.fixture
def env(api: Api) -> dict[str, Any]:
    _, token = api.tenant()
    ws = api.workspace(token)
    return {"token": token, "ws": ws, "h": {**api.auth(token), "Content-Type": "application/json"},
            "url": f"{V}/workspaces/{ws}/requests"}


def compact(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def post(api: Api, env: dict[str, Any], **fields: Any) -> Any:
    body = {"reportTemplateName": "CallList", "metadata": PERIOD, **fields}
    return api.client.post(env["url"], content=compact(body), headers=env["h"])


def in_condition(values: list[Any], field: str = "callDir") -> dict[str, Any]:
    return {"fieldName": field, "operator": "in", "values": values}


# ---- the requests -----------------------------------------------------------------------
def test_ten_thousand_conditions_are_refused(api: Api, env: dict[str, Any]) -> None:
    conditions = [{"fieldName": "callDir", "operator": "=", "values": [1]}] * 10_000
    assert len(compact(conditions)) < 1024 * 1024  # under the body limit: the request limit answers
    body = check_error(post(api, env, filterConditions=conditions), 400,
                       "filterConditions", "too many filter conditions", "10,000", "the limit is 100")
    assert body["errors"][0]["field"] == "filterConditions"


def test_an_in_with_200k_values_is_refused(api: Api, env: dict[str, Any]) -> None:
    body = check_error(post(api, env, filterConditions=[in_condition([1] * 200_000)]), 400,
                       "filterConditions[0].values", "200,000", "the limit is 1,000")
    assert body["errors"][0]["field"] == "filterConditions[0].values"


def test_metadata_just_over_its_limit_is_refused(api: Api, env: dict[str, Any]) -> None:
    junk = "x" * rq.MAX_METADATA_BYTES
    check_error(post(api, env, metadata={**PERIOD, "junk": junk}), 400,
                "metadata", "too large", "the limit is 65,536 bytes")


def test_deeply_nested_metadata_is_refused(api: Api, env: dict[str, Any]) -> None:
    body = b'{"reportTemplateName": "CallList", "metadata": {"x": ' + b"[" * 900 + b"]" * 900 + b"}}"
    check_error(api.client.post(env["url"], content=body, headers=env["h"]), 400, "metadata", "32 levels")


def test_50_mb_of_metadata_is_refused_before_it_is_read(api: Api, env: dict[str, Any]) -> None:
    body = compact({"reportTemplateName": "CallList", "metadata": {**PERIOD, "junk": "x" * (50 * 1024 * 1024)}})
    r = api.client.post(env["url"], content=body, headers=env["h"])
    check_error(r, 413, "exceeds the limit of 1048576 bytes", "CALLBOARD_MAX_JSON_BODY_BYTES")
    assert r.headers["content-type"].startswith("application/json")


def test_a_chunked_body_over_the_json_limit_is_refused(api: Api, env: dict[str, Any]) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"reportTemplateName": "CallList", "metadata": {"junk": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}}'

    check_error(api.client.post(env["url"], content=chunks(), headers=env["h"]), 413,
                "exceeds the limit of 1048576 bytes")
    # a saved report's defaults too: every JSON route has the limit
    check_error(api.client.post(f"{V}/workspaces/{env['ws']}/reports", content=chunks(), headers=env["h"]), 413)


def test_ingest_takes_a_body_larger_than_the_json_limit(api: Api, env: dict[str, Any]) -> None:
    rows = [{"docId": f"doc-{i:06d}", "connId": f"call-{i:06d}", "start": "2025-07-01T09:00:00Z",
             "duration": 30, "userNum": "1001", "userName": "Ann Example", "cli": "+441632960000",
             "callDir": 1, "ans": 1} for i in range(9_000)]
    content = compact(rows)
    assert len(content) > 1024 * 1024
    r = api.client.post(f"{V}/workspaces/{env['ws']}/calls", content=content, headers=env["h"])
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 9_000


def test_the_json_limit_is_a_setting_and_ingest_keeps_max_body_bytes(app_factory) -> None:
    api = Api(app_factory(max_json_body_bytes=4_000, max_body_bytes=100_000))
    _, token = api.tenant()
    ws = api.workspace(token)
    h = {**api.auth(token), "Content-Type": "application/json"}
    r = api.client.post(f"{V}/workspaces/{ws}/requests", headers=h,
                        content=compact({"reportTemplateName": "CallList", "source": "s" * 5_000}))
    check_error(r, 413, "exceeds the limit of 4000 bytes")
    rows = [{"docId": f"d{i}", "start": "2025-07-01T09:00:00Z", "duration": 5} for i in range(200)]
    assert 4_000 < len(compact(rows)) < 100_000
    r = api.client.post(f"{V}/workspaces/{ws}/calls", content=compact(rows), headers=h)
    assert r.status_code == 200, r.text
    big = [{"docId": f"d{i}", "start": "2025-07-01T09:00:00Z", "duration": 5} for i in range(3_000)]
    check_error(api.client.post(f"{V}/workspaces/{ws}/calls", content=compact(big), headers=h), 413, "limit")


def test_requests_at_the_limits_are_accepted(api: Api, env: dict[str, Any]) -> None:
    conditions = [in_condition(list(range(rq.MAX_VALUES_PER_CONDITION)))] * 10  # 10,000 values in all
    r = post(api, env, filterConditions=conditions,
             metadata={**PERIOD, "note": "y" * (rq.MAX_METADATA_BYTES - 200)})
    assert r.status_code == 202, r.text
    r = post(api, env, filterConditions=[{"fieldName": "callDir", "operator": "=", "values": [1]}]
             * rq.MAX_FILTER_CONDITIONS)
    assert r.status_code == 202, r.text


def test_saved_report_defaults_have_the_same_limits(api: Api, env: dict[str, Any]) -> None:
    r = api.client.post(f"{V}/workspaces/{env['ws']}/reports", headers=env["h"], content=compact({
        "name": "huge", "reportTemplateName": "CallList",
        "defaults": {"filterConditions": [in_condition([1] * 5_000)]}}))
    check_error(r, 400, "filterConditions[0].values", "5,000", "the limit is 1,000")


# ---- every limit, at resolution ----------------------------------------------------------------
def _refusal(**fields: Any) -> RequestError:
    with pytest.raises(RequestError) as caught:
        resolve_request({"reportTemplateName": "CallList", **fields})
    return caught.value


@pytest.mark.parametrize(("fields", "part", "needles"), [
    ({"filterConditions": [in_condition([1])] * 101}, "filterConditions", ["101", "the limit is 100"]),
    ({"filterConditions": [in_condition([1] * 1_001)]}, "filterConditions[0].values",
     ["1,001", "the limit is 1,000"]),
    ({"filterConditions": [in_condition([1] * 1_000)] * 11}, "filterConditions[10].values",
     ["all conditions together", "11,000", "the limit is 10,000"]),
    ({"filterConditions": [in_condition(["ok", "x" * 1_001], "cli")]}, "filterConditions[0].values[1]",
     ["1,001 characters", "the limit is 1,000 characters"]),
    ({"metadata": {"junk": "é" * 40_000}}, "metadata", ["80,011 bytes", "the limit is 65,536 bytes"]),
    ({"metadata": {"deep": json.loads("[" * 900 + "]" * 900)}}, "metadata", ["the limit is 32 levels"]),
    ({"accountCodeLabels": {str(i): "label" for i in range(1_001)}}, "accountCodeLabels",
     ["1,001", "the limit is 1,000"]),
    ({"accountCodeLabels": {"42": "l" * 1_001}}, "accountCodeLabels.42", ["label too long", "1,001 characters"]),
    ({"accountCodeLabels": {"4" * 1_001: "label"}}, "accountCodeLabels", ["account code too long"]),
    ({"ringDurationThresholds": list(range(1, 102))}, "ringDurationThresholds", ["101", "the limit is 100"]),
    ({"sortFields": [{"fieldName": "start"}] * 101}, "sortFields", ["101", "the limit is 100"]),
    ({"displayFields": [{"fieldName": "start"}] * 101}, "displayFields", ["101", "the limit is 100"]),
], ids=["conditions", "values", "total-values", "text", "metadata", "depth", "labels", "label-length", "code-length",
        "thresholds", "sort", "display"])
def test_each_limit_names_the_part_the_limit_and_the_value(fields: dict[str, Any], part: str,
                                                           needles: list[str]) -> None:
    err = _refusal(**fields)
    assert err.part == part
    for needle in needles:
        assert needle in err.message, (needle, err.message)


def test_limits_at_their_values_resolve() -> None:
    resolve_request({
        "reportTemplateName": "CallsByAccountCode",
        "filterConditions": [in_condition(["x" * rq.MAX_TEXT_LENGTH] * 100, "cli")] * 100,
        "accountCodeLabels": {str(i): "l" * rq.MAX_TEXT_LENGTH for i in range(rq.MAX_ACCOUNT_CODE_LABELS)},
        "ringDurationThresholds": list(range(1, rq.MAX_RING_THRESHOLDS + 1)),
        "metadata": {"junk": "x" * (rq.MAX_METADATA_BYTES - 20)},
    })


def test_a_huge_wrong_value_is_not_echoed_whole() -> None:
    err = _refusal(filterConditions=[{"fieldName": "cli", "operator": "=", "values": [[1] * 100_000]}])
    assert err.part == "filterConditions[0].values[0]"
    assert len(str(err)) < 400 and "300,000 characters" in err.message


def test_priority_level_1_needs_the_priority_scope(api: Any) -> None:
    """``priorityLevel`` 1 jumps the queue: refused (403 naming the field and the scope) to a token
    without ``reports:priority``, accepted from one granted it; 2 and 3 stay open to every reader."""
    tid, token = api.tenant()
    ws = api.workspace(token)
    reader = api.token(tid, ["reports:read"])
    granted = api.token(tid, ["reports:read", "reports:priority"])
    url = f"{V}/workspaces/{ws}/requests"
    body = {"reportTemplateName": "CallList", "priorityLevel": 1}
    check_error(api.client.post(url, json=body, headers=api.auth(reader)), 403, "priorityLevel", "reports:priority")
    assert api.client.post(url, json={**body, "priorityLevel": 3}, headers=api.auth(reader)).status_code == 202
    r = api.client.post(url, json=body, headers=api.auth(granted))
    assert r.status_code == 202, r.text
    assert r.json()["request"]["priorityLevel"] == 1
