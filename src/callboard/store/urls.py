"""Metadata store URLs."""

from __future__ import annotations


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs mean psycopg 3 (the driver we ship), not psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
