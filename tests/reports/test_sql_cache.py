"""The report SQL cache (``reports.sql_cache``) answers exactly as a fresh compile does.

A report's SQL is compiled once per *shape* and reused with the real workspace and period bounds as
its parameters. For every template: run a first request (workspace A, October) so its shape is cached,
then a second of the same shape -- same parameters, and a period with the same UTC-offset changes
(one, the October DST change) -- elsewhere (workspace B, 10 October to 10 November) and compare it
with the same request run on an empty cache.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from callboard.generate import OrgConfig, generate_batches
from callboard.reports import runner, sql_cache
from callboard.reports.request import resolve_request
from callboard.reports.templates import TEMPLATES
from callboard.warehouse import DuckDBWarehouse, Warehouse

NOW = datetime(2026, 2, 1, tzinfo=UTC)
EXTRA: dict[str, dict[str, Any]] = {
    "UnreturnedLostCalls": {"countryCode": "GB"},
    "LostCallRevenue": {"countryCode": "GB"},
    "TrunkUtilisation": {"totalTrunks": 12},
}


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    w = DuckDBWarehouse.open(None)
    for ws, seed in (("ws-a", 5), ("ws-b", 6)):
        for batch in generate_batches(OrgConfig(seed=seed, users=15, days=75, start=date(2025, 9, 1))):
            w.append(ws, batch)
    w.optimize()
    return w


def _run(wh: Warehouse, ws: str, template: str, start: str, end: str, tmp: Path) -> pa.Table:
    body = {"reportTemplateName": template, "timeZoneId": "Europe/London", **EXTRA.get(template, {}),
            "metadata": {"dateFilter": {"presetName": "Custom", "start": start, "end": end}}}
    req = resolve_request(body, now=NOW)
    out = tmp / f"{template}-{ws}-{start}-{sql_cache.size()}.parquet"
    runner.run_report(wh, ws, req, out)
    return pq.read_table(out).replace_schema_metadata(None)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_cached_sql_answers_as_a_fresh_compile(wh: Warehouse, template: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    compiles: list[str] = []
    compile_into = sql_cache.compile_into

    def counted(key: Any, *args: Any) -> Any:
        compiles.append(key[0])
        return compile_into(key, *args)

    monkeypatch.setattr(sql_cache, "compile_into", counted)
    sql_cache.clear()
    first = _run(wh, "ws-a", template, "2025-10-01", "2025-11-01", tmp_path)
    assert first.num_rows > 0
    # "cut": the probe for period bounds that stored calls span; the report's kind names those bounds
    kinds = {k.split("/")[0] for k in compiles}
    assert kinds in ({"report", "stats"}, {"cut", "report", "stats"}), "the SQL was not compiled into the cache"
    n = len(compiles)
    cached = _run(wh, "ws-b", template, "2025-10-10", "2025-11-10", tmp_path)
    assert len(compiles) == n, f"the second request of the same shape compiled again: {compiles[n:]}"
    sql_cache.clear()
    fresh = _run(wh, "ws-b", template, "2025-10-10", "2025-11-10", tmp_path)
    assert cached.num_rows > 0
    assert cached.equals(fresh), f"{template}: the cached SQL answered differently"
    assert not cached.equals(first)
