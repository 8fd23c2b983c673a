"""Docs stay honest: every setting has a line in docs/configuration.md and every route is in
docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callboard.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
PREFIX = re.compile(r"^/api/v1\.0")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"`CALLBOARD_{name.upper()}`" in text, f"CALLBOARD_{name.upper()} is missing from docs/configuration.md"


def test_every_results_api_route_is_documented(app_factory) -> None:
    """Every operation of the OpenAPI description under /api/v1.0 (and /health) appears in docs/api.md
    as ``METHOD /path`` (path without the /api/v1.0 prefix)."""
    paths = app_factory().openapi()["paths"]
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    operations = [
        f"{method.upper()} {PREFIX.sub('', path)}"
        for path, ops in paths.items() if path.startswith("/api/v1.0") or path == "/health"
        for method in ops
    ]
    assert len(operations) > 20
    assert [op for op in operations if op not in text] == []
