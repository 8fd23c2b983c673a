"""Cisco CUCM CDR flat-file importer: header + type lines, CDR rows only, columns by name."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callboard.calls.schema import FIELD_NAMES, SEGMENT_SCHEMA
from callboard.reports.request import resolve_request
from callboard.reports.runner import run_report
from callboard.service.imports import import_data
from callboard.sources import read_source
from callboard.sources.base import SourceError
from callboard.sources.cucm import epoch_to_utc, is_trunk
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent / "samples" / "cucm"
CDR = SAMPLES / "cdr_StandAloneCluster_01_202409101400_1042"
BAD = SAMPLES / "cdr_StandAloneCluster_01_202409101400_1043_bad_row"
PKID = "6a1c6e52-8f0d-4b7e-9a41-3c0e1d00000"


def seg(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    row.update(ans=0, ref=0, lost=0)
    row.update(kw)
    return row


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 9, 10, hour, minute, second, tzinfo=UTC)


# Worked out by hand from the sample: epochs 1725973200 = 2024-09-10 13:00:00 UTC etc.;
# ring = connect − origination (disconnect − origination when never connected),
# duration = disconnect − origination (CUCM's own "duration" is connect → disconnect).
EXPECTED = [
    # PSTN → hunt pilot 5000 → agent 1001 (jdoe) answers after 9 s, talks 180 s
    seg(docId=f"{PKID}1", connId="1-100001", start=at(13, 0), ring=9.0, duration=189.0, userName="jdoe",
        userNum="1001", cli="+12125550100", hgNum="5000", callType=2, callDir=2, ans=1, calledUserNum="5000",
        calledUserName="jdoe", callUserNum="+12125550100", trunk="SIP_TRUNK_PSTN"),
    # 1002 (asmith) dials out through the SIP trunk with a client matter code
    seg(docId=f"{PKID}2", connId="1-100002", start=at(13, 30), ring=5.0, duration=65.0, userName="asmith",
        userNum="1002", cli="1002", callType=2, callDir=3, ans=1, calledUserNum="912125550199",
        callUserNum="1002", callUserName="asmith", accountCode="CLIENT-42", trunk="SIP_TRUNK_PSTN"),
    # 1001 → 1002 rings out (destCause 19 = no answer) → refused
    seg(docId=f"{PKID}3", connId="1-100003", start=at(14, 0), ring=20.0, duration=20.0, userName="asmith",
        userNum="1002", cli="1001", callType=1, callDir=1, ref=1, calledUserNum="1002", calledUserName="asmith",
        callUserNum="1001", callUserName="jdoe"),
    # PSTN through an MGCP gateway → 1003, caller hangs up after 12 s (origCause 16) → lost
    seg(docId=f"{PKID}4", connId="1-100004", start=at(14, 45, 10), ring=12.0, duration=12.0, userName="mlee",
        userNum="1003", cli="+13125550177", callType=2, callDir=2, lost=1, calledUserNum="1003",
        calledUserName="mlee", callUserNum="+13125550177", trunk="S0/SU0/DS1-0@RTR-HQ-GW"),
]


def rows(table: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "extra"} for r in table.to_pylist()]


def parse_file(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    lines = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    return lines[0], lines[1], [r for r in lines[2:] if r and r[0] == "1"]


def render(header: list[str], types: list[str], data: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    buf.write(",".join(f'"{h}"' for h in header) + "\r\n" + ",".join(types) + "\r\n")
    writer.writerows(data)
    return buf.getvalue().encode()


def test_cdr_rows_map_to_exact_canonical_rows_and_cmr_is_skipped() -> None:
    table = read_source("cucm", CDR)
    assert table.schema == SEGMENT_SCHEMA
    assert rows(table) == EXPECTED


def test_unmapped_columns_land_in_extra_without_zero_placeholders() -> None:
    extra = json.loads(read_source("cucm", CDR).column("extra")[0].as_py())
    assert extra["destDeviceSessionID"] == "c0ffee0000000000000000000000a001"  # newer-release column
    assert extra["huntPilotPattern"] == "5000"
    assert extra["destCause_value"] == "16"
    assert extra["globalCallId_ClusterID"] == "StandAloneCluster"
    assert "origCause_value" not in extra  # 0 = unset in CUCM
    assert "pkid" not in extra and "dateTimeOrigination" not in extra


def test_columns_are_matched_by_name_and_new_columns_kept() -> None:
    header, types, data = parse_file(CDR)
    order = list(range(len(header)))
    random.Random(7).shuffle(order)
    header = [header[i] for i in order] + ["origAiNoiseScore"]
    types = [types[i] for i in order] + ["INTEGER"]
    data = [[r[i] for i in order] + [str(n + 40)] for n, r in enumerate(data)]
    table = read_source("cucm", render(header, types, data))
    assert rows(table) == EXPECTED
    assert [json.loads(e)["origAiNoiseScore"] for e in table.column("extra").to_pylist()] == ["40", "41", "42", "43"]


def test_trunk_patterns_option_overrides_the_heuristic() -> None:
    table = read_source("cucm", CDR, options={"trunks": "SIP_TRUNK_*"})
    assert table.column("callDir").to_pylist() == [2, 3, 1, 1]  # the MGCP gateway is no longer a trunk
    assert table.column("trunk").to_pylist() == ["SIP_TRUNK_PSTN", "SIP_TRUNK_PSTN", None, None]
    table = read_source("cucm", CDR, options={"trunks": "nothing-matches"})
    assert table.column("callDir").to_pylist() == [1, 1, 1, 1]


def test_bad_row_refuses_the_file_naming_row_column_and_reason() -> None:
    with pytest.raises(SourceError) as info:
        read_source("cucm", BAD)
    assert [e.as_dict() for e in info.value.errors] == [
        {"row": 3, "field": "dateTimeDisconnect", "reason": "not an integer: '17259x0020'"}]


def test_wrong_cell_count_and_missing_key_column() -> None:
    header, types, data = parse_file(CDR)
    data[1] = data[1][:-3]
    with pytest.raises(SourceError) as info:
        read_source("cucm", render(header, types, data))
    assert [(e.row, e.column, e.reason) for e in info.value.errors] == [
        (2, None, f"expected {len(header)} values, found {len(header) - 3}")]

    header, types, data = parse_file(CDR)
    i = header.index("dateTimeOrigination")
    with pytest.raises(SourceError) as info:
        read_source("cucm", render(header[:i] + header[i + 1:], types[:i] + types[i + 1:],
                                   [r[:i] + r[i + 1:] for r in data]))
    assert [e.as_dict() for e in info.value.errors] == [
        {"row": 0, "field": "dateTimeOrigination", "reason": "missing column"}]


def test_a_cmr_file_yields_no_segments() -> None:
    body = (
        b'"cdrRecordType","globalCallID_callManagerId","globalCallID_callId","nodeId","directoryNum",'
        b'"callIdentifier","dateTimeStamp","numberPacketsLost","jitter","latency","pkid","varVQMetrics"\r\n'
        b"INTEGER,INTEGER,INTEGER,INTEGER,VARCHAR(50),INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,"
        b"UNIQUEIDENTIFIER,VARCHAR(600)\r\n"
        b'2,1,100001,1,"1001",21001004,1725973389,10,2,0,"6a1c6e52-0000-0000-0000-0000000000c1","MLQKav=4.05;CS=0"\r\n'
    )
    assert read_source("cucm", body).num_rows == 0


def test_import_twice_stores_once_and_bad_file_stores_nothing(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    try:
        assert wh.append("ws", read_source("cucm", CDR)).as_dict() == {
            "received": 4, "inserted": 4, "duplicates": 0}
        assert wh.append("ws", read_source("cucm", CDR)).as_dict() == {
            "received": 4, "inserted": 0, "duplicates": 4}
        with pytest.raises(SourceError):
            wh.append("ws2", read_source("cucm", BAD))
        assert (wh.count("ws"), wh.count("ws2")) == (4, 0)
    finally:
        wh.close()


@given(st.integers(min_value=1, max_value=4_102_444_800), st.integers(min_value=0, max_value=600),
       st.integers(min_value=0, max_value=86_400), st.booleans())
def test_epoch_round_trip(origination: int, ring: int, talk: int, connected: bool) -> None:
    connect = origination + ring if connected else 0
    disconnect = origination + ring + (talk if connected else 0)
    body = (
        '"cdrRecordType","globalCallID_callManagerId","globalCallID_callId","dateTimeOrigination",'
        '"dateTimeConnect","dateTimeDisconnect","duration","pkid"\r\n'
        "INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,UNIQUEIDENTIFIER\r\n"
        f'1,1,7,{origination},{connect},{disconnect},{talk if connected else 0},"p-1"\r\n'
    ).encode()
    row = read_source("cucm", body).to_pylist()[0]
    assert row["start"] == epoch_to_utc(origination)
    assert int(row["start"].timestamp()) == origination
    assert row["ring"] == ring
    assert row["duration"] == ring + (talk if connected else 0)
    assert row["ans"] == int(connected)


@given(st.text(alphabet="0123456789ABCDEF", min_size=12, max_size=12), st.sampled_from(["SEP", "CSF", "BOT"]))
def test_phones_are_never_trunks(mac: str, prefix: str) -> None:
    assert not is_trunk(prefix + mac)


NOT_OFFERED = SAMPLES / "cdr_StandAloneCluster_01_202409101500_1044_not_offered"
PKID_2 = "7b2d7f63-9e1e-4c8f-8b52-4d1f2e0000"


def test_legs_never_offered_to_anyone_are_neither_answered_nor_lost_nor_refused() -> None:
    """Issue #16: routing failures (no device reached, or an unroutable number) are kept as segments
    with ans = ref = lost = 0; only the leg that rang a phone unanswered is lost."""
    flags = [(r["docId"], r["userNum"], r["callDir"], r["trunk"], r["ans"], r["ref"], r["lost"])
             for r in read_source("cucm", NOT_OFFERED).to_pylist()]
    assert flags == [
        (f"{PKID_2}01", "5999", 2, "SIP_TRUNK_PSTN", 0, 0, 0),  # unallocated number, no device (origCause 1)
        (f"{PKID_2}02", "915555550100", 2, "SIP_TRUNK_PSTN", 0, 0, 0),  # forwarded out, carrier: no route (3)
        (f"{PKID_2}03", "1001", 2, "SIP_TRUNK_PSTN", 0, 0, 1),  # rang jdoe's phone 15 s, caller hung up: lost
        (f"{PKID_2}04", "1002", 2, "SIP_TRUNK_PSTN", 1, 0, 0),  # answered
        (f"{PKID_2}05", "1003", 1, None, 0, 1, 0),  # user busy (destCause 17) on mlee's phone: refused
        (f"{PKID_2}06", "8123", 1, None, 0, 0, 0),  # internal dial matching no pattern (origCause 3), no device
    ]


@pytest.mark.parametrize(("device", "orig_cause", "dest_cause", "lost"), [
    ("", 16, 0, 0),  # no device reached, whatever the cause
    ("", 0, 0, 0),
    ("SEP0011AABB1001", 16, 0, 1),  # rang a phone, caller hung up
    ("SEP0011AABB1001", 0, 0, 1),
    ("SEP0011AABB1001", 1, 0, 0),  # unroutable number on either side
    ("SEP0011AABB1001", 0, 28, 0),
    ("SIP_TRUNK_PSTN", 0, 41, 0),  # destination side unreachable
    ("SEP0011AABB1001", 0, 127, 0),
    ("SEP0011AABB1001", 41, 0, 1),  # the caller's network failed while the phone rang: still offered
    ("SEP0011AABB1001", 38, 16, 1),
])
def test_never_offered_rule(device: str, orig_cause: int, dest_cause: int, lost: int) -> None:
    body = (
        '"cdrRecordType","globalCallID_callManagerId","globalCallID_callId","dateTimeOrigination",'
        '"dateTimeConnect","dateTimeDisconnect","duration","pkid","origDeviceName","destDeviceName",'
        '"origCause_value","destCause_value"\r\n'
        "INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,UNIQUEIDENTIFIER,VARCHAR(129),VARCHAR(129),"
        "INTEGER,INTEGER\r\n"
        f'1,1,7,1725980400,0,1725980410,0,"p-1","S0/SU0/DS1-0@RTR-HQ-GW","{device}",{orig_cause},{dest_cause}\r\n'
    ).encode()
    row = read_source("cucm", body).to_pylist()[0]
    assert (row["callDir"], row["ans"], row["ref"], row["lost"]) == (2, 0, 0, lost)


def test_summary_report_counts_only_the_offered_leg_as_lost(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(None)
    try:
        import_data(wh, "ws", NOT_OFFERED.read_bytes(), "cucm", source="cucm")
        dates = {"presetName": "Custom", "start": "2024-09-10T00:00:00Z", "end": "2024-09-11T00:00:00Z"}
        now = datetime(2024, 10, 1, tzinfo=UTC)
        calls = run_report(wh, "ws", resolve_request(
            {"reportTemplateName": "CallList", "metadata": {"dateFilter": dates}}, now=now), tmp_path / "c.parquet")
        assert calls.total_count == 6  # the routing failures still show in the call list
        assert (calls.summary["ans"], calls.summary["lost"]) == (1, 1)
        users = run_report(wh, "ws", resolve_request(
            {"reportTemplateName": "CallSummaryByUser", "metadata": {"dateFilter": dates}}, now=now),
            tmp_path / "u.parquet")
        assert (users.summary["ans"], users.summary["ref"], users.summary["lost"]) == (1, 1, 1)
    finally:
        wh.close()
