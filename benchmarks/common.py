"""What the benchmark scripts share: the reference time and period, the machine description, the
cached warehouse opened read-only (:class:`BenchWarehouse`), the request body and scope of a
template's benchmark run (:func:`body`, :func:`scope_for`), and a free local port. The data cache
itself (building and finding the 10M-segment organisation) is :mod:`benchmarks.data`.
"""

from __future__ import annotations

import os
import platform
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from benchmarks import data
from benchmarks.competitors.base import Scope
from benchmarks.competitors.cases import all_cases

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 2, 1, tzinfo=UTC)  # reference time: 2025 is wholly in the past
YEAR = ("2025-01-01T00:00:00", "2026-01-01T00:00:00")
CASES = all_cases()
ALL_TZ = "Europe/London"


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    import pandas as pd

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 2**30, 1), "os": platform.platform(),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "ibis": ibis.__version__,
            "pandas": pd.__version__, "pyarrow": pa.__version__, "loadavg_start": load()}


class BenchWarehouse:
    """Opened read-only; ``segments("*")`` is the whole table (an org-wide report)."""

    ALL = "*"

    @staticmethod
    def open(path: Path) -> Any:
        from callboard.calls.rollups import CALL_ROLLUPS_TABLE
        from callboard.warehouse import DuckDBWarehouse

        class _Wh(DuckDBWarehouse):
            def segments(self, workspace: str) -> Any:
                return self.calls() if workspace == BenchWarehouse.ALL else super().segments(workspace)

            def call_rollups(self, workspace: str, table: str = CALL_ROLLUPS_TABLE) -> Any:
                if workspace == BenchWarehouse.ALL:
                    return self.con.table(table)
                return super().call_rollups(workspace, table)

        DuckDBWarehouse.open(path).close()  # builds the stored call rollups of an older cache once
        return _Wh(ibis.duckdb.connect(str(path), read_only=True), path=path)


def body(template: str, tz: str, span: tuple[str, str] = YEAR) -> dict[str, Any]:
    return {"reportTemplateName": template, "timeZoneId": tz,
            "metadata": {"dateFilter": {"presetName": "Custom", "start": span[0], "end": span[1]}}}


def scope_for(name: str, manifest: data.Manifest, template: str) -> tuple[Scope, dict[str, Any]]:
    from callboard.reports.request import resolve_request

    ws = manifest.workspaces[0]
    tz = ws.time_zone if name == "ws" else ALL_TZ
    case = CASES.get(template)
    b = {**body(template, tz), **(case.params if case else {})}
    req = resolve_request(b, now=NOW)
    assert req.period is not None
    lo = req.period.start_utc.astimezone(UTC).replace(tzinfo=None)
    hi = req.period.end_utc.astimezone(UTC).replace(tzinfo=None)
    label = (f"{ws.name}, 2025 ({ws.rows:,} seg.)" if name == "ws"
             else f"all 20 workspaces, 2025 ({manifest.rows:,} seg.)")
    return Scope(name, ws.id if name == "ws" else None, tz, lo, hi, label), b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
