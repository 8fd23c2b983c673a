"""The functions the CLI wires (tenant/workspace/token create, serve/worker) and the first-start
system administrator token."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callboard.api.app import create_app
from callboard.api.server import run_worker
from callboard.service import admin
from callboard.service.auth import authenticate
from callboard.settings import Settings


def test_create_tenant_workspace_and_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    tenant = admin.create_tenant(settings, "acme")
    ws = admin.create_workspace(settings, tenant, "hq", "Europe/London")
    token = admin.create_token(settings, tenant, ["reports:read"], [ws], 3600)
    db = admin.open_store(settings)
    with db.session() as s:
        p = authenticate(s, token)
    assert str(p.tenant_id) == tenant and {str(w) for w in p.workspaces or ()} == {ws}
    assert p.expires_at is not None
    with pytest.raises(LookupError):
        admin.create_workspace(settings, "00000000-0000-0000-0000-000000000000", "x", "UTC")
    with pytest.raises(LookupError):
        admin.create_token(settings, "not-a-uuid", ["admin"])
    with pytest.raises(ValueError, match="time zone"):
        admin.create_workspace(settings, tenant, "y", "Mars/Base")
    with pytest.raises(ValueError, match="already exists"):
        admin.create_workspace(settings, tenant, "hq", "UTC")
    with pytest.raises(ValueError, match="scope"):
        admin.create_token(settings, tenant, ["everything"])
    db.dispose()


def test_first_start_of_an_empty_folder_prints_a_system_token_once(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "d", workers=0)
    app = create_app(settings)
    token = app.state.first_admin_token
    assert token and token in capsys.readouterr().err
    client = TestClient(app)
    r = client.post("/api/v1.0/tenants", json={"name": "acme"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    app.state.ctx.close()
    again = create_app(settings)
    assert again.state.first_admin_token is None and token not in capsys.readouterr().err
    again.state.ctx.close()
    # With CALLBOARD_ADMIN_TOKEN set, nothing is created.
    env = Settings(data_dir=tmp_path / "e", workers=0, admin_token="automation-token-0123456789")
    third = create_app(env)
    assert third.state.first_admin_token is None
    third.state.ctx.close()


def test_run_worker_runs_until_stopped(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", worker_poll_seconds=0.05)
    stop = threading.Event()
    t = threading.Thread(target=run_worker, args=(settings,), kwargs={"stop": stop, "threads": 2})
    t.start()
    time.sleep(0.5)
    assert t.is_alive()
    stop.set()
    t.join(30)
    assert not t.is_alive()
