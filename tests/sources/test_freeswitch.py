"""FreeSWITCH importer: mod_cdr_csv (local stamps) and mod_json_cdr (UTC epochs), exact rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.calls.schema import NUMERIC_DEFAULTS, SEGMENT_SCHEMA
from callboard.sources import SourceError, read_source
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent / "samples" / "freeswitch"
U = "5f3c1a2e-0000-4000-8000-00000000000"
A, B, C = ("7c1e9a40-1111-4c6b-9d2a-0000000000a1", "7c1e9a40-2222-4c6b-9d2a-0000000000b1",
           "7c1e9a40-3333-4c6b-9d2a-0000000000c1")
JOHN = {"cli": "+441134960000", "cliName": "John Smith", "callUserNum": "+441134960000",
        "callUserName": "John Smith"}


def full(**values: object) -> dict[str, object]:
    row: dict[str, object] = {f.name: NUMERIC_DEFAULTS.get(f.name) for f in SEGMENT_SCHEMA}
    row.update(values)
    return row


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def party(num: str, name: str) -> dict[str, str]:
    return {"cli": num, "cliName": name, "callUserNum": num, "callUserName": name}


def test_csv_example_template_new_york_fall_back() -> None:
    t = read_source("freeswitch", SAMPLES / "Master_newyork.csv", time_zone="America/New_York")
    assert t.schema == SEGMENT_SCHEMA
    assert t.to_pylist() == [
        full(docId=U + "3", connId=U + "3", start=utc(2025, 11, 2, 5, 20), ring=30.0, duration=30.0,
             userNum="1002", callType=2, callDir=2, lost=1, calledUserNum="1002",
             **party("+12125550123", "WIRELESS CALLER")),
        # 01:30 is ambiguous in New York: first occurrence (EDT)
        full(docId=U + "1", connId=U + "1", start=utc(2025, 11, 2, 5, 30), ring=6.0, duration=306.0,
             userNum="1001", callType=2, callDir=3, ans=1, calledUserNum="18005550100", accountCode="sales",
             **party("1001", "Alice")),
        full(docId=U + "4", connId=U + "4", start=utc(2025, 11, 2, 7, 15), ring=3.0, duration=63.0,
             userNum="1003", callType=1, callDir=1, ans=1, calledUserNum="1003", **party("1002", "Bob")),
        # UNALLOCATED_NUMBER never reached anyone: neither refused nor lost
        full(docId=U + "5", connId=U + "5", start=utc(2025, 11, 2, 14, 0), ring=1.0, duration=1.0,
             userNum="1001", callType=2, callDir=3, calledUserNum="0044999", **party("1001", "Alice")),
    ]


def test_json_cdr_legs_tied_into_one_call() -> None:
    t = read_source("freeswitch", SAMPLES / "cdr.ndjson", time_zone="Europe/London")
    assert t.to_pylist() == [
        full(docId=A, connId=A, start=utc(2025, 3, 30, 0, 59, 50), ring=8.5, duration=130.25,
             userNum="441134960500", callType=2, callDir=2, ans=1, calledUserNum="441134960500",
             accountCode="acct/7", trunk="bt-sip", **JOHN),
        full(docId=B, connId=A, start=utc(2025, 3, 30, 0, 59, 50, 200000), ring=8.3, duration=130.05,
             userNum="1001", callType=2, callDir=2, ans=1, calledUserNum="1001", **JOHN),
        full(docId=C, connId=C, start=utc(2025, 3, 30, 10, 0), ring=17.0, duration=17.0,
             userNum="441134960500", cli="+447700900123", callUserNum="+447700900123", callType=2, callDir=2,
             lost=1, calledUserNum="441134960500", trunk="bt-sip"),
    ]


def test_json_single_object_url_encoded() -> None:
    (row,) = read_source("freeswitch", SAMPLES / "single_call.json").to_pylist()
    assert row == full(docId="9e8d7c6b-5a49-4838-a726-150000000001", connId="9e8d7c6b-5a49-4838-a726-150000000001",
                       start=utc(2025, 3, 30, 13, 15, 0, 123456), ring=3.0, duration=63.5, userNum="1001",
                       callType=2, callDir=3, ans=1, calledUserNum="01134960123", accountCode="Jane Doe & Co",
                       trunk="bt-sip", **party("1001", "Jane Doe"))


def test_b_leg_without_pointer_joins_via_bleg_uuid() -> None:
    docs = [orjson.loads(line) for line in (SAMPLES / "cdr.ndjson").read_bytes().splitlines()[:2]]
    del docs[1]["variables"]["originating_leg_uuid"]
    body = orjson.dumps(list(reversed(docs)))  # a JSON array, B leg first
    t = read_source("freeswitch", body, content_type="application/json")
    assert dict(zip(t.column("docId").to_pylist(), t.column("connId").to_pylist(), strict=True)) == {A: A, B: A}


@pytest.mark.parametrize(("name", "expected"), [
    ("Master_bad_row.csv", [(2, "duration", "expected a whole number ≥ 0, got 'sixty-three'")]),
    ("cdr_bad_row.ndjson", [(2, "variables.start_uepoch", "expected microseconds since the epoch, got 'soon'")]),
])
def test_bad_row_refuses_file(tmp_path: Path, name: str, expected: list[tuple[int, str, str]]) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    with pytest.raises(SourceError) as info:
        wh.append("ws", read_source("freeswitch", SAMPLES / name, time_zone="America/New_York"))
    assert [(e.row, e.column, e.reason) for e in info.value.errors] == expected
    assert name in str(info.value)
    assert wh.count() == 0


def test_wrong_column_count() -> None:
    with pytest.raises(SourceError, match="expected 15 columns"):
        read_source("freeswitch", b'"a","b","c"\n', content_type="text/csv")


def test_import_twice_stores_once(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    for expected in ({"received": 3, "inserted": 3, "duplicates": 0},
                     {"received": 3, "inserted": 0, "duplicates": 3}):
        assert wh.append("ws", read_source("freeswitch", SAMPLES / "cdr.ndjson")).as_dict() == expected
    assert wh.append("ws", read_source("freeswitch", SAMPLES / "Master_newyork.csv",
                                       time_zone="America/New_York")).inserted == 4
    assert wh.count("ws") == 7


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=946684800_000000, max_value=2145916800_000000),
       st.integers(min_value=0, max_value=600_000000), st.integers(min_value=0, max_value=3600_000000),
       st.booleans())
def test_json_epoch_arithmetic(start: int, ring: int, talk: int, answered: bool) -> None:
    answer = start + ring if answered else 0
    end = start + ring + (talk if answered else 0)
    doc = {"variables": {"uuid": "u-1", "start_uepoch": str(start), "answer_uepoch": str(answer),
                         "end_uepoch": str(end), "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER"}}
    (row,) = read_source("freeswitch", orjson.dumps(doc)).to_pylist()
    assert int(row["start"].timestamp() * 1_000_000) == pytest.approx(start, abs=1)
    assert row["duration"] == pytest.approx((end - start) / 1e6)
    assert row["ring"] == pytest.approx(ring / 1e6 if answered else (end - start) / 1e6)
    assert (row["ans"], row["lost"]) == ((1, 0) if answered else (0, 1))
