"""TrunkUtilisation against a brute-force model (hypothesis): random external calls of one or two
segments around both London DST changes and an ordinary day, several ``callRatePeriod`` values.

The model knows nothing of the engine's pieces or sweep: it walks UTC in 15-minute slots (every
London offset change falls on a slot edge, so a slot lies in one local bucket), and in each slot
takes the occupied seconds and the most calls in progress at the slot's start or at any call start
inside it.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import TZ, load, run, seg

DAYS = [datetime(2025, 3, 30, 0, 0), datetime(2025, 10, 26, 0, 0), datetime(2025, 7, 1, 9, 0)]
SLOT = timedelta(minutes=15)
LONDON = ZoneInfo(TZ)

# (day, start offset s, [(segment offset s from the call's start, duration s)], internal?)
calls_st = st.lists(
    st.tuples(
        st.integers(0, len(DAYS) - 1),
        st.integers(-7200, 4 * 3600),
        st.lists(st.tuples(st.integers(0, 1800), st.integers(0, 3 * 3600)), min_size=1, max_size=2),
        st.booleans(),
    ),
    min_size=1, max_size=12,
)


@pytest.fixture(scope="module")
def wh() -> Iterator[Warehouse]:
    w = DuckDBWarehouse.open(None)
    yield w
    w.close()


def model(spans: list[tuple[datetime, datetime]], period_min: int) -> dict[str, tuple[int, float]]:
    """Local bucket start → (peak, occupied seconds), for buckets with any occupancy."""
    peak: dict[str, int] = defaultdict(int)
    occ: dict[str, float] = defaultdict(float)
    lo = min(s for s, _ in spans).replace(minute=0, second=0)
    hi = max(e for _, e in spans)
    t = lo
    while t < hi:
        end = t + SLOT
        local = t.replace(tzinfo=UTC).astimezone(LONDON).replace(tzinfo=None)
        minutes = local.hour * 60 + local.minute
        key = (local.replace(hour=0, minute=0) + timedelta(minutes=minutes // period_min * period_min)).isoformat()
        for s, e in spans:
            overlap = (min(e, end) - max(s, t)).total_seconds()
            if overlap > 0:
                occ[key] += overlap
        instants = [t] + [s for s, _ in spans if t <= s < end]
        level = max(sum(1 for s, e in spans if s <= i < e) for i in instants)
        peak[key] = max(peak[key], level)
        t = end
    return {k: (peak[k], v) for k, v in occ.items()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=calls_st, period=st.sampled_from([15, 30, 60, 120]))
def test_peak_and_occupancy_match_a_brute_force_model(wh: Warehouse, calls: list, period: int) -> None:
    rows, spans = [], []
    for n, (day, offset, segments, internal) in enumerate(calls):
        start = DAYS[day] + timedelta(seconds=offset)
        bounds = []
        for m, (seg_offset, duration) in enumerate(segments):
            s = start + timedelta(seconds=seg_offset)
            rows.append(seg(f"c{n}s{m}", s, connId=f"c{n}", duration=duration, ans=1,
                            callType=1 if internal else 2, callDir=1 if internal else 2))
            bounds.append((s, s + timedelta(seconds=duration)))
        busy = (min(s for s, _ in bounds), max(e for _, e in bounds))
        if not internal and busy[1] > busy[0]:
            spans.append(busy)
    ws = load(wh, rows)
    with tempfile.TemporaryDirectory() as tmp:
        _, got = run(wh, ws, Path(tmp), "TrunkUtilisation", callRatePeriod=period)
    engine = {r["start"]: (r["peakConcurrent"], r["occupiedSeconds"]) for r in got}
    want = model(spans, period) if spans else {}
    assert engine.keys() == want.keys()
    for key, (peak, seconds) in want.items():
        assert engine[key][0] == peak, key
        assert engine[key][1] == pytest.approx(seconds), key
