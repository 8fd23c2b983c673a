"""Shared fixtures: a warehouse on each engine.

``warehouse`` is parametrised over DuckDB (a fresh in-memory one per test) and Spark (one local
session for the whole test session, marked ``spark``; its tables live in a temporary folder). Tests
that share the Spark warehouse keep apart by using the ``workspace`` fixture's unique name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callboard.warehouse import DuckDBWarehouse, SparkWarehouse, Warehouse


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """One local Spark session per test session (startup takes ~20 s)."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    folder: Path = tmp_path_factory.mktemp("spark")
    session: Any = (
        SparkSession.builder.master("local[2]")
        .appName("callboard-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return SparkWarehouse.open(session)


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def warehouse(request: pytest.FixtureRequest) -> Iterator[Warehouse]:
    """A calls warehouse on each engine the report templates must run on."""
    if request.param == "duckdb":
        wh = DuckDBWarehouse.open(None)
        yield wh
        wh.close()
    else:
        yield request.getfixturevalue("spark_warehouse")


@pytest.fixture
def workspace() -> str:
    """A workspace name no other test uses (the Spark warehouse is shared by the session)."""
    return f"ws-{uuid.uuid4().hex[:12]}"
