"""The embedded engine's memory is capped: ``CALLBOARD_MEMORY_LIMIT`` reaches DuckDB, a heavy query spills
into ``data_dir/tmp`` instead of growing the process, and one that cannot spill fails with DuckDB's
out-of-memory error (the report's statusMessage) while the warehouse goes on working."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from callboard.service.imports import open_warehouse
from callboard.settings import Settings
from callboard.warehouse import DuckDBWarehouse


def _setting(wh: DuckDBWarehouse, name: str) -> str:
    return str(wh.raw_sql(f"SELECT current_setting('{name}')").fetchall()[0][0])


def test_the_settings_reach_duckdb(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", memory_limit="512MB")
    wh = open_warehouse(settings)
    try:
        assert isinstance(wh, DuckDBWarehouse)
        assert _setting(wh, "memory_limit") == "488.2 MiB"  # DuckDB shows 512 MB in MiB
        spill = settings.data_dir / "tmp"
        assert Path(_setting(wh, "temp_directory")) == spill
        assert stat.S_IMODE(spill.stat().st_mode) == 0o700  # spilled call data is the owner's only
        with wh.session() as session:  # a report's cursor is under the same cap
            cursor = session._cursor  # type: ignore[attr-defined]
            assert cursor.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "488.2 MiB"
    finally:
        wh.close()


def test_the_default_is_half_of_the_memory(tmp_path: Path) -> None:
    assert Settings.model_fields["memory_limit"].default == "50%"
    wh = open_warehouse(Settings(data_dir=tmp_path / "data"))
    try:
        assert isinstance(wh, DuckDBWarehouse)
        half = duckdb.connect(":memory:", config={"memory_limit": "50%"})
        assert _setting(wh, "memory_limit") == half.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        half.close()
    finally:
        wh.close()


@pytest.mark.parametrize("value", ["", "abc", "0GB", "0%", "150%", "100000000", "-1"])
def test_a_memory_limit_that_is_not_a_size_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="memory_limit"):
        Settings(memory_limit=value)


@pytest.mark.parametrize("value", ["50%", "4GB", "512 MB", "8GiB", "2g", "100%"])
def test_memory_sizes_duckdb_reads_are_accepted(value: str) -> None:
    assert Settings(memory_limit=value).memory_limit == value


def _open(tmp_path: Path, memory_limit: str) -> DuckDBWarehouse:
    """Two threads: the memory a query needs does not depend on the machine's cores."""
    wh = DuckDBWarehouse.open(tmp_path / "calls.duckdb", threads=2, memory_limit=memory_limit,
                              temp_directory=tmp_path / "tmp")
    # 4 M rows in 2 M groups with a string aggregate: ~100 MB of hash-table state
    wh.raw_sql("CREATE VIEW gen AS SELECT i, i % 2000000 AS k, i::VARCHAR AS s FROM range(4000000) t(i)")
    return wh


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    wh = _open(tmp_path, "20MB")
    yield wh
    wh.close()


def _heavy(wh: DuckDBWarehouse) -> list[dict[str, int]]:
    """The aggregate as a report runs it: an Ibis expression on a read session's cursor."""
    gen = wh.con.table("gen")
    per_key = gen.group_by("k").aggregate(n=gen.count(), s=gen.s.max())
    expr = per_key.aggregate(groups=per_key.count(), rows=per_key.n.sum())
    with wh.session(snapshot=True) as session:
        return session.to_arrow(expr).to_pylist()


@pytest.mark.parametrize(("memory_limit", "spills"), [("4GB", False), ("20MB", True)])
def test_a_heavy_aggregate_spills_into_the_temp_directory(tmp_path: Path, memory_limit: str, spills: bool) -> None:
    wh = _open(tmp_path, memory_limit)
    try:
        spill = tmp_path / "tmp"
        assert not any(spill.iterdir())
        assert _heavy(wh) == [{"groups": 2_000_000, "rows": 4_000_000}]
        # DuckDB starts using its temp directory (its ``duckdb_temp_*`` files) only when it offloads:
        # under 4 GB it stays empty; under 20 MB the query completed by spilling there
        assert any(spill.iterdir()) == spills, sorted(p.name for p in spill.iterdir())
    finally:
        wh.close()


def test_a_query_that_cannot_spill_fails_with_out_of_memory(tiny: DuckDBWarehouse) -> None:
    assert _setting(tiny, "memory_limit") == "19.0 MiB"
    # one list of 10 M integers (80 MB) is a single aggregate state: it cannot be spilled
    with pytest.raises(duckdb.OutOfMemoryException, match="Out of Memory Error"):
        tiny.raw_sql("SELECT len(list(i)) FROM range(10000000) t(i)").fetchall()
    assert tiny.raw_sql("SELECT 42").fetchall() == [(42,)]  # the warehouse goes on
