"""Hand-written competitors for call-centre analytics templates (see benchmarks/cases.py)."""

from __future__ import annotations

from benchmarks.cases import Case

CASES: dict[str, Case] = {}
