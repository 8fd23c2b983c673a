"""Asterisk cdr_csv importer: exact rows (hand-worked, across DST), layouts, errors, dedupe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.calls.schema import NUMERIC_DEFAULTS, SEGMENT_SCHEMA
from callboard.sources import SourceError, asterisk, read_source
from callboard.sources.asterisk import channel_resource, split_clid
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent / "samples" / "asterisk"
CALLER = {"cli": "+441134960000", "cliName": "Caller", "callUserNum": "+441134960000", "callUserName": "Caller"}
ALICE = {"cli": "1001", "cliName": "Alice", "callUserNum": "1001", "callUserName": "Alice"}


def full(**values: object) -> dict[str, object]:
    row: dict[str, object] = {f.name: NUMERIC_DEFAULTS.get(f.name) for f in SEGMENT_SCHEMA}
    row.update(values)
    return row


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_21_column_london_across_dst() -> None:
    t = read_source("asterisk", SAMPLES / "Master_london_21col.csv", time_zone="Europe/London")
    assert t.schema == SEGMENT_SCHEMA
    assert t.to_pylist() == [
        # rang 1001 from 00:59:50 GMT until 02:00:05 BST: 15 s, not 1 h 15 s; answered elsewhere → ref
        full(docId="1743296390.1:10", connId="1743296390.1", start=utc(2025, 3, 30, 0, 59, 50), ring=15.0,
             duration=15.0, userNum="1001", callType=2, callDir=2, ref=1, calledUserNum="200",
             accountCode="acct1", trunk="bt-sip", **CALLER),
        full(docId="1743296390.1:11", connId="1743296390.1", start=utc(2025, 3, 30, 1, 0, 5), ring=4.0,
             duration=184.0, userNum="1002", callType=2, callDir=2, ans=1, calledUserNum="200",
             accountCode="acct1", trunk="bt-sip", **CALLER),
        full(docId="1743325200.5:12", connId="1743325200.5", start=utc(2025, 3, 30, 9, 0), ring=7.0,
             duration=307.0, userName="Alice", userNum="1001", callType=2, callDir=3, ans=1,
             calledUserNum="01134960123", trunk="bt-sip", **ALICE),
        full(docId="1743328800.7:13", connId="1743328800.7", start=utc(2025, 3, 30, 10, 0), ring=20.0,
             duration=20.0, userNum="1002", callType=1, callDir=1, lost=1, calledUserNum="1002", **ALICE),
        full(docId="1743332400.9:14", connId="1743332400.9", start=utc(2025, 3, 30, 11, 0), ring=45.0,
             duration=45.0, userNum="600", cli="+447700900123", cliName="Mobile", hgNum="600", hgName="sales",
             callType=2, callDir=2, lost=1, calledUserNum="600", callUserNum="+447700900123",
             callUserName="Mobile", trunk="bt-sip"),
    ]


def test_16_column_new_york_fall_back() -> None:
    t = read_source("asterisk", SAMPLES / "Master_newyork_16col.csv", time_zone="America/New_York")
    rows = t.to_pylist()
    # 01:30 on 2025-11-02 is ambiguous: first occurrence, EDT; 02:10 is EST
    assert [r["start"] for r in rows] == [utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 7, 10)]
    assert [(r["ring"], r["duration"], r["ans"], r["lost"], r["callDir"], r["trunk"], r["userNum"])
            for r in rows] == [(5.0, 125.0, 1, 0, 2, "twilio", "2001"), (12.0, 12.0, 0, 1, 1, None, "2002")]
    # no uniqueid: a content hash, and each record is its own call
    assert all(r["docId"].startswith("ast:") and r["connId"] == r["docId"] for r in rows)
    again = read_source("asterisk", SAMPLES / "Master_newyork_16col.csv", time_zone="America/New_York")
    assert again.column("docId") == t.column("docId")


def test_18_columns_and_internal_pattern_option() -> None:
    line = (b'"","1001","4711","from-internal","""Alice"" <1001>","PJSIP/1001-00000001","PJSIP/4711-00000002",'
            b'"Dial","PJSIP/4711","2025-06-01 12:00:00","2025-06-01 12:00:02","2025-06-01 12:01:02",62,60,'
            b'"ANSWERED","DOCUMENTATION","1748779200.1","vip"\n')
    (row,) = read_source("asterisk", line, time_zone="UTC").to_pylist()
    assert (row["callDir"], row["userNum"], row["connId"]) == (1, "4711", "1748779200.1")
    assert row["docId"].startswith("ast:")  # uniqueid without sequence is not unique per record
    # when only 1xxx numbers are extensions, PJSIP/4711 is a trunk and the call is outgoing
    (row,) = read_source("asterisk", line, options={"internal_pattern": r"1\d{3}"}).to_pylist()
    assert (row["callDir"], row["callType"], row["trunk"], row["userNum"]) == (3, 2, "4711", "1001")


NUMERIC_TRUNKS = SAMPLES / "Master_numeric_trunks.csv"


def numeric_trunk_rows(declared: bool) -> list[dict[str, object]]:
    """Master_numeric_trunks.csv: trunks 100200, 100300 and 100400 all match the default \\d{2,6}.
    Undeclared, a trunk is found only on a record whose context says party A came in from a trunk
    (each record on its own: the answer must not depend on how the file is split into imports)."""
    def caller(num: str, name: str) -> dict[str, str]:
        return {"cli": num, "cliName": name, "callUserNum": num, "callUserName": name}

    if declared:
        ext_local = full(docId="1748855400.21:31", connId="1748855400.21", start=utc(2025, 6, 2, 9, 10), ring=20.0,
                         duration=20.0, userNum="1002", callType=2, callDir=2, lost=1, calledUserNum="1002",
                         trunk="100200", **caller("+442079460222", "Caller Two"))
        alice = full(docId="1748856600.23:33", connId="1748856600.23", start=utc(2025, 6, 2, 9, 30), ring=5.0,
                     duration=125.0, userNum="1001", userName="Alice", callType=2, callDir=3, ans=1,
                     calledUserNum="01134960123", trunk="100200", **ALICE)
        bob = full(docId="1748857200.24:34", connId="1748857200.24", start=utc(2025, 6, 2, 9, 40), ring=4.0,
                   duration=64.0, userNum="1002", userName="Bob", callType=2, callDir=3, ans=1,
                   calledUserNum="01614960456", trunk="100400", **caller("1002", "Bob"))
    else:  # ext-local and from-internal say nothing of party A: the pattern calls the trunks extensions
        ext_local = full(docId="1748855400.21:31", connId="1748855400.21", start=utc(2025, 6, 2, 9, 10), ring=20.0,
                         duration=20.0, userNum="1002", callType=1, callDir=1, lost=1, calledUserNum="1002",
                         **caller("+442079460222", "Caller Two"))
        alice = full(docId="1748856600.23:33", connId="1748856600.23", start=utc(2025, 6, 2, 9, 30), ring=5.0,
                     duration=125.0, userNum="100200", callType=1, callDir=1, ans=1,
                     calledUserNum="01134960123", **ALICE)
        bob = full(docId="1748857200.24:34", connId="1748857200.24", start=utc(2025, 6, 2, 9, 40), ring=4.0,
                   duration=64.0, userNum="100400", callType=1, callDir=1, ans=1,
                   calledUserNum="01614960456", **caller("1002", "Bob"))
    return [
        # from-pstn: party A came in from a trunk
        full(docId="1748854800.20:30", connId="1748854800.20", start=utc(2025, 6, 2, 9, 0), ring=6.0,
             duration=186.0, userNum="1001", callType=2, callDir=2, ans=1, calledUserNum="02079460000",
             trunk="100200", **caller("+442079460111", "Caller One")),
        ext_local,
        full(docId="1748856000.22:32", connId="1748856000.22", start=utc(2025, 6, 2, 9, 20), ring=3.0,
             duration=63.0, userNum="1003", callType=2, callDir=2, ans=1, calledUserNum="02079460001",
             trunk="100300", **caller("+442079460333", "Caller Three")),
        alice,
        bob,
        full(docId="1748857800.25:35", connId="1748857800.25", start=utc(2025, 6, 2, 9, 50), ring=2.0,
             duration=62.0, userNum="1002", callType=1, callDir=1, ans=1, calledUserNum="1002", **ALICE),
    ]


@pytest.fixture(params=["columnar", "rows"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both readers must classify alike: "rows" turns the columnar path off."""
    if request.param == "rows":
        monkeypatch.setattr(asterisk, "_read_columnar", lambda *args: None)
    return str(request.param)


def test_numeric_trunks_by_inbound_context(reader: str) -> None:
    t = read_source("asterisk", NUMERIC_TRUNKS, time_zone="UTC")
    assert t.to_pylist() == numeric_trunk_rows(declared=False)


def test_declared_trunks_are_always_external(reader: str) -> None:
    t = read_source("asterisk", NUMERIC_TRUNKS, time_zone="UTC", options={"trunks": "100200, 100300,100400"})
    assert t.to_pylist() == numeric_trunk_rows(declared=True)
    # names are matched exactly, as Asterisk does: another case or a prefix is not the trunk
    rows = read_source("asterisk", NUMERIC_TRUNKS, options={"trunks": "1004,Trunk100400"}).to_pylist()
    assert rows[4]["callDir"] == 1


def test_inbound_contexts_option_local_and_isdn_channels(reader: str) -> None:
    def line(context: str, channel: str, dstchannel: str = "PJSIP/1001-2") -> bytes:
        return (f'"","+442079460111","1001","{context}","","{channel}","{dstchannel}","Dial","",'
                f'"2025-06-01 12:00:00","2025-06-01 12:00:02","2025-06-01 12:01:02",62,60,'
                f'"ANSWERED","DOCUMENTATION"\n').encode()

    def direction(data: bytes, **options: str) -> list[tuple[int, str | None]]:
        return [(r["callDir"], r["trunk"]) for r in read_source("asterisk", data, options=options).to_pylist()]

    assert direction(line("incoming", "PJSIP/100200-1")) == [(1, None)]
    assert direction(line("incoming", "PJSIP/100200-1"), inbound_contexts="incoming,from-provider") == [
        (2, "100200")]
    assert direction(line("from-trunk", "PJSIP/100200-1"), inbound_contexts="incoming") == [(1, None)]
    assert direction(line("ext-did-0001", "PJSIP/100200-1")) == [(2, "100200")]
    # FreePBX reaches its own extensions through Local/<ext>@from-did-direct: not a trunk
    assert direction(line("from-did-direct", "PJSIP/100200-1")) == [(1, None)]
    assert direction(line("from-pstn", "Local/2001@from-internal-00000001;2")) == [(1, None)]
    # an ISDN channel is a line whatever internal_pattern says
    assert direction(line("default", "DAHDI/i1/442079460111-5"), internal_pattern=".*") == [
        (2, "i1/442079460111")]
    assert direction(line("default", "DAHDI/3-1"), internal_pattern=".*") == [(1, None)]


def test_explicit_columns_option_for_17_columns() -> None:
    line = (b'"","1001","1002","from-internal","","PJSIP/1001-1","PJSIP/1002-2","Dial","",'
            b'"2025-06-01 12:00:00",,"2025-06-01 12:00:09",9,0,"BUSY","DOCUMENTATION","1748779200.7"\n')
    with pytest.raises(SourceError, match="columns="):
        read_source("asterisk", line)
    cols = ",".join(["accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
                     "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
                     "uniqueid"])
    (row,) = read_source("asterisk", line, options={"columns": cols}).to_pylist()
    assert (row["connId"], row["lost"], row["ring"]) == ("1748779200.7", 1, 9.0)


def test_bad_rows_refuse_the_file(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    with pytest.raises(SourceError) as info:
        wh.append("ws", read_source("asterisk", SAMPLES / "Master_bad_row.csv", time_zone="Europe/London"))
    errs = info.value.errors
    assert [(e.row, e.column) for e in errs] == [(2, "disposition"), (3, None)]
    assert "unknown disposition 'ANSWRED'" in errs[0].reason
    assert errs[1].reason == "expected 21 columns, got 20"
    assert wh.count() == 0


def test_import_twice_stores_once(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    path = SAMPLES / "Master_london_21col.csv"
    first = wh.append("pbx", read_source("asterisk", path, time_zone="Europe/London"))
    second = wh.append("pbx", read_source("asterisk", path, time_zone="Europe/London"))
    assert first.as_dict() == {"received": 5, "inserted": 5, "duplicates": 0}
    assert second.as_dict() == {"received": 5, "inserted": 0, "duplicates": 5}


def test_channel_and_clid_parsing() -> None:
    assert channel_resource("PJSIP/1001-0000002a") == "1001"
    assert channel_resource("SIP/trunk-voipms-0000004f") == "trunk-voipms"
    assert channel_resource("Local/1001@from-internal-00000012;1") == "1001"
    assert channel_resource("DAHDI/1-1") == "1"
    assert channel_resource("") is None
    assert split_clid('"Alice Smith" <1001>') == ("Alice Smith", "1001")
    assert split_clid("<+441134960000>") == (None, "+441134960000")


@settings(max_examples=120, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)),
       st.integers(min_value=0, max_value=7200),
       st.sampled_from(["Europe/London", "America/New_York", "Europe/Berlin", "Australia/Sydney"]))
def test_local_stamps_convert_like_zoneinfo(local: datetime, secs: int, tz: str) -> None:
    local = local.replace(microsecond=0)
    end = local + timedelta(seconds=secs)
    fmt = "%Y-%m-%d %H:%M:%S"
    line = (f'"","1001","1002","from-internal","","PJSIP/1001-1","PJSIP/1002-2","Dial","",'
            f'"{local:{fmt}}",,"{end:{fmt}}",{secs},0,"NO ANSWER","DOCUMENTATION"\n').encode()
    (row,) = read_source("asterisk", line, time_zone=tz).to_pylist()
    assert row["start"] == local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert row["duration"] == float(secs) and row["ring"] == float(secs) and row["lost"] == 1
