"""The benchmark organisation (SPEC §7): 20 workspaces, ~10 million segments over one year, built
once and cached under ``benchmarks/.cache/``:

* ``calls.duckdb`` -- a callboard warehouse (``DuckDBWarehouse.append`` per monthly batch, then
  ``DuckDBWarehouse.optimize``), opened read-only by every benchmark process;
* ``calls.parquet`` -- the same ``calls`` table as one Parquet file (pandas and PostgreSQL load it);
* ``manifest.json`` -- workspace ids, names, time zones, row counts and how long the build took.

    python -m benchmarks.data          # build (or report) the cache
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

CACHE = Path(__file__).resolve().parent / ".cache"
WAREHOUSE_FILE = CACHE / "calls.duckdb"
PARQUET_FILE = CACHE / "calls.parquet"
MANIFEST_FILE = CACHE / "manifest.json"
DENSE_FILE = CACHE / "dense.duckdb"
DENSE_ROWS = 1_000_000
_NAMESPACE = uuid.UUID("0b5c6f38-8d0e-4a59-9a3c-2f1d6c7e9b10")


@dataclass(frozen=True)
class BenchWorkspace:
    id: str
    name: str
    time_zone: str
    country_code: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    workspaces: list[BenchWorkspace]
    rows: int
    build_seconds: float
    optimize_seconds: float
    parquet_seconds: float

    @property
    def by_id(self) -> dict[str, BenchWorkspace]:
        return {w.id: w for w in self.workspaces}


def workspace_id(index: int) -> str:
    """The deterministic id (a UUID, like the API's) of benchmark workspace ``index``."""
    return str(uuid.uuid5(_NAMESPACE, f"benchmark-workspace-{index:02d}"))


def load_manifest() -> Manifest | None:
    if not (MANIFEST_FILE.exists() and WAREHOUSE_FILE.exists() and PARQUET_FILE.exists()):
        return None
    raw = json.loads(MANIFEST_FILE.read_text())
    return Manifest(workspaces=[BenchWorkspace(**w) for w in raw.pop("workspaces")], **raw)


def build(log: bool = True) -> Manifest:
    """Build the cache unless it exists (one time: a few minutes on 2 cores)."""
    existing = load_manifest()
    if existing is not None:
        return existing
    from callboard.generate import benchmark_org, generate_batches
    from callboard.warehouse import DuckDBWarehouse

    CACHE.mkdir(parents=True, exist_ok=True)
    for p in (WAREHOUSE_FILE, PARQUET_FILE, Path(f"{WAREHOUSE_FILE}.wal")):
        p.unlink(missing_ok=True)
    wh = DuckDBWarehouse.open(WAREHOUSE_FILE)
    workspaces: list[BenchWorkspace] = []
    t0 = time.perf_counter()
    total = 0
    for i, config in enumerate(benchmark_org()):
        ws = workspace_id(i)
        rows = 0
        for batch in generate_batches(config):
            rows += wh.append(ws, batch).inserted
        total += rows
        workspaces.append(BenchWorkspace(ws, config.name, config.time_zone, config.country_code, rows))
        if log:
            print(f"  {config.name} ({config.time_zone}): {rows:,} segments; {total:,} in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    wh.optimize()
    optimize_s = time.perf_counter() - t1
    wh.close()
    t2 = time.perf_counter()
    con = duckdb.connect(str(WAREHOUSE_FILE), read_only=True)
    con.execute(f"COPY calls TO '{PARQUET_FILE}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
    con.close()
    parquet_s = time.perf_counter() - t2
    manifest = Manifest(workspaces, total, round(build_s, 1), round(optimize_s, 1), round(parquet_s, 1))
    raw = asdict(manifest)
    MANIFEST_FILE.write_text(json.dumps(raw, indent=1))
    if log:
        print(f"built {total:,} segments: generate+append {build_s:.0f} s, optimize {optimize_s:.0f} s, "
              f"parquet {parquet_s:.0f} s", flush=True)
    return manifest


def dense_workspace() -> str:
    return workspace_id(99)


def build_dense(log: bool = True) -> Path:
    """A second warehouse holding one dense workspace: the first 1,000,000 segments (by start) of the
    whole organisation from 2025-03-01 on, their ``start`` compressed linearly into March 2025 (UTC)
    and ``docId``/``connId`` prefixed with the source workspace (so they stay unique). It is what the
    one-million-row tests read: a 31-day report of it has exactly one million rows."""
    if DENSE_FILE.exists():
        return DENSE_FILE
    from callboard.warehouse import DuckDBWarehouse

    t0 = time.perf_counter()
    tmp = DENSE_FILE.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    wh = DuckDBWarehouse.open(tmp)
    wh.close()
    con = duckdb.connect(str(tmp))
    con.execute(f"ATTACH '{WAREHOUSE_FILE}' AS src (READ_ONLY)")
    con.execute(f"""CREATE TEMP TABLE pick AS SELECT * FROM src.calls WHERE start >= TIMESTAMP '2025-03-01'
                    ORDER BY start, workspace, "docId" LIMIT {DENSE_ROWS}""")
    span = con.execute("SELECT epoch_us(max(start)) - epoch_us(TIMESTAMP '2025-03-01') FROM pick").fetchone()[0]
    factor = (30 * 86400 * 1_000_000) / max(span, 1)  # into [03-01, 03-31)
    names = [r[0] for r in con.execute("DESCRIBE pick").fetchall()]
    exprs = []
    for n in names:
        if n == "workspace":
            exprs.append(f"'{dense_workspace()}'")
        elif n in ("docId", "connId"):
            exprs.append(f'substr(workspace, 1, 8) || \'-\' || "{n}"')
        elif n == "start":
            exprs.append("make_timestamp(epoch_us(TIMESTAMP '2025-03-01') + "
                         f"CAST((epoch_us(start) - epoch_us(TIMESTAMP '2025-03-01')) * {factor!r} AS BIGINT))")
        else:
            exprs.append(f'"{n}"')
    cols = ", ".join(f'"{n}"' for n in names)
    con.execute(f"INSERT INTO calls ({cols}) SELECT {', '.join(exprs)} FROM pick "
                f"ORDER BY {names.index('start') + 1}")
    con.execute("DETACH src")
    con.execute("CHECKPOINT")
    con.close()
    wh = DuckDBWarehouse.open(tmp)
    wh.rebuild_call_rollups()  # the rows went in by raw SQL, past the warehouse's own upkeep
    wh.close()
    tmp.rename(DENSE_FILE)
    if log:
        print(f"dense workspace: {DENSE_ROWS:,} segments in March 2025 in {time.perf_counter() - t0:.0f} s", flush=True)
    return DENSE_FILE


if __name__ == "__main__":
    m = build()
    print(f"{m.rows:,} segments in {len(m.workspaces)} workspaces under {CACHE}")
