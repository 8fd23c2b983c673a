"""The synthetic organisation: deterministic, canonical, internally consistent and realistic."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from callboard.calls.schema import FIELD_NAMES, SEGMENT_SCHEMA
from callboard.generate import (
    ChunkSimulator,
    LocalClock,
    OrgConfig,
    benchmark_org,
    erlang_b,
    expected_segments,
    generate_batches,
    lines_for,
    load_into,
    run_generate,
    write,
)

MONTH = OrgConfig(seed=7, users=40, start=date(2025, 5, 1), days=31)


def _frame(config: OrgConfig) -> pd.DataFrame:
    table = pa.concat_tables(list(generate_batches(config)))
    df = table.to_pandas()
    df["local"] = df["start"].dt.tz_convert(config.time_zone)
    return df


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    return _frame(MONTH)


def _e164(number: str | None) -> str | None:
    if number is None:
        return None
    return phonenumbers.format_number(phonenumbers.parse(number, "GB"), phonenumbers.PhoneNumberFormat.E164)


# ---- determinism and shape ----------------------------------------------------------------------

def test_same_config_gives_identical_output(tmp_path: Path) -> None:
    small = OrgConfig(seed=3, users=12, days=9, start=date(2025, 1, 28))
    first = list(generate_batches(small))
    second = list(generate_batches(small))
    assert len(first) == 2  # split at the month boundary
    assert all(a.equals(b) for a, b in zip(first, second, strict=True))
    write(small, tmp_path / "a.ndjson", "ndjson")
    write(small, tmp_path / "b.ndjson", "ndjson")
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()
    other = pa.concat_tables(generate_batches(small.with_(seed=4)))
    assert not other.equals(pa.concat_tables(first))
    assert set(other.column("docId").to_pylist()).isdisjoint(pa.concat_tables(first).column("docId").to_pylist())


# ---- record ids ---------------------------------------------------------------------------------

def _ids(table: pa.Table, column: str) -> set[str]:
    return set(table.column(column).to_pylist())


def test_consecutive_months_share_no_record_id(tmp_path: Path) -> None:
    # what `callboard generate` runs for October, then November, with its default seed (1)
    october, november = tmp_path / "oct.parquet", tmp_path / "nov.parquet"
    run_generate(october, "parquet", seed=1, users=12, days=31, start=date(2025, 10, 1), time_zone="Europe/London")
    run_generate(november, "parquet", seed=1, users=12, days=30, start=date(2025, 11, 1), time_zone="Europe/London")
    a, b = pq.read_table(october), pq.read_table(november)
    assert a.num_rows > 1000 and b.num_rows > 1000
    assert _ids(a, "docId").isdisjoint(_ids(b, "docId"))
    assert _ids(a, "connId").isdisjoint(_ids(b, "connId"))
    # the same arguments again: the same file
    again = tmp_path / "again.parquet"
    run_generate(again, "parquet", seed=1, users=12, days=30, start=date(2025, 11, 1), time_zone="Europe/London")
    assert pq.read_table(again).equals(b)


def test_overlapping_periods_generate_the_same_records() -> None:
    cfg = OrgConfig(seed=1, users=12, hunt_groups=3)
    october = pa.concat_tables(generate_batches(cfg.with_(start=date(2025, 10, 1), days=31)))
    november = pa.concat_tables(generate_batches(cfg.with_(start=date(2025, 11, 1), days=30)))
    # two months at once are the two months one by one, record for record
    both = pa.concat_tables(generate_batches(cfg.with_(start=date(2025, 10, 1), days=61)))
    assert both.equals(pa.concat_tables([october, november]))
    # a period across the month boundary is a slice of them: the calls starting on its days, whole
    middle = pa.concat_tables(generate_batches(cfg.with_(start=date(2025, 10, 20), days=20)))
    expected = both.filter(pc.is_in(both.column("docId"), middle.column("docId")))
    assert middle.num_rows > 1000 and middle.equals(expected)
    # ... exactly the calls whose first segment starts on one of its local days
    local = both.column("start").to_pandas().dt.tz_convert(cfg.time_zone)
    first_day = pd.DataFrame({"connId": both.column("connId").to_pylist(), "day": local.dt.date}) \
        .groupby("connId").day.min()
    wanted = first_day[(first_day >= date(2025, 10, 20)) & (first_day < date(2025, 11, 9))]
    assert _ids(middle, "connId") == set(wanted.index)


def test_other_organisations_share_no_record_id() -> None:
    cfg = OrgConfig(seed=1, users=12, hunt_groups=3, start=date(2025, 10, 1), days=3)
    base = pa.concat_tables(generate_batches(cfg))
    for other in (cfg.with_(users=13), cfg.with_(name="Other Org"), cfg.with_(seed=2),
                  cfg.with_(calls_per_user_day=11.0)):
        table = pa.concat_tables(generate_batches(other))
        assert _ids(table, "docId").isdisjoint(_ids(base, "docId")), other
        assert _ids(table, "connId").isdisjoint(_ids(base, "connId")), other
    # ids are UUID-shaped (version 4 layout) and the period is not part of the organisation
    assert all(len(x) == 36 and x[14] == "4" for x in base.column("docId").to_pylist()[:100])
    assert cfg.org_digest() == cfg.with_(start=date(2030, 1, 1), days=9).org_digest()


def test_batches_are_canonical_segments() -> None:
    for batch in generate_batches(OrgConfig(seed=1, users=10, days=40, start=date(2025, 2, 10))):
        assert batch.schema.equals(SEGMENT_SCHEMA)
        assert batch.column("start").null_count == 0
        assert batch.column("docId").null_count == 0 and batch.column("connId").null_count == 0
        starts = batch.column("start").to_numpy()
        assert (np.diff(starts.astype("int64")) >= 0).all()  # time order


# ---- invariants ---------------------------------------------------------------------------------

def test_flags_ids_and_hunt_group_outcomes(month: pd.DataFrame) -> None:
    df = month
    assert ((df.ans + df.ref + df.lost) <= 1).all()
    assert df.docId.is_unique
    assert (df.ring >= 0).all() and (df.duration >= df.ring).all()
    hg = df[(df.callDir == 2) & df.hgNum.notna()].sort_values(["connId", "start", "docId"])
    per_call = hg.groupby("connId")
    ans = per_call.ans.sum()
    last_lost = per_call.lost.last()
    assert ((ans == 1) ^ (last_lost == 1)).all()  # exactly one answer, or lost on the last leg
    assert (per_call.lost.sum() <= 1).all()
    assert (per_call.ref.sum() == per_call.size() - 1).all()  # every earlier leg rang out
    # legs follow each other without gaps: the call's wait is the sum of the legs' rings
    legs = hg[hg.ref == 1]
    assert (legs.duration == legs.ring).all()
    assert (hg.callType == 2).all() and hg.trunk.notna().sum() > 0.99 * len(hg)
    internal = df[df.callDir == 1]
    assert (internal.callType == 1).all() and internal.trunk.isna().all() and internal.hgNum.isna().all()
    out = df[df.callDir == 3]
    assert (out.callType == 2).all() and (out.lost == 0).all()
    assert out.accountCode.notna().mean() == pytest.approx(MONTH.account_code_share, abs=0.05)


def test_numbers_and_names_are_consistent(month: pd.DataFrame) -> None:
    df = month
    incoming = df[(df.callDir == 2)]
    withheld = incoming[incoming.cli.isna()]
    assert len(withheld) and (withheld.cliName == "anonymous").all()
    shown = incoming[incoming.cli.notna()]
    assert (shown.callUserNum == shown.cli).all()
    assert shown.cli.str.startswith("+447").any() and shown.cli.str.startswith("07").any()
    assert all(phonenumbers.is_possible_number(phonenumbers.parse(n, "GB")) for n in shown.cli.unique()[:200])
    out = df[df.callDir == 3]
    assert (out.callUserNum == out.userNum).all() and (out.callUserName == out.userName).all()
    assert out.cli.str.startswith("+44").all()
    hg = incoming[incoming.hgNum.notna() & (incoming.ring > 0)]
    assert (hg.calledUserName == hg.hgName).all()
    # one name per extension, extensions of the seed's shape
    assert (df[df.callDir == 1].groupby("userNum").userName.nunique() == 1).all()
    assert df.userNum.dropna().str.fullmatch(r"\d{3,}").all()


# ---- realism ------------------------------------------------------------------------------------

def test_answer_ring_and_talk_are_plausible(month: pd.DataFrame) -> None:
    incoming = month[month.callDir == 2].groupby("connId").ans.max()
    assert 0.75 <= incoming.mean() <= 0.97
    answered = month[month.ans == 1]
    assert 3 <= answered.ring.median() <= 30
    assert 60 <= (answered.duration - answered.ring).median() <= 400
    lost = month[(month.lost == 1) & (month.callDir == 2)]
    assert lost.ring.std() > 5  # abandons are spread, not one fixed timeout


def test_daily_and_weekly_patterns(month: pd.DataFrame) -> None:
    calls = month.sort_values("start").groupby("connId").local.first()
    by_hour = calls.dt.hour.value_counts()
    assert 9 <= by_hour.idxmax() <= 16
    assert by_hour.get(12, 0) + by_hour.get(13, 0) < by_hour.get(10, 0) + by_hour.get(11, 0)  # lunch dip
    assert by_hour.reindex(range(9, 17), fill_value=0).sum() > 0.85 * len(calls)
    per_day = calls.dt.date.value_counts()
    weekday = [v for d, v in per_day.items() if d.weekday() < 5]
    weekend = [per_day.get(d, 0) for d in pd.date_range("2025-05-01", "2025-05-31").date if d.weekday() >= 5]
    assert np.mean(weekend) < 0.3 * np.mean(weekday)


def test_lost_callers_are_called_back_or_ring_again(month: pd.DataFrame) -> None:
    df = month
    lost = df[(df.lost == 1) & (df.callDir == 2) & df.cli.notna()]
    outgoing = df[df.callDir == 3].assign(n=lambda d: d.calledUserNum.map(_e164))
    answered_in = df[(df.callDir == 2) & (df.ans == 1) & df.cli.notna()].assign(n=lambda d: d.cli.map(_e164))
    day = pd.Timedelta(hours=24)
    called_back = rang_again = 0
    for number, start in zip(lost.cli.map(_e164), lost.start, strict=True):
        o = outgoing.start[(outgoing.n == number) & (outgoing.start > start) & (outgoing.start <= start + day)]
        i = answered_in.start[(answered_in.n == number) & (answered_in.start > start)
                              & (answered_in.start <= start + day)]
        called_back += len(o) > 0
        rang_again += len(i) > 0
    assert called_back > 0.2 * len(lost)
    assert rang_again > 0.1 * len(lost)
    # some call-backs dial the national form of an E.164 caller: reports must normalise numbers
    assert outgoing.calledUserNum.str.startswith("0").any()


def _max_concurrent_external(df: pd.DataFrame) -> int:
    ext = df[df.callType == 2]
    start = (ext.start - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    end = start + ext.duration
    calls = pd.DataFrame({"c": ext.connId, "s": start, "e": end}).groupby("c").agg(s=("s", "min"), e=("e", "max"))
    calls = calls[calls.e > calls.s]
    events = np.concatenate([np.stack([calls.s, np.ones(len(calls))], 1), np.stack([calls.e, -np.ones(len(calls))], 1)])
    events = events[np.lexsort((events[:, 1], events[:, 0]))]  # ends before starts at the same instant
    return int(np.cumsum(events[:, 1]).max())


def test_trunk_lines_are_never_exceeded(month: pd.DataFrame) -> None:
    lines = ChunkSimulator(MONTH).org.trunk_lines
    assert _max_concurrent_external(month) <= lines
    assert month.trunk.dropna().isin([f"SIP-TRUNK-{i + 1}" for i in range(lines)]).all()
    # Too few lines: calls are refused busy, and the limit still holds.
    tight = _frame(MONTH.with_(days=7, trunk_lines=3))
    assert _max_concurrent_external(tight) <= 3
    busy = tight[(tight.callType == 2) & tight.trunk.isna()]
    assert len(busy) > 0
    incoming_busy = busy[busy.callDir == 2]
    assert (incoming_busy.lost == 1).all() and (incoming_busy.duration == 0).all()
    assert ((busy[busy.callDir == 3].ans) == 0).all()


def test_trunk_sizing_follows_erlang_b() -> None:
    assert erlang_b(5.0, 10) == pytest.approx(0.01838, abs=1e-4)
    assert lines_for(5.0, 0.01) == 11
    small, big = ChunkSimulator(MONTH).org.trunk_lines, ChunkSimulator(MONTH.with_(users=200)).org.trunk_lines
    assert 2 <= small < big < 200 / 2
    # sized per calendar year (not per generated period): a growing organisation adds lines
    growing = ChunkSimulator(OrgConfig(users=100, growth_per_year=0.5, start=date(2025, 12, 1), days=62))
    assert growing.lines_by_year[2025] < growing.lines_by_year[2026] == growing.org.trunk_lines
    assert growing.lines_by_year[2025] == ChunkSimulator(OrgConfig(users=100, growth_per_year=0.5,
                                                                   start=date(2025, 3, 1), days=5)).org.trunk_lines


# ---- time zones ---------------------------------------------------------------------------------

@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Australia/Sydney"])
def test_local_clock_matches_zoneinfo(tz: str) -> None:
    clock = LocalClock(tz, date(2025, 1, 1), date(2025, 12, 31))
    rng = np.random.default_rng(0)
    utc = rng.integers(int(datetime(2025, 1, 1).timestamp()), int(datetime(2025, 12, 31).timestamp()), 3000)
    zone = ZoneInfo(tz)
    expected = np.array([int(datetime.fromtimestamp(u, zone).utcoffset().total_seconds()) for u in utc.tolist()])
    assert (clock.offset_at(utc) == expected).all()
    local = clock.to_local(utc)
    back = clock.to_utc(local)
    # round trip is exact except for the repeated hour at the autumn change
    assert ((back == utc) | (np.abs(back - utc) == 3600)).all()
    assert (back == utc).mean() > 0.99


@pytest.mark.parametrize("start", [date(2025, 3, 17), date(2025, 10, 13)])
def test_business_hours_hold_across_dst_change(start: date) -> None:
    df = _frame(OrgConfig(seed=11, users=30, start=start, days=28, hunt_groups=2))
    calls = df.sort_values("start").groupby("connId").local.first()
    change = pd.Timestamp(start, tz="Europe/London") + pd.Timedelta(days=13)  # the Sunday of the change
    for part in (calls[calls < change], calls[calls >= change]):
        hours = part.dt.hour + part.dt.minute / 60
        weekday = hours[part.dt.weekday < 5]
        assert ((weekday >= 8) & (weekday < 18)).mean() > 0.97
        assert 9 <= part.dt.hour.value_counts().idxmax() <= 16
        assert 11.5 < weekday.mean() < 14.5
    # UTC hours move by the offset change; local hours do not
    utc_before = df.start[df.local < change].dt.hour.mean()
    utc_after = df.start[df.local >= change].dt.hour.mean()
    assert abs(abs(utc_before - utc_after) - 1.0) < 0.35


# ---- output -------------------------------------------------------------------------------------

def test_files_in_every_format(tmp_path: Path) -> None:
    cfg = OrgConfig(seed=5, users=8, days=3, start=date(2025, 6, 2), hunt_groups=1)
    reference = pa.concat_tables(generate_batches(cfg))
    n = reference.num_rows
    assert write(cfg, tmp_path / "c.ndjson", "ndjson") == n
    lines = (tmp_path / "c.ndjson").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == n and set().union(*rows) <= set(FIELD_NAMES)
    assert rows[0]["start"].endswith("Z") and "T" in rows[0]["start"]
    assert rows[0]["docId"] == reference.column("docId")[0].as_py()
    assert write(cfg, tmp_path / "c.csv", "csv") == n
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == ",".join(FIELD_NAMES)
    csv = pacsv.read_csv(tmp_path / "c.csv")
    assert csv.num_rows == n and csv.column("start")[0].as_py() == reference.column("start")[0].as_py()
    assert write(cfg, tmp_path / "c.parquet", "parquet") == n
    pq_table = pq.read_table(tmp_path / "c.parquet")
    assert pq_table.column_names == list(FIELD_NAMES)
    assert pq_table.equals(reference.select(list(FIELD_NAMES)))
    with pytest.raises(ValueError, match="ndjson"):
        write(cfg, tmp_path / "x", "xml")


def test_run_generate_reports_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    rows = run_generate(tmp_path / "o.csv", "csv", seed=1, users=6, days=35, start=date(2025, 1, 1),
                        time_zone="Europe/Berlin", progress=seen.append)
    assert rows == sum(seen) and len(seen) == 2
    assert len((tmp_path / "o.csv").read_text().splitlines()) == rows + 1


def test_load_into_warehouse_is_idempotent() -> None:
    from callboard.warehouse import DuckDBWarehouse

    cfg = OrgConfig(seed=9, users=6, days=5, start=date(2025, 4, 1), hunt_groups=1)
    wh = DuckDBWarehouse.open(None)
    try:
        first = load_into(wh, "ws1", cfg)
        assert first.inserted == first.received > 0 and first.duplicates == 0
        again = load_into(wh, "ws1", cfg)
        assert again.inserted == 0 and again.duplicates == first.received
        assert wh.count("ws1") == first.inserted
    finally:
        wh.close()


def test_benchmark_configs_size_the_spec_benchmark() -> None:
    configs = benchmark_org(n_workspaces=20, users_total=500, seed=100)
    assert len(configs) == 20 and sum(c.users for c in configs) == 500
    assert len({c.seed for c in configs}) == 20
    total = sum(expected_segments(c) for c in configs)
    assert 9_500_000 <= total <= 10_500_000
    # the estimate the sizing relies on holds for a generated month of one workspace
    one = configs[0].with_(days=30)
    generated = sum(t.num_rows for t in generate_batches(one))
    assert generated == pytest.approx(expected_segments(one), rel=0.12)
