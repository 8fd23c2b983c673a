"""Fixtures of the Webex tests: the shared live server (see ``tests.support.webex_live``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.webex_live import Live, make_calls, setup_org, start_server, stop_server


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The shared server with a week of calls (2025-03-03 .. 2025-03-09, UTC)."""
    live, server, thread = start_server(tmp_path_factory.mktemp("webex-live"))
    try:
        setup_org(live)
        r = live.post(f"/api/v1.0/workspaces/{live.workspace}/calls", who="admin", json=make_calls())
        assert r.status_code == 200, r.text
        yield live
    finally:
        stop_server(server, thread)
