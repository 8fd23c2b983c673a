"""Canonical importer: exact rows from hand-worked samples, DST, errors, idempotent storage."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.calls.schema import NUMERIC_DEFAULTS, SEGMENT_SCHEMA
from callboard.sources import SourceError, read_source
from callboard.sources.canonical import local_to_utc
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent / "samples" / "canonical"


def full(**values: object) -> dict[str, object]:
    row: dict[str, object] = {f.name: NUMERIC_DEFAULTS.get(f.name) for f in SEGMENT_SCHEMA}
    row.update(values)
    return row


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


LONDON_ROWS = [
    full(docId="c-1", connId="call-1", start=utc(2025, 3, 30, 0, 30), ring=5.0, duration=65.0, userName="Alice",
         userNum="1001", cli="+441134960000", cliName="ACME Ltd", callType=2, callDir=2, ans=1, trunk="bt-sip"),
    # 02:30 local is after the clocks went forward (BST, +01:00)
    full(docId="c-2", connId="call-2", start=utc(2025, 3, 30, 1, 30), ring=12.0, duration=12.0, userName="Bob",
         userNum="1002", cli="+441134960001", callType=2, callDir=2, lost=1, trunk="bt-sip",
         extra='{"queue":"sales"}'),
    full(docId="c-3", connId="c-3", start=utc(2025, 3, 30, 9, 0), duration=30.5, userName="Alice", userNum="1001",
         cli="1002", cliName="Bob", callType=1, callDir=1, ans=1),
    # 01:30 on 2025-10-26 happens twice in London: the first (BST) one is taken
    full(docId="c-4", connId="call-4", start=utc(2025, 10, 26, 0, 30), ring=3.0, duration=40.0, userName="Bob",
         userNum="1002", cli="+441134960002", callType=2, callDir=2, ans=1, trunk="bt-sip"),
    # 01:30 on 2025-03-30 never happened in London: read with the offset before the change (GMT)
    full(docId="c-5", connId="call-5", start=utc(2025, 3, 30, 1, 30)),
]


def read(name: str, tz: str | None = None, **kw: object) -> pa.Table:
    return read_source("canonical", SAMPLES / name, time_zone=tz, **kw)  # type: ignore[arg-type]


def test_csv_exact_rows_across_dst() -> None:
    t = read("calls_london.csv", "Europe/London")
    assert t.schema == SEGMENT_SCHEMA
    assert t.to_pylist() == LONDON_ROWS


def test_parquet_same_rows_as_csv(tmp_path: Path) -> None:
    # a Parquet file as a BI tool would write it: naive local start text, typed numbers
    src = read("calls_london.csv", "Europe/London")
    text = pa.table({"start": ["2025-03-30 00:30:00", "2025-03-30 02:30:00"], "docId": ["p-1", "p-2"],
                     "duration": pa.array([65, 12], pa.int32()), "ans": pa.array([True, False])})
    pq.write_table(text, tmp_path / "a.parquet")
    t = read_source("canonical", tmp_path / "a.parquet", time_zone="Europe/London")
    assert t.column("start").to_pylist() == [utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 1, 30)]
    assert t.column("duration").to_pylist() == [65.0, 12.0]
    assert t.column("ans").to_pylist() == [1, 0]
    # round trip of our own output (UTC timestamps) is lossless
    pq.write_table(src, tmp_path / "b.parquet")
    assert read_source("canonical", (tmp_path / "b.parquet").read_bytes(),
                       content_type="application/vnd.apache.parquet").to_pylist() == LONDON_ROWS


def test_json_array_with_offsets_and_local_times() -> None:
    t = read("calls.json", "America/New_York")
    rows = t.to_pylist()
    assert rows[0] == full(docId="j-1", connId="call-9", start=utc(2025, 11, 2, 5, 30), ring=4.0, duration=124.5,
                           userName="Carol", userNum="2001", cli="+12125550123", callType=2, callDir=2, ans=1,
                           trunk="twilio", extra='{"queue":"support","wait":4}')
    # 01:30 local on 2025-11-02 is ambiguous in New York: first occurrence (EDT, -04:00)
    assert rows[1] == full(docId="j-2", connId="call-9", start=utc(2025, 11, 2, 5, 30), ring=20.0, duration=20.0,
                           userName="Dave", userNum="2002", callType=2, callDir=2, ref=1)
    assert rows[2]["start"] == utc(2025, 11, 2, 6, 10)
    assert rows[2]["userNum"] == "2003"
    assert len(rows[2]["docId"]) == 32 and rows[2]["connId"] == rows[2]["docId"]
    assert read("calls.json", "America/New_York").column("docId")[2] == t.column("docId")[2]  # deterministic


def test_ndjson_by_content_type_and_sniffing() -> None:
    body = (SAMPLES / "calls.ndjson").read_bytes()
    expected = [
        full(docId="n-1", connId="n-1", start=utc(2025, 11, 2, 5, 59, 59), ring=1.5, duration=61.5,
             userNum="2001", ans=1),
        # 02:00 local after the clocks went back is EST (-05:00)
        full(docId="n-2", connId="n-2", start=utc(2025, 11, 2, 7, 0), duration=30.0, userNum="2002", lost=1),
    ]
    assert read_source("canonical", body, time_zone="America/New_York",
                       content_type="application/x-ndjson").to_pylist() == expected
    assert read_source("canonical", body, time_zone="America/New_York").to_pylist() == expected


def test_bad_rows_are_all_reported_and_nothing_stored(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    with pytest.raises(SourceError) as info:
        wh.append("ws", read("bad_row.csv"))
    errs = [(e.row, e.column) for e in info.value.errors]
    assert errs == [(2, "ans"), (3, "start"), (4, "ring"), (4, "callDir")]
    assert "must be 0 or 1, got 2" in info.value.errors[0].reason
    assert "bad_row.csv" in str(info.value)
    assert wh.count() == 0


def test_unknown_field_is_refused_with_valid_names() -> None:
    with pytest.raises(SourceError) as info:
        read("typo_field.ndjson")
    (err,) = info.value.errors
    assert (err.row, err.column) == (2, "durration")
    assert "unknown field 'durration'" in err.reason and "duration" in err.reason
    with pytest.raises(SourceError, match="unknown field 'Start'"):
        read_source("canonical", b"Start,docId\n2025-01-01T00:00:00Z,x\n")


def test_missing_start_and_unknown_zone() -> None:
    with pytest.raises(SourceError, match="start is required"):
        read_source("canonical", b'[{"docId": "x", "start": "2025-01-01T00:00:00Z"}, {"docId": "y"}]')
    with pytest.raises(SourceError, match="unknown time zone"):
        read("calls.json", "Mars/Olympus")
    with pytest.raises(SourceError, match="at most one of ans, ref, lost"):
        read_source("canonical", b"start,ans,lost\n2025-01-01T00:00:00Z,1,1\n")


def test_import_twice_stores_once(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(tmp_path / "c.duckdb")
    first = wh.append("ws", read("calls_london.csv", "Europe/London"))
    second = wh.append("ws", read("calls_london.csv", "Europe/London"))
    assert first.as_dict() == {"received": 5, "inserted": 5, "duplicates": 0}
    assert second.as_dict() == {"received": 5, "inserted": 0, "duplicates": 5}
    assert wh.count("ws") == 5


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_rows = st.fixed_dictionaries({
    "docId": st.text(alphabet="abcdef0123456789-", min_size=1, max_size=10),
    "start": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)),
    "ring": st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3)),
    "duration": st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3)),
    "userName": st.one_of(st.none(), _text.filter(lambda s: s.strip() == s and s != "")),
    "callDir": st.sampled_from([1, 2, 3]),
    "ans": st.sampled_from([0, 1]),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(_rows, min_size=1, max_size=20))
def test_csv_round_trip(rows: list[dict[str, object]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "start": r["start"].isoformat().replace("+00:00", "Z")})  # type: ignore[union-attr]
    t = read_source("canonical", buf.getvalue().encode(), content_type="text/csv")
    got = t.select(list(rows[0])).to_pylist()
    assert got == rows


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31)),
       st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]))
def test_local_to_utc_matches_zoneinfo_fold0(local: datetime, tz: str) -> None:
    got = local_to_utc(pa.array([local], pa.timestamp("us")), tz)[0].as_py()
    assert got == local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
