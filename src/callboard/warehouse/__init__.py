"""The calls warehouse: one class per engine behind one interface (:mod:`.base`).

``connect`` is the one engine switch (``CALLBOARD_ENGINE``): ``duckdb`` (default, a file in the
data folder), ``duckdb://PATH``, ``pyspark`` (a local Spark session), or any Ibis connection URL.
"""

from __future__ import annotations

from pathlib import Path

from callboard.warehouse.base import AppendResult, Capabilities, ReadSession, Warehouse
from callboard.warehouse.duckdb import DuckDBWarehouse
from callboard.warehouse.ibis_generic import IbisWarehouse, SparkWarehouse

__all__ = ["AppendResult", "Capabilities", "DuckDBWarehouse", "IbisWarehouse", "ReadSession", "SparkWarehouse",
           "Warehouse", "connect"]


def connect(url: str | None, *, data_dir: Path | None = None, memory_limit: str | None = None,
            threads: int | None = None) -> Warehouse:
    """The warehouse ``url`` names (see the module docstring). An embedded DuckDB is capped at
    ``memory_limit``, spills to ``data_dir/tmp`` and runs on ``threads`` threads (default: one per
    core), shared by every query (see :meth:`DuckDBWarehouse.open`)."""
    spill = data_dir / "tmp" if data_dir is not None else None
    if not url or url == "duckdb":
        return DuckDBWarehouse.open((data_dir or Path("callboard-data")) / "calls.duckdb",
                                    memory_limit=memory_limit, temp_directory=spill, threads=threads)
    if url.startswith("duckdb://"):
        return DuckDBWarehouse.open(url.removeprefix("duckdb://") or None, memory_limit=memory_limit,
                                    temp_directory=spill, threads=threads)
    if url in ("pyspark", "spark"):
        return SparkWarehouse.open()
    return IbisWarehouse.open(url)
