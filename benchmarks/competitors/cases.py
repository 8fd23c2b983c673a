"""Every template's competitors, gathered: the core ones (:mod:`.core`) and the call-centre analytics
ones (:mod:`.lost`, :mod:`.usage`, their pandas scripts in :mod:`.analytics_pandas`); and how an
answer is compared with callboard's (:func:`fingerprint`, :func:`same`).
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.competitors import analytics_pandas, core, lost, usage
from benchmarks.competitors.base import Case


def all_cases() -> dict[str, Case]:
    """The core cases plus the call-centre analytics ones (kept in their own modules)."""
    merged = {**core.CASES, **lost.CASES, **usage.CASES}
    for name, fn in analytics_pandas.PANDAS.items():
        if name in merged:
            merged[name] = replace(merged[name], pandas=fn)
    return merged


# ---- answers ----------------------------------------------------------------------------------------------
def fingerprint(table: pa.Table, checks: tuple[str, ...]) -> dict[str, float]:
    """Row count and the sums of ``checks`` (and, for the first column if it is a time, its min/max)."""
    out: dict[str, float] = {"rows": float(table.num_rows)}
    for c in checks:
        if c in table.column_names:
            out[c] = float(pc.sum(table.column(c).cast(pa.float64())).as_py() or 0.0)
        else:
            out[c] = float("nan")
    first = table.column_names[0] if table.num_columns else None
    if first and pa.types.is_timestamp(table.schema.field(first).type) and table.num_rows:
        out["t_min"] = float(pc.min(table.column(first)).value)
        out["t_max"] = float(pc.max(table.column(first)).value)
    return out


def same(a: dict[str, float], b: dict[str, float], rel: float = 1e-6) -> list[str]:
    """The names whose values differ (relative tolerance ``rel``)."""
    bad = []
    for k in a:
        x, y = a[k], b.get(k, float("nan"))
        if not (x == y or abs(x - y) <= rel * max(abs(x), abs(y), 1.0)):
            bad.append(f"{k}: callboard {x:g} vs {y:g}")
    return bad
