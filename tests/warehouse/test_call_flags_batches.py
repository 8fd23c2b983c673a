"""Calls stay right as legs arrive: a file imported in any number of batches stores exactly the rows
(and stored call rollups) of the same file imported at once, because ``ref``/``lost`` are derived
again over all of a call's stored legs when a later batch adds legs to it (callboard.calls.legs)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from callboard.calls.rollups import STORED
from callboard.reports.request import resolve_request
from callboard.reports.runner import run_report
from callboard.service.imports import import_data
from callboard.warehouse import DuckDBWarehouse

SAMPLES = Path(__file__).parent.parent / "sources" / "samples"
WS = "ws-flags"
T0 = datetime(2025, 3, 3, 9, 0, 0)
ASTERISK_DISPOSITIONS = ["ANSWERED", "NO ANSWER", "NO ANSWER", "BUSY", "CANCEL", "FAILED"]
FREESWITCH_CAUSES = ["NORMAL_CLEARING", "NO_ANSWER", "NO_ANSWER", "USER_BUSY", "ORIGINATOR_CANCEL",
                     "UNALLOCATED_NUMBER"]


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def asterisk_lines(seed: int, calls: int, *, width: int = 21) -> list[bytes]:
    """Master.csv records of ``calls`` calls of 1-4 legs (ring groups, queues, rang-out legs, ends
    that tie), 21 columns (linkedid joins the legs) or 18 (legs share the uniqueid), by end time."""
    rng = random.Random(seed)
    records: list[tuple[datetime, str]] = []
    seq = 0
    for c in range(calls):
        t0 = T0 + timedelta(seconds=40 * c)
        linked = f"17400{c:05d}.1"
        for leg in range(rng.randint(1, 4)):
            seq += 1
            disposition = rng.choice(ASTERISK_DISPOSITIONS)
            start = t0 + timedelta(seconds=rng.choice([0, 0, 5, 12]))
            end = t0 + timedelta(seconds=rng.choice([20, 30, 30, 45]))  # ties are common in ring groups
            answer = start + timedelta(seconds=3) if disposition == "ANSWERED" else None
            duration = int((end - start).total_seconds())
            billsec = int((end - answer).total_seconds()) if answer else 0
            uniqueid = f"{linked[:-2]}.{leg + 1}" if width == 21 else linked
            fields = ["", "+441134960000", "600", "from-trunk", '"Caller" <+441134960000>',
                      f"PJSIP/bt-sip-{c:08x}", f"PJSIP/{1001 + leg}-{seq:08x}", "Dial", f"PJSIP/{1001 + leg},30",
                      _stamp(start), _stamp(answer) if answer else "", _stamp(end), str(duration), str(billsec),
                      disposition, "DOCUMENTATION", uniqueid, ""]
            if width == 21:
                fields += ["", linked, str(seq)]
            records.append((end, ",".join(f'"{f}"' if f else "" for f in fields) + "\n"))
    records.sort(key=lambda r: r[0])
    return [line.encode() for _, line in records]


def freeswitch_lines(seed: int, calls: int) -> list[bytes]:
    """mod_json_cdr NDJSON: per call an inbound a-leg and 0-3 b-legs pointing at it, by end time."""
    rng = random.Random(seed)
    records: list[tuple[int, bytes]] = []
    epoch = int(T0.timestamp()) * 1_000_000
    for c in range(calls):
        t0 = epoch + c * 40_000_000
        a_uuid = f"0000{c:04d}-aaaa-4000-8000-000000000000"
        b_uuids = [f"0000{c:04d}-bbbb-4000-8000-00000000000{j}" for j in range(rng.randint(0, 3))]
        for j, uuid in enumerate([a_uuid, *b_uuids]):
            cause = rng.choice(FREESWITCH_CAUSES)
            start = t0 + rng.choice([0, 200_000, 5_000_000])
            end = t0 + rng.choice([20_000_000, 30_000_000, 30_000_000])
            answer = start + 2_500_000 if cause == "NORMAL_CLEARING" else 0
            variables: dict[str, Any] = {
                "uuid": uuid, "start_uepoch": str(start), "answer_uepoch": str(answer), "end_uepoch": str(end),
                "hangup_cause": cause, "caller_id_number": "+441134960000",
                "destination_number": "600" if j == 0 else f"{1000 + j}",
                "user_context": "public" if j == 0 else "default",
            }
            if j == 0 and b_uuids:
                variables["bleg_uuid"] = b_uuids[0]
            if j:
                variables["originating_leg_uuid"] = a_uuid
            records.append((end, json.dumps({"variables": variables}).encode() + b"\n"))
    records.sort(key=lambda r: r[0])
    return [line for _, line in records]


def sample_lines(name: str) -> list[bytes]:
    return [line for line in (SAMPLES / name).read_bytes().splitlines(keepends=True) if line.strip()]


def stored(wh: DuckDBWarehouse, ws: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every stored row of ``ws`` (by docId), and its rows of every stored call
    rollup table."""
    out = {"calls": wh.raw_sql('SELECT * EXCLUDE (workspace) FROM calls WHERE workspace = ? ORDER BY "docId"',
                               [ws]).fetchall()}
    for s in STORED:
        out[s.table] = wh.raw_sql(f"SELECT * EXCLUDE (workspace) FROM {s.table} WHERE workspace = ? ORDER BY ALL",
                                  [ws]).fetchall()
    return out


def imported(wh: DuckDBWarehouse, ws: str, fmt: str, batches: list[list[bytes]],
             tz: str) -> tuple[dict[str, list[tuple[Any, ...]]], int]:
    """The stored state of a fresh workspace ``ws`` after importing ``batches`` one after another,
    and the duplicates counted."""
    duplicates = sum(import_data(wh, ws, b"".join(batch), fmt, source="batch", time_zone=tz).duplicates
                     for batch in batches)
    return stored(wh, ws), duplicates


CASES = [
    ("asterisk", "UTC", lambda: asterisk_lines(1, 120)),
    ("asterisk", "UTC", lambda: asterisk_lines(2, 120, width=18)),
    ("asterisk", "Europe/London", lambda: sample_lines("asterisk/Master_london_21col.csv")),
    ("asterisk", "America/New_York", lambda: sample_lines("asterisk/Master_newyork_16col.csv")),
    ("asterisk", "UTC", lambda: sample_lines("asterisk/Master_numeric_trunks.csv")),  # trunks by context
    ("freeswitch", "UTC", lambda: freeswitch_lines(3, 120)),
    ("freeswitch", "UTC", lambda: sample_lines("freeswitch/cdr.ndjson")),
    ("freeswitch", "America/New_York", lambda: sample_lines("freeswitch/Master_newyork.csv")),
]


@pytest.mark.parametrize(("fmt", "tz", "lines"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_any_split_into_batches_stores_the_one_shot_rows(fmt: str, tz: str, lines: Any) -> None:
    records: list[bytes] = lines()
    wh = DuckDBWarehouse.open(None)  # one workspace per import order: the others must not matter
    whole, _ = imported(wh, "whole", fmt, [records], tz)
    assert len(whole["calls"]) == len(records)
    for seed in range(12):
        rng = random.Random(seed)
        parts = rng.randint(2, 4)
        cuts = sorted(rng.randint(0, len(records)) for _ in range(parts - 1))
        bounds = list(zip([0, *cuts], [*cuts, len(records)], strict=True))
        # now and then a batch starts again from an earlier point (a file re-imported as it grew)
        again = [rng.choice([0, 0, rng.randint(0, lo)]) if lo else 0 for lo, _ in bounds]
        batches = [records[lo - back:hi] for (lo, hi), back in zip(bounds, again, strict=True)]
        got, duplicates = imported(wh, f"split-{seed}", fmt, batches, tz)
        assert duplicates == sum(again), f"seed {seed}"
        assert got == whole, f"seed {seed}: batches of {[hi - lo for lo, hi in bounds]}"
    wh.close()


def _flags(wh: DuckDBWarehouse) -> list[tuple[Any, ...]]:
    return wh.raw_sql('SELECT "docId", ans, ref, lost FROM calls ORDER BY "docId"').fetchall()


def test_answered_leg_in_a_later_batch_clears_the_first_legs_lost(tmp_path: Path) -> None:
    """1001 rings out (NO ANSWER) and the call is stored alone: lost. Then the leg 1002 answered
    arrives: the call is answered once, 1001's leg refused, and reports say so."""
    lines = [
        b'"","+441134960000","600","from-trunk","""Caller"" <+441134960000>","PJSIP/bt-sip-01",'
        b'"PJSIP/1001-02","Dial","PJSIP/1001,15","2025-03-03 09:00:00",,"2025-03-03 09:00:15",15,0,'
        b'"NO ANSWER","DOCUMENTATION","1740992400.1","","","1740992400.1",1\n',
        b'"","+441134960000","600","from-trunk","""Caller"" <+441134960000>","PJSIP/bt-sip-01",'
        b'"PJSIP/1002-03","Dial","PJSIP/1002,15","2025-03-03 09:00:15","2025-03-03 09:00:18",'
        b'"2025-03-03 09:03:18",183,180,"ANSWERED","DOCUMENTATION","1740992400.2","","","1740992400.1",2\n',
    ]
    wh = DuckDBWarehouse.open(None)
    try:
        import_data(wh, WS, lines[0], "asterisk", time_zone="UTC")
        assert _flags(wh) == [("1740992400.1:1", 0, 0, 1)]
        import_data(wh, WS, lines[1], "asterisk", time_zone="UTC")
        assert _flags(wh) == [("1740992400.1:1", 0, 1, 0), ("1740992400.2:2", 1, 0, 0)]

        req = resolve_request({"reportTemplateName": "CallList", "metadata": {"dateFilter": {
            "presetName": "Custom", "start": "2025-03-03T00:00:00Z", "end": "2025-03-04T00:00:00Z"}}},
            now=datetime(2025, 4, 1, tzinfo=UTC))
        result = run_report(wh, WS, req, tmp_path / "calls.parquet")
        assert result.total_count == 1  # one call
        assert (result.summary["ans"], result.summary["lost"]) == (1, 0)
    finally:
        wh.close()
