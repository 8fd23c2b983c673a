"""The analytics templates and the summaries give the same rows on Spark as on DuckDB (whose answers
the other ``test_analytics_*`` modules and ``test_summaries.py`` check by hand). One Spark workspace
holds every hand-built dataset's segments (ids prefixed per dataset), so Spark runs few, small jobs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import load, run
from tests.support.datasets import distributions, lost_calls, summaries, trunks, usage

pytestmark = pytest.mark.spark



def _prefixed(prefix: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The datasets reuse short ids (O1, N1 …): prefix them so the four can share a workspace."""
    return [{**r, "docId": prefix + r["docId"], "connId": prefix + r["connId"]} for r in rows]


ALL_ROWS = [*_prefixed("l-", lost_calls.rows()), *_prefixed("a-", lost_calls.after_period_rows()),
            *_prefixed("d-", distributions.rows()),
            *_prefixed("t-", trunks.rows()), *_prefixed("u-", usage.rows()), *_prefixed("s-", summaries.rows())]

CASES: list[tuple[str, dict[str, Any]]] = [
    ("RingTimeDistribution", {"ringDurationThresholds": [20, 10, 30, 20], "ignoreAbandonedCalls": True}),
    ("CallDurationDistribution", {"durationGroupPeriodInSeconds": 40}),
    ("UnreturnedLostCalls", {"countryCode": "GB"}),
    ("UnreturnedLostCalls", {"countryCode": "GB", "includeReturnedCalls": True}),
    # a one-day period: call-backs after its end
    ("UnreturnedLostCalls", {"countryCode": "GB", "metadata": lost_calls.ONE_DAY}),
    ("LostCallRevenue", {"countryCode": "GB", "incomingEstimatedRevenue": 500, "incomingCallsPerSale": 4}),
    ("TrunkUtilisation", {"totalTrunks": 4}),
    ("CallsByAccountCode", {"accountCodeLabels": {"1001": "Sales calls"}}),
    ("CallingUsage", {"ignoreShortAnsweredCalls": True}),
    ("CallingDetailedCallHistory", {"countryCode": "GB"}),
    # the summaries' per-call waits and answered-elsewhere rings (test_summaries.py; segments without a user)
    ("CallSummaryByUser", {}),
    ("CallSummaryByHuntGroup", {"ringDurationThresholds": [25, 50]}),
]


@pytest.fixture(scope="module")
def both(spark_warehouse: Warehouse) -> Iterator[tuple[tuple[Warehouse, str], tuple[Warehouse, str]]]:
    duck = DuckDBWarehouse.open(None)
    yield (duck, load(duck, ALL_ROWS)), (spark_warehouse, load(spark_warehouse, ALL_ROWS))
    duck.close()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-12)
    return bool(a == b)


@pytest.mark.parametrize(("template", "settings"), CASES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CASES)])
def test_spark_matches_duckdb(both: tuple[tuple[Warehouse, str], tuple[Warehouse, str]], tmp_path: Path,
                              template: str, settings: dict[str, Any]) -> None:
    (duck, dws), (spark, sws) = both
    d_result, d_rows = run(duck, dws, tmp_path, template, **settings)
    s_result, s_rows = run(spark, sws, tmp_path, template, **settings)
    assert len(d_rows) == len(s_rows) > 0
    for d_row, s_row in zip(d_rows, s_rows, strict=True):
        assert d_row.keys() == s_row.keys(), (d_row, s_row)
        assert all(_same(d_row[k], s_row[k]) for k in d_row), (d_row, s_row)
    assert d_result.summary.keys() == s_result.summary.keys()
    assert all(_same(d_result.summary[k], s_result.summary[k]) for k in d_result.summary)
