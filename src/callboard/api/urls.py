"""Absolute links (Location, Link): from ``public_url`` when configured (behind a proxy), else from
the request's own scheme and host."""

from __future__ import annotations

from fastapi import Request

from callboard.settings import Settings


def absolute_url(request: Request, settings: Settings, path: str, query: str = "") -> str:
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}{path}" + (f"?{query}" if query else "")
