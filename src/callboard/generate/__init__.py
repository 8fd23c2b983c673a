"""The synthetic organisation behind ``callboard generate`` and ``callboard demo``: realistic,
deterministic call segments (hunt groups, direct dial, outgoing, internal, call-backs, trunks)."""

from callboard.generate.benchmark import benchmark_org
from callboard.generate.config import OrgConfig, erlang_b, lines_for
from callboard.generate.output import (
    FORMATS,
    canonical_text_columns,
    load_into,
    ndjson_lines,
    run_generate,
    write,
)
from callboard.generate.patterns import LocalClock, expected_segments
from callboard.generate.simulate import ChunkSimulator, generate_batches, trunk_lines_for

__all__ = [
    "FORMATS",
    "ChunkSimulator",
    "LocalClock",
    "OrgConfig",
    "benchmark_org",
    "canonical_text_columns",
    "erlang_b",
    "expected_segments",
    "generate_batches",
    "lines_for",
    "load_into",
    "ndjson_lines",
    "run_generate",
    "trunk_lines_for",
    "write",
]
