"""HTTP round trips through the ASGI app with a temporary data folder.

``api`` wraps a TestClient with the steps every test needs (tenant, token, workspace, ingest,
running the queue); workers are driven explicitly (``api.work()``) so tests are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from callboard.api.app import create_app
from callboard.settings import Settings
from tests.support.api import ADMIN, Api


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", admin_token=ADMIN, workers=0, rate_limit_per_minute=0,
                    worker_heartbeat_seconds=0.2, worker_poll_seconds=0.05)


@pytest.fixture
def app_factory(settings: Settings) -> Iterator[Callable[..., FastAPI]]:
    made: list[FastAPI] = []

    def make(**overrides: Any) -> FastAPI:
        app = create_app(settings.model_copy(update=overrides) if overrides else settings, workers=0)
        made.append(app)
        return app

    yield make
    for app in made:
        app.state.ctx.close()


@pytest.fixture
def api(app_factory: Callable[..., FastAPI]) -> Api:
    return Api(app_factory())
