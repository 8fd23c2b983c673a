"""Request validation and resolution: every kind of bad request names its part; the echo of the
seed-000 request has the seed's keys and nesting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callboard.reports.request import OPERATORS, RequestError, resolve_request
from callboard.reports.templates import TEMPLATES, catalogue

NOW = datetime(2025, 9, 22, 15, 27, 40, 142316, tzinfo=UTC)


def seed_request() -> dict[str, Any]:
    """The seed-000 results document's ``request`` object (seed_000_document.json is the seed page's
    example, repaired from its rendering, which doubled every array as ``[...][...]``)."""
    return json.loads((Path(__file__).parent / "seed_000_document.json").read_text())["request"]


SEED_BODY_KEYS = ("reportTemplateName", "sortFields", "displayFields", "childDisplayFields",
                  "ignoreDisplayFields", "source", "pageSize", "batchSize", "rowLimit", "priorityLevel",
                  "callRatePeriod", "ignoreAbandonedCalls", "ignoreShortAnsweredCalls", "accountCodeLabels",
                  "ringDurationThresholds", "incomingEstimatedRevenue", "incomingCallsPerSale",
                  "outgoingEstimatedRevenue", "outgoingCallsPerSale", "durationGroupPeriodInSeconds",
                  "timeZoneId", "countryCode", "locale", "totalTrunks", "maxRows")


def seed_body() -> dict[str, Any]:
    seed = seed_request()
    body = {k: seed[k] for k in SEED_BODY_KEYS}
    body["metadata"] = {"reportName": None, "dateFilter": seed["metadata"]["dateFilter"]}
    return body


def _shape(value: Any) -> Any:
    """Keys and nesting, not values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_seed_request_echo_has_the_seed_shape() -> None:
    seed = seed_request()
    req = resolve_request(seed_body(), now=NOW)
    echo = req.echo(request_id=seed["requestId"], tenant_id=seed["tenantId"], report_id=seed["reportId"],
                    date_created=datetime(2025, 9, 22, 15, 27, 40, 194614, tzinfo=UTC))
    # every key of the seed, in the seed's nesting (we add only our documented extra settings)
    extra = set(echo) - set(seed)
    assert extra == {"shortAbandonSeconds", "shortCallSeconds", "callbackWindowHours", "includeReturnedCalls"}
    for key, value in seed.items():
        if key == "filterConditions":
            continue
        assert _shape(echo[key]) == _shape(value), key
    assert list(echo)[:11] == list(seed)[:11]
    # the resolved period: ThisYear in London, reaching now → ends 15 minutes before the reference
    assert echo["filterConditions"] == [
        {"fieldName": "start", "operator": ">=", "values": ["2025-01-01T00:00:00.0000000+00:00"]},
        {"fieldName": "start", "operator": "<", "values": ["2025-09-22T15:12:40.0000000+00:00"]},
    ]
    meta = echo["metadata"]
    assert meta["timezoneDateFrom"] == "2025-01-01T00:00:00"
    assert meta["timezoneDateTo"] == "2025-09-22T16:12:40"
    assert meta["timeZoneReferenceDate"] == "2025-09-22T16:27:40"
    assert meta["timeZoneAbbreviation"] == "BST"
    assert meta["dateFilter"] == seed["metadata"]["dateFilter"]
    assert echo["dateCreated"] == "2025-09-22T15:27:40.1946140Z"
    for key in SEED_BODY_KEYS:
        if key != "ringDurationThresholds":
            assert echo[key] == seed[key], key
    assert echo["ringDurationThresholds"] == [float(x) for x in seed["ringDurationThresholds"]]
    assert echo["sortFields"] == [{"fieldName": "start", "direction": 1}]
    assert req.display_fields[-1] == "docId" and req.display_fields[0] == "connId"


def test_defaults_are_filled_and_echoed() -> None:
    echo = resolve_request({"reportTemplateName": "CallListByUserSegmented"}, now=NOW).echo(
        request_id="r", tenant_id="t", report_id=None)
    expected = {"timeZoneId": "UTC", "pageSize": -1, "rowLimit": 1_000_000, "priorityLevel": 2,
                "callRatePeriod": 30, "ignoreAbandonedCalls": False, "shortAbandonSeconds": 5.0,
                "ignoreShortAnsweredCalls": False, "shortCallSeconds": 20.0, "accountCodeLabels": {},
                "ringDurationThresholds": [float(x) for x in range(10, 121, 10)],
                "durationGroupPeriodInSeconds": 60, "totalTrunks": 0, "callbackWindowHours": 24.0,
                "includeReturnedCalls": False,
                "ignoreDisplayFields": False, "childDisplayFields": [], "filterConditions": []}
    for key, value in expected.items():
        assert echo[key] == value, key
    assert [d["fieldName"] for d in echo["displayFields"]][:3] == ["connId", "start", "userName"]


def test_saved_report_defaults_merge_under_the_body() -> None:
    req = resolve_request({"reportTemplateName": "CallListByUserSegmented", "timeZoneId": "Europe/Paris"},
                          now=NOW, defaults={"timeZoneId": "Europe/London", "callRatePeriod": 15,
                                             "metadata": {"reportName": "Mine"}})
    assert req.tz == "Europe/Paris"
    assert req.request.callRatePeriod == 15
    assert req.request.metadata.reportName == "Mine"


def test_local_timestamps_and_operators_resolve() -> None:
    req = resolve_request({
        "reportTemplateName": "CallListByUserSegmented", "timeZoneId": "Europe/London",
        "filterConditions": [
            {"fieldName": "start", "operator": "between", "values": ["2025-07-01T09:00:00", "2025-07-01T10:00:00Z"]},
            {"fieldName": "hgNum", "operator": "in", "values": ["200", "201"]},
            {"fieldName": "cli", "operator": "isNull", "values": []},
            {"fieldName": "ans", "operator": "=", "values": [1]},
        ],
        "sortFields": [{"fieldName": "ring", "direction": "desc"}, {"fieldName": "start", "direction": "asc"}],
    }, now=NOW)
    between = req.conditions[0]
    # 09:00 BST = 08:00 UTC; the value with Z stays 10:00 UTC
    assert between.values == (datetime(2025, 7, 1, 8, 0), datetime(2025, 7, 1, 10, 0))
    assert req.echo_conditions[0]["values"] == ["2025-07-01T08:00:00.0000000+00:00",
                                                "2025-07-01T10:00:00.0000000+00:00"]
    assert req.sort == [("ring", True), ("start", False)]
    assert {c.stage for c in req.conditions} == {"segment"}


def test_template_output_fields_filter_results() -> None:
    req = resolve_request({"reportTemplateName": "CallSummaryByUser", "filterConditions": [
        {"fieldName": "calls", "operator": ">=", "values": [2]},
        {"fieldName": "userNum", "operator": "startsWith", "values": ["1"]}]}, now=NOW)
    assert [(c.field, c.stage) for c in req.conditions] == [("calls", "result"), ("userNum", "segment")]


BAD: list[tuple[dict[str, Any], str, str | None]] = [
    ({"reportTemplateName": "NoSuchReport"}, "reportTemplateName", "CallList"),
    ({}, "reportTemplateName", "CallListByUserSegmented"),
    ({"filterConditions": [{"fieldName": "nope", "operator": "=", "values": [1]}]},
     "filterConditions[0].fieldName", "hgNum"),
    ({"filterConditions": [{"fieldName": "cli", "operator": "=", "values": ["1"]},
                           {"fieldName": "cli", "operator": "~", "values": ["1"]}]},
     "filterConditions[1].operator", "startsWith"),
    ({"filterConditions": [{"fieldName": "ring", "operator": ">", "values": ["ten"]}]},
     "filterConditions[0].values[0]", None),
    ({"filterConditions": [{"fieldName": "cli", "operator": "=", "values": [12345]}]},
     "filterConditions[0].values[0]", None),
    ({"filterConditions": [{"fieldName": "start", "operator": ">", "values": ["yesterday"]}]},
     "filterConditions[0].values[0]", None),
    ({"filterConditions": [{"fieldName": "ans", "operator": "=", "values": [2]}]},
     "filterConditions[0].values[0]", "1"),
    ({"filterConditions": [{"fieldName": "start", "operator": "between", "values": ["2025-01-01"]}]},
     "filterConditions[0].values", None),
    ({"filterConditions": [{"fieldName": "start", "operator": "between",
                            "values": ["2025-02-01", "2025-01-01"]}]}, "filterConditions[0].values", None),
    ({"filterConditions": [{"fieldName": "hgNum", "operator": "in", "values": []}]},
     "filterConditions[0].values", None),
    ({"filterConditions": [{"fieldName": "hgNum", "operator": "isNull", "values": ["x"]}]},
     "filterConditions[0].values", None),
    ({"filterConditions": [{"fieldName": "ring", "operator": "contains", "values": [1]}]},
     "filterConditions[0].operator", "="),
    ({"timeZoneId": "Europe/Londn"}, "timeZoneId", "Europe/London"),
    ({"metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-03-02", "end": "2025-03-01"}}},
     "metadata.dateFilter", None),
    ({"metadata": {"dateFilter": {"presetName": "LastFortnight"}}}, "metadata.dateFilter.presetName",
     "LastWeek"),
    ({"displayFields": [{"fieldName": "bogus"}]}, "displayFields[0].fieldName", "userName"),
    ({"sortFields": [{"fieldName": "start", "direction": 2}]}, "sortFields[0].direction", "desc"),
    ({"sortFields": [{"fieldName": "size", "direction": 0}]}, "sortFields[0].fieldName", "start"),
    ({"childDisplayFields": [{"fieldName": "start"}]}, "childDisplayFields", "CallList"),
    ({"unknownSetting": 1}, "unknownSetting", "callRatePeriod"),
    ({"priorityLevel": 7}, "priorityLevel", "2"),
    ({"rowLimit": "many"}, "rowLimit", None),
    ({"includeReturnedCalls": "yes"}, "includeReturnedCalls", None),
]


@pytest.mark.parametrize(("patch", "part", "choice"), BAD)
def test_bad_requests_name_the_part(patch: dict[str, Any], part: str, choice: str | None) -> None:
    body = {"reportTemplateName": "CallListByUserSegmented", **patch}
    if not patch:
        body.pop("reportTemplateName")
    with pytest.raises(RequestError) as info:
        resolve_request(body, now=NOW)
    err = info.value
    assert err.part == part, str(err)
    assert part in str(err)
    if choice is not None:
        assert err.choices and choice in err.choices, err.choices
        assert choice in str(err)


def test_call_list_children_must_be_segment_fields() -> None:
    with pytest.raises(RequestError) as info:
        resolve_request({"reportTemplateName": "CallList", "childDisplayFields": ["start", "segments"]}, now=NOW)
    assert info.value.part == "childDisplayFields[1]"


def test_catalogue_lists_every_template_with_typed_fields() -> None:
    cat = {t["name"]: t for t in catalogue()}
    assert set(cat) == set(TEMPLATES)
    assert {"CallListByUserSegmented", "CallList", "CallSummaryByUser", "CallSummaryByHuntGroup",
            "CallsByStartTime", "CallsByHourOfDay", "CallsByDayOfWeek", "CallsByDate"} <= set(cat)
    for t in cat.values():
        assert t["kind"] in ("segment", "call", "aggregate")
        for f in t["fields"]:
            assert f["name"] and f["name"] == f["name"].strip() and f["title"]  # Webex names have spaces
            assert f["type"] in ("string", "timestamp", "float", "int", "flag", "date", "list")


def test_every_operator_is_accepted_somewhere() -> None:
    values = {"between": ["a", "b"], "in": ["a"], "notIn": ["a"], "isNull": [], "isNotNull": []}
    for op in OPERATORS:
        resolve_request({"reportTemplateName": "CallListByUserSegmented", "filterConditions": [
            {"fieldName": "userNum", "operator": op, "values": values.get(op, ["a"])}]}, now=NOW)
