"""pandas competitors for the call-centre analytics templates (see benchmarks/cases.py)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from benchmarks.cases import Scope

PANDAS: dict[str, Callable[[pd.DataFrame, Scope], pd.DataFrame]] = {}
