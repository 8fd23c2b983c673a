"""Webex Calling detailed call history importer: CSV (with BOM), zipped CSV and cdr_feed JSON."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callboard.calls.schema import FIELD_NAMES, SEGMENT_SCHEMA
from callboard.sources import read_source
from callboard.sources.base import SourceError
from callboard.sources.webex import parse_time
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent / "samples" / "webex"
CSV = SAMPLES / "detailed_call_history.csv"
FEED = SAMPLES / "cdr_feed.json"
ZIPPED = SAMPLES / "detailed_call_history_download"
BAD = SAMPLES / "detailed_call_history_bad_row.csv"

HG, ALICE, BOB = "+14085550200", "+14085550201", "+14085550202"
C = "3b0e6a3c-1d2f-4a51-9e0b-5f3c2d1a000"
R = "-0000-4000-8000-0000000000"


def t(hour: int, minute: int, second: int, ms: int = 0) -> datetime:
    return datetime(2024, 3, 5, hour, minute, second, ms * 1000, tzinfo=UTC)


def seg(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    row.update(ans=0, ref=0, lost=0)
    row.update(kw)
    return row


INBOUND_1 = dict(cli="+14155550100", cliName="ACME CORP", callUserNum="+14155550100", callUserName="ACME CORP",
                 callType=2, callDir=2, trunk="LGW-SJC", hgNum=HG, hgName="Sales HG")
INBOUND_2 = dict(INBOUND_1, cli="+14155550111", cliName="WIRELESS CALLER", callUserNum="+14155550111",
                 callUserName="WIRELESS CALLER")
INTERNAL = dict(cli=ALICE, cliName="Alice Ng", callUserNum=ALICE, callUserName="Alice Ng", callType=1, callDir=1,
                calledUserNum=BOB, calledUserName="Bob Diaz")

# Worked out by hand from the sample (see docs/formats/webex.md for the rules):
# duration = Duration (connected) + Ring duration; hunt-group legs take hgNum from Redirecting number
# and hgName from the hunt group's own row; the hunt group row itself routed the call on (no flag).
EXPECTED = [
    # call 1: PSTN → Sales HG, simultaneous ring, Bob answers after 12 s, 95 s talk
    seg(docId=f"a1f0c001{R}01", connId=f"{C}1", start=t(14, 0, 0, 250), ring=12.0, duration=107.0,
        userName="Sales HG", userNum=HG, calledUserNum=HG, calledUserName="Sales HG", **INBOUND_1),
    seg(docId=f"a1f0c001{R}02", connId=f"{C}1", start=t(14, 0, 0, 410), ring=12.0, duration=12.0,
        userName="Alice Ng", userNum=ALICE, calledUserNum=ALICE, calledUserName="Alice Ng", ref=1, **INBOUND_1),
    seg(docId=f"a1f0c001{R}03", connId=f"{C}1", start=t(14, 0, 0, 420), ring=12.0, duration=107.0, hold=20.0,
        userName="Bob Diaz", userNum=BOB, calledUserNum=BOB, calledUserName="Bob Diaz", ans=1, **INBOUND_1),
    # call 2: PSTN → Sales HG, Alice rings out (15 s), caller hangs up while Bob rings (8 s)
    seg(docId=f"a1f0c002{R}04", connId=f"{C}2", start=t(15, 30, 0), ring=23.0, duration=23.0,
        userName="Sales HG", userNum=HG, calledUserNum=HG, calledUserName="Sales HG", **INBOUND_2),
    seg(docId=f"a1f0c002{R}05", connId=f"{C}2", start=t(15, 30, 0, 150), ring=15.0, duration=15.0,
        userName="Alice Ng", userNum=ALICE, calledUserNum=ALICE, calledUserName="Alice Ng", ref=1, **INBOUND_2),
    seg(docId=f"a1f0c002{R}06", connId=f"{C}2", start=t(15, 30, 15, 170), ring=8.0, duration=8.0,
        userName="Bob Diaz", userNum=BOB, calledUserNum=BOB, calledUserName="Bob Diaz", lost=1, **INBOUND_2),
    # call 3: Alice → Bob internal, both legs answered, 4 s ring + 61 s talk
    seg(docId=f"a1f0c003{R}07", connId=f"{C}3", start=t(16, 10, 5), ring=4.0, duration=65.0,
        userName="Alice Ng", userNum=ALICE, ans=1, **INTERNAL),
    seg(docId=f"a1f0c003{R}08", connId=f"{C}3", start=t(16, 10, 5, 100), ring=4.0, duration=65.0,
        userName="Bob Diaz", userNum=BOB, ans=1, **INTERNAL),
    # call 4: Bob → London, presented as the location main number, with an authorization code
    seg(docId=f"a1f0c004{R}09", connId=f"{C}4", start=t(17, 0, 0), ring=6.0, duration=306.0,
        userName="Bob Diaz", userNum=BOB, cli="+14085550100", cliName="Bob Diaz", callUserNum=BOB,
        callUserName="Bob Diaz", calledUserNum="+442071234567", callType=2, callDir=3, ans=1,
        accountCode="7781", trunk="LGW-SJC"),
    # call 5: a direct call to Alice, who is busy ("NA" caller name = null)
    seg(docId=f"a1f0c005{R}10", connId=f"{C}5", start=t(18, 20, 0), ring=0.0, duration=0.0,
        userName="Alice Ng", userNum=ALICE, cli="+16505550123", callUserNum="+16505550123",
        calledUserNum=ALICE, calledUserName="Alice Ng", callType=2, callDir=2, ref=1, trunk="LGW-SJC"),
]


def rows(table: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "extra"} for r in table.to_pylist()]


def test_csv_with_bom_maps_to_exact_canonical_rows() -> None:
    table = read_source("webex", CSV)
    assert table.schema == SEGMENT_SCHEMA
    assert rows(table) == EXPECTED


def test_unmapped_and_unknown_columns_land_in_extra() -> None:
    extras = [json.loads(e) if e else None for e in read_source("webex", CSV).column("extra").to_pylist()]
    assert extras[2] == {
        "Answer time": "2024-03-05T14:00:12.290Z", "Answer indicator": "Yes", "Call outcome": "Success",
        "Call outcome reason": "Normal", "Releasing party": "Remote", "User type": "User",
        "Location": "San Jose", "Redirect reason": "HuntGroup", "Related reason": "HuntGroup",
        "AI Assistant Used": "Yes", "Client type": "WXC_DEVICE", "Release time": "2024-03-05 14:01:47.300",
        "Report time": "2024-03-05T14:01:48.100Z", "Site timezone": "-480",
    }
    # the new column is kept where it has a value; "NA" is null and left out
    assert [e.get("AI Assistant Used") for e in extras] == [None, "No", "Yes"] + [None] * 7
    assert all("Report ID" not in e and "Start time" not in e for e in extras)


def test_feed_json_and_zip_give_the_same_table_as_the_csv() -> None:
    csv_table = read_source("webex", CSV)
    assert read_source("webex", FEED).equals(csv_table)
    assert read_source("webex", ZIPPED).equals(csv_table)  # sniffed: no .zip name, no content type
    zipped = ZIPPED.read_bytes()
    assert read_source("webex", zipped, content_type="application/zip").equals(csv_table)


def test_bare_json_array_and_json_scalars() -> None:
    items = json.loads(FEED.read_text())["items"]
    items[2]["Answered"] = True  # a JSON boolean is read as "true"
    table = read_source("webex", json.dumps(items).encode(), content_type="application/json")
    assert rows(table) == EXPECTED


def test_csv_without_bom_and_new_column_in_the_middle() -> None:
    text = CSV.read_text(encoding="utf-8-sig").splitlines()
    header, first = text[0].split(","), text[9].split(",")  # call 4: one leg, no cross-leg rule
    header.insert(3, "Queue Wait Band")
    first.insert(3, "short")
    body = "\n".join([",".join(header), ",".join(first)]).encode()
    table = read_source("webex", body)
    assert rows(table) == [EXPECTED[8]]
    assert json.loads(table.column("extra")[0].as_py())["Queue Wait Band"] == "short"


def test_bad_row_refuses_the_file_naming_row_column_and_reason(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read_source("webex", BAD)
    assert [e.as_dict() for e in info.value.errors] == [
        {"row": 5, "field": "Start time", "reason": "not a time: '2024-03-05T25:30:00.150Z'"}]


def test_every_bad_row_is_reported() -> None:
    lines = CSV.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace(",false,", ",maybe,", 1)
    lines[4] = lines[4] + ",surplus"
    lines[6] = lines[6].replace(",0,8,,false,", ",0,eight,,false,", 1)
    with pytest.raises(SourceError) as info:
        read_source("webex", "\n".join(lines).encode())
    assert [(e.row, e.column) for e in info.value.errors] == [
        (2, "Answered"), (4, None), (6, "Ring duration")]
    assert info.value.errors[1].reason == "expected 37 values, found 38"


def test_missing_key_column_refuses_the_file() -> None:
    lines = CSV.read_text(encoding="utf-8-sig").splitlines()
    body = "\n".join(line.replace("Start time", "Begin time", 1) for line in lines).encode()
    with pytest.raises(SourceError) as info:
        read_source("webex", body)
    assert [e.as_dict() for e in info.value.errors] == [{"row": 0, "field": "Start time", "reason": "missing column"}]


def test_feed_item_without_start_time_is_a_row_error() -> None:
    doc = json.loads(FEED.read_text())
    del doc["items"][3]["Start time"]
    with pytest.raises(SourceError) as info:
        read_source("webex", json.dumps(doc).encode())
    assert [e.as_dict() for e in info.value.errors] == [{"row": 4, "field": "Start time", "reason": "missing value"}]


def test_empty_zip_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    with pytest.raises(SourceError, match="holds no file"):
        read_source("webex", buf.getvalue(), content_type="application/zip")


def test_import_twice_stores_once_and_bad_file_stores_nothing(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    try:
        first = wh.append("ws", read_source("webex", CSV))
        assert first.as_dict() == {"received": 10, "inserted": 10, "duplicates": 0}
        again = wh.append("ws", read_source("webex", FEED))  # the same records from the feed
        assert again.as_dict() == {"received": 10, "inserted": 0, "duplicates": 10}
        with pytest.raises(SourceError):
            wh.append("ws2", read_source("webex", BAD))
        assert wh.count("ws") == 10
        assert wh.count("ws2") == 0
    finally:
        wh.close()


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_time_formats_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    iso = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    release = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    assert parse_time(iso) == moment
    assert parse_time(release) == moment
    assert parse_time(moment.astimezone(UTC).isoformat().replace("+00:00", "-05:00")) == moment + timedelta(hours=5)


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=0, max_value=600))
def test_duration_is_connected_plus_ring(talk: int, ring: int) -> None:
    doc = json.loads(FEED.read_text())
    item = doc["items"][8]
    item["Duration"], item["Ring duration"] = talk, ring
    table = read_source("webex", json.dumps({"items": [item]}).encode())
    assert table.column("duration")[0].as_py() == talk + ring
    assert table.column("ring")[0].as_py() == ring
