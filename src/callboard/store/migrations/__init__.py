"""Alembic migrations shipped inside the package and run programmatically at startup.

New tables (for example the Webex-compatible exports) come as new revision files in ``versions/``
whose ``down_revision`` names an existing revision; :func:`upgrade` applies every head, so a branch
added by another feature next to ours is applied too.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from callboard.store.urls import normalise_url

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    """A config built in code: no alembic.ini to find, and the URL is passed as an attribute so
    passwords with ``%`` survive (ConfigParser would interpolate them)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the metadata database at ``url`` to the newest schema (creating it if empty)."""
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def heads() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
