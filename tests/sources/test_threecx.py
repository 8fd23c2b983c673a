"""3CX CDR importer: headerless v20 lines in an admin-configured field order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callboard.calls.schema import FIELD_NAMES, SEGMENT_SCHEMA
from callboard.sources import read_source
from callboard.sources.base import SourceError
from callboard.sources.threecx import FIELDS, format_duration, parse_duration, parse_time, party_type
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent / "samples" / "3cx"
CUSTOM = SAMPLES / "cdr_custom_order.log"
DEFAULT = SAMPLES / "cdr_default_order.log"
BAD = SAMPLES / "cdr_custom_order_bad_row.log"
PARTY_TYPES = SAMPLES / "cdr_party_types.log"
FIELD_ORDER = (SAMPLES / "fields.txt").read_text().strip()
OPTIONS = {"fields": FIELD_ORDER}


def seg(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    row.update(ans=0, ref=0, lost=0, ring=0.0, duration=0.0)
    row.update(kw)
    return row


def at(day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(2024, 6, day, hour, minute, second, tzinfo=UTC)


# Worked out by hand: ring = time-answered − time-start (or time-end − time-start unanswered),
# duration = time-end − time-start; 3CX's own "duration" is the talk time (answered → end).
QUEUE_ANSWERED = seg(
    docId="1001:00000191a2b3c4d5_101", connId="1001", start=at(3, 8, 15, 2), ring=18.0, duration=273.0,
    userName="Anna Berg", userNum="101", cli="+4930123456", cliName="+4930123456", hgNum="800",
    hgName="Support", callType=2, callDir=2, ans=1, calledUserNum="800", calledUserName="Support",
    callUserNum="+4930123456", callUserName="+4930123456", trunk="10000")
EXPECTED = [
    QUEUE_ANSWERED,
    # abandoned in the queue: nobody answered, the caller hung up → lost, owned by the queue
    seg(docId="1002:00000191a2b3c4d5_102", connId="1002", start=at(3, 9, 0, 0), ring=70.0, duration=70.0,
        userName="Support", userNum="800", cli="+4930999888", cliName="Müller GmbH", hgNum="800",
        hgName="Support", callType=2, callDir=2, lost=1, calledUserNum="800", calledUserName="Support",
        callUserNum="+4930999888", callUserName="Müller GmbH", trunk="10000"),
    # outgoing through line 10000 with a bill code
    seg(docId="1003:00000191a2b3c4d5_103", connId="1003", start=at(3, 10, 30, 0), ring=7.0, duration=127.0,
        userName="Jonas Weber", userNum="102", cli="102", cliName="Jonas Weber", callType=2, callDir=3, ans=1,
        calledUserNum="+4989555111", calledUserName="+4989555111", callUserNum="102",
        callUserName="Jonas Weber", accountCode="4711", trunk="10000"),
    # internal, unanswered, ended by the destination → refused there
    seg(docId="1004:00000191a2b3c4d5_104", connId="1004", start=at(3, 11, 0, 0), ring=9.0, duration=9.0,
        userName="Jonas Weber", userNum="102", cli="101", cliName="Anna Berg", callType=1, callDir=1, ref=1,
        calledUserNum="102", calledUserName="Jonas Weber", callUserNum="101", callUserName="Anna Berg"),
]


def rows(table: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "extra"} for r in table.to_pylist()]


def test_custom_field_order_maps_to_exact_canonical_rows() -> None:
    table = read_source("3cx", CUSTOM, options=OPTIONS)
    assert table.schema == SEGMENT_SCHEMA
    assert rows(table) == EXPECTED


def test_unmapped_fields_are_kept_in_extra_with_the_chain_split() -> None:
    extras = [json.loads(e) for e in read_source("3cx", CUSTOM, options=OPTIONS).column("extra").to_pylist()]
    assert extras[0] == {"reason-terminated": "TerminatedBySrc", "reason-changed": "ReplacedDst",
                         "chain": ["+4930123456", "Ext.800", "Ext.101"]}
    assert extras[1]["missed-queue-calls"] == "2"


def test_default_order_is_the_documented_27_fields() -> None:
    assert len(FIELDS) == 27
    table = read_source("3cx", DEFAULT)
    got = rows(table)
    assert got[0] == QUEUE_ANSWERED
    assert got[1] == seg(
        docId="2001:00000192f0e1d2c3_7", connId="2001", start=at(4, 7, 59, 58), ring=6.0, duration=66.0,
        userName="Lena Koch", userNum="103", cli="+4940777666", cliName="Hamburg Office", hgNum="700",
        hgName="Front Desk", callType=2, callDir=2, ans=1, calledUserNum="700", calledUserName="Front Desk",
        callUserNum="+4940777666", callUserName="Hamburg Office", trunk="10001")


def test_wrong_field_order_is_caught_by_the_column_count() -> None:
    with pytest.raises(SourceError) as info:
        read_source("3cx", CUSTOM)
    assert [(e.row, e.reason) for e in info.value.errors] == [
        (n, "expected 27 fields, found 24") for n in (1, 2, 3, 4)]


def test_unknown_field_name_in_the_profile_is_refused() -> None:
    with pytest.raises(SourceError) as info:
        read_source("3cx", CUSTOM, options={"fields": FIELD_ORDER.replace("dial-no", "dialed-no")})
    assert [e.as_dict() for e in info.value.errors] == [
        {"row": None, "field": "fields", "reason": "unknown 3CX CDR field 'dialed-no'"}]


def test_time_zone_reads_stamps_as_local_time() -> None:
    table = read_source("3cx", CUSTOM, options=OPTIONS, time_zone="Europe/Berlin")  # CEST, UTC+2
    assert table.column("start")[0].as_py() == at(3, 6, 15, 2)
    assert table.column("duration").to_pylist() == [273.0, 70.0, 127.0, 9.0]


def test_bad_row_refuses_the_file_naming_row_column_and_reason() -> None:
    with pytest.raises(SourceError) as info:
        read_source("3cx", BAD, options=OPTIONS)
    assert [e.as_dict() for e in info.value.errors] == [
        {"row": 3, "field": "duration", "reason": "not a duration HH:MM:SS: '2 min'"}]


def test_bad_times_are_reported_per_row() -> None:
    lines = CUSTOM.read_text().splitlines()
    lines[0] = lines[0].replace("2024/06/03 08:15:02", "2024/06/31 08:15:02")
    lines[3] = lines[3].replace("2024/06/03 11:00:09", "2024/06/03 10:59:00")
    with pytest.raises(SourceError) as info:
        read_source("3cx", "\n".join(lines).encode(), options=OPTIONS)
    assert [(e.row, e.column, e.reason) for e in info.value.errors] == [
        (1, "time-start", "not a time YYYY/MM/DD HH:MM:SS: '2024/06/31 08:15:02'"),
        (4, "time-end", "earlier than time-start")]


def test_import_twice_stores_once_and_bad_file_stores_nothing(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    try:
        assert wh.append("ws", read_source("3cx", CUSTOM, options=OPTIONS)).as_dict() == {
            "received": 4, "inserted": 4, "duplicates": 0}
        # the default-order file repeats call 1001 and adds 2001
        assert wh.append("ws", read_source("3cx", DEFAULT)).as_dict() == {
            "received": 2, "inserted": 1, "duplicates": 1}
        assert wh.append("ws", read_source("3cx", CUSTOM, options=OPTIONS)).as_dict() == {
            "received": 4, "inserted": 0, "duplicates": 4}
        with pytest.raises(SourceError):
            wh.append("ws2", read_source("3cx", BAD, options=OPTIONS))
        assert (wh.count("ws"), wh.count("ws2")) == (5, 0)
    finally:
        wh.close()


# Worked out by hand from the 3CX party types: an External/Line/ExternalLine side is the outside party
# (its DN is the trunk), an Internal/Extension side a user of the PBX.
PARTY_TYPE_EXPECTED = [
    # External → Extension, answered: incoming, owned by the extension, line 10000 is the trunk
    seg(docId="3001:00000193a0b1c2d3_1", connId="3001", start=at(5, 9, 0, 0), ring=12.0, duration=192.0,
        userName="Anna Berg", userNum="101", cli="+4930555100", cliName="Kunde Schmidt", callType=2,
        callDir=2, ans=1, calledUserNum="101", calledUserName="Anna Berg", callUserNum="+4930555100",
        callUserName="Kunde Schmidt", trunk="10000"),
    # Extension → External, answered: outgoing, owned by the caller, not by line 10000
    seg(docId="3002:00000193a0b1c2d3_2", connId="3002", start=at(5, 9, 10, 0), ring=8.0, duration=98.0,
        userName="Jonas Weber", userNum="102", cli="102", cliName="Jonas Weber", callType=2, callDir=3,
        ans=1, calledUserNum="+4989555222", calledUserName="+4989555222", callUserNum="102",
        callUserName="Jonas Weber", trunk="10000"),
    # Internal → Internal, the caller hung up before an answer: internal and lost
    seg(docId="3003:00000193a0b1c2d3_3", connId="3003", start=at(5, 9, 20, 0), ring=15.0, duration=15.0,
        userName="Lena Koch", userNum="103", cli="101", cliName="Anna Berg", callType=1, callDir=1, lost=1,
        calledUserNum="103", calledUserName="Lena Koch", callUserNum="101", callUserName="Anna Berg"),
    # Line → "Ring Group" → Extension, answered: incoming through the ring group
    seg(docId="3004:00000193a0b1c2d3_4", connId="3004", start=at(5, 9, 30, 0), ring=5.0, duration=125.0,
        userName="Lena Koch", userNum="103", cli="+4940777666", cliName="Hamburg Office", hgNum="700",
        hgName="Front Desk", callType=2, callDir=2, ans=1, calledUserNum="700", calledUserName="Front Desk",
        callUserNum="+4940777666", callUserName="Hamburg Office", trunk="10001"),
    # Extension → Line (final ExternalLine), busy: outgoing, unanswered, neither refused nor lost here
    seg(docId="3005:00000193a0b1c2d3_5", connId="3005", start=at(5, 9, 40, 0), ring=20.0, duration=20.0,
        userName="Anna Berg", userNum="101", cli="101", cliName="Anna Berg", callType=2, callDir=3,
        calledUserNum="+4930555100", calledUserName="+4930555100", callUserNum="101",
        callUserName="Anna Berg", trunk="10000"),
    # EXTERNAL → extension (other spelling), turned down by the extension: incoming, refused
    seg(docId="3006:00000193a0b1c2d3_6", connId="3006", start=at(5, 9, 50, 0), ring=10.0, duration=10.0,
        userName="Jonas Weber", userNum="102", cli="+4930555100", cliName="Kunde Schmidt", callType=2,
        callDir=2, ref=1, calledUserNum="102", calledUserName="Jonas Weber", callUserNum="+4930555100",
        callUserName="Kunde Schmidt", trunk="10000"),
]


def test_party_types_give_direction_owner_and_trunk() -> None:
    table = read_source("3cx", PARTY_TYPES)
    assert table.schema == SEGMENT_SCHEMA
    assert rows(table) == PARTY_TYPE_EXPECTED


TYPE_FIELDS = "historyid,time-start,from-type,from-dn,to-type,to-dn,final-type,final-dn"


# (from-type, from-dn, to-type, to-dn, final-type, final-dn) → (callType, callDir, trunk, userNum);
# 10000 is a line (trunk), 101/102 extensions, 800 a queue or ring group, 900 an IVR or voicemail.
@pytest.mark.parametrize(("parties", "expected"), [
    (("External", "10000", "Extension", "101", "Extension", "101"), (2, 2, "10000", "101")),
    (("Line", "10000", "Queue", "800", "Extension", "101"), (2, 2, "10000", "101")),
    (("ExternalLine", "10000", "IVR", "900", "VoiceMail", "900"), (2, 2, "10000", "900")),
    # forwarded out again (trunk to trunk): still incoming, through the line it came in on
    (("External", "10000", "Extension", "101", "External", "10001"), (2, 2, "10000", "10001")),
    (("Extension", "101", "External", "10000", "External", "10000"), (2, 3, "10000", "101")),
    (("Internal", "101", "Line", "10000", "", ""), (2, 3, "10000", "101")),  # no final: to-type decides
    (("Extension", "101", "Ring Group", "800", "Line", "10001"), (2, 3, "10001", "101")),
    (("Internal", "101", "Internal", "102", "Internal", "102"), (1, 1, None, "102")),
    (("Extension", "101", "Ring Group", "800", "Extension", "102"), (1, 1, None, "102")),
    (("Extension", "101", "IVR", "900", "Fax", "900"), (1, 1, None, "900")),
    (("", "101", "", "102", "", "102"), (None, None, None, "102")),
])
def test_party_type_mapping(parties: tuple[str, ...], expected: tuple[Any, ...]) -> None:
    line = "1,2024/06/05 09:00:00," + ",".join(parties)
    row = read_source("3cx", line.encode(), options={"fields": TYPE_FIELDS}).to_pylist()[0]
    assert (row["callType"], row["callDir"], row["trunk"], row["userNum"]) == expected


@pytest.mark.parametrize(("text", "folded"), [
    ("External", "external"), ("EXTERNAL", "external"), ("ExternalLine", "externalline"),
    ("Ring Group", "ringgroup"), ("RingGroup", "ringgroup"), (" ring  group ", "ringgroup"),
    ("VoiceMail", "voicemail"), (" ", None), (None, None),
])
def test_party_type_ignores_case_and_spaces(text: str | None, folded: str | None) -> None:
    assert party_type(text) == folded


@given(st.integers(min_value=0, max_value=999 * 3600 + 3599))
def test_duration_round_trip(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert len(text.split(":")) == 3


@given(st.text(alphabet="0123456789:. x", max_size=12))
def test_duration_parser_accepts_only_hh_mm_ss(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError:
        return
    hours, minutes, seconds = text.strip().split(":")
    assert value == int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    assert int(minutes) < 60 and float(seconds) < 60


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)))
def test_time_round_trip_utc_and_dashed(moment: datetime) -> None:
    assert parse_time(moment.strftime("%Y/%m/%d %H:%M:%S"), None) == moment.replace(tzinfo=UTC)
    assert parse_time(moment.strftime("%Y-%m-%d %H:%M:%S"), None) == moment.replace(tzinfo=UTC)
