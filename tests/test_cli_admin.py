"""The operator's commands: `callboard --version`, `tenant|workspace|token list`, `token revoke` (and
the API refusing a revoked token), `callboard templates`."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from callboard import cli
from callboard.api.app import create_app
from callboard.cli import app
from callboard.reports.templates import TEMPLATES
from callboard.settings import Settings
from tests.support.api import ADMIN, Api, V, check_error

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def terminal_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "out", Console(width=80, color_system=None, force_terminal=False))
    monkeypatch.setattr(cli, "console", Console(width=80, color_system=None, force_terminal=False, stderr=True))


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _last(*args: str) -> str:
    return _ok(*args).splitlines()[-1]


def test_version_is_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _ok("--version") == f"callboard {version}\n"


def test_tenants_and_workspaces_are_listed(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert _ok("tenant", "list", "--data-dir", data) == ""
    acme = _last("tenant", "create", "Acme", "--data-dir", data)
    globex = _last("tenant", "create", "Globex", "--data-dir", data)
    lines = _ok("tenant", "list", "--data-dir", data).splitlines()
    assert lines[0].split() == ["id", "name", "created", "(UTC)"]
    assert [line.split()[:2] for line in lines[2:]] == [[acme, "Acme"], [globex, "Globex"]]

    hq = _last("workspace", "create", "Head office", "--tenant", acme, "--time-zone", "Europe/London",
               "--data-dir", data)
    depot = _last("workspace", "create", "Depot", "--tenant", "Globex", "--data-dir", data)  # a tenant by name
    every = _ok("workspace", "list", "--data-dir", data).splitlines()
    assert every[0].split() == ["id", "name", "time", "zone", "tenant"]
    assert [line.split() for line in every[2:]] == [[hq, "Head", "office", "Europe/London", "Acme"],
                                                    [depot, "Depot", "UTC", "Globex"]]
    assert all(len(line) <= 80 for line in every)
    only = _ok("workspace", "list", "--tenant", "Acme", "--data-dir", data)
    assert hq in only and depot not in only
    missing = runner.invoke(app, ["workspace", "list", "--tenant", "Initech", "--data-dir", data])
    assert missing.exit_code == 2 and "no tenant has that id or name" in " ".join(missing.stderr.split())


def test_tokens_are_listed_without_secrets_and_revoked(tmp_path: Path) -> None:
    from callboard.service.admin import open_store
    from callboard.service.auth import authenticate, hash_token
    from callboard.service.errors import Unauthorized

    data = str(tmp_path / "data")
    acme = _last("tenant", "create", "Acme", "--data-dir", data)
    other = _last("tenant", "create", "Other", "--data-dir", data)
    secret = _last("token", "create", "--tenant", acme, "--scope", "reports:read", "--data-dir", data)
    _last("token", "create", "--tenant", other, "--expires-in", "3600", "--data-dir", data)

    listed = _ok("token", "list", "--tenant", acme, "--data-dir", data)
    assert secret not in listed and hash_token(secret) not in listed and secret[3:12] not in listed
    lines = listed.splitlines()
    assert len(lines) == 3
    token_id, tenant_name, state = lines[0].split()
    assert (len(token_id), tenant_name, state) == (36, "Acme", "active")
    assert lines[1] == "  scopes reports:read; workspaces all"
    assert lines[2].startswith("  created ") and lines[2].endswith(" UTC; expires never")
    both = _ok("token", "list", "--data-dir", data).splitlines()
    assert len(both) == 6 and both[3].split()[1:] == ["Other", "active"] and "expires never" not in both[5]

    assert _ok("token", "revoke", token_id, "--data-dir", data) == f"revoked token {token_id}\n"
    after = _ok("token", "list", "--tenant", acme, "--data-dir", data).splitlines()
    assert after[0] == f"{token_id}  Acme  expired" and "expires never" not in after[2]
    db = open_store(Settings(data_dir=Path(data)))
    try:
        with db.session() as session, pytest.raises(Unauthorized):
            authenticate(session, secret)
    finally:
        db.dispose()
    # revoking again changes nothing; an unknown id is an error
    assert "had already expired" in _ok("token", "revoke", token_id, "--data-dir", data)
    assert _ok("token", "list", "--data-dir", data).splitlines()[3].endswith("Other  active")
    for bad in ("00000000-0000-0000-0000-000000000000", "nope"):
        result = runner.invoke(app, ["token", "revoke", bad, "--data-dir", data])
        assert result.exit_code == 2 and "not found" in result.stderr


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path / "data", admin_token=ADMIN, workers=0, rate_limit_per_minute=0)
    application = create_app(settings, workers=0)
    yield Api(application)
    application.state.ctx.close()


def test_the_api_refuses_a_revoked_token(api: Api) -> None:
    data = str(api.ctx.settings.data_dir)
    tenant, token = api.tenant("acme")
    spare = api.token(tenant, ["reports:read"])
    ws = api.workspace(token)
    assert api.client.get(f"{V}/workspaces/{ws}", headers=api.auth(token)).status_code == 200
    lines = _ok("token", "list", "--tenant", tenant, "--data-dir", data).splitlines()
    assert [line.split()[1:] for line in lines[0::3]] == [["acme", "active"], ["acme", "active"]]
    # the token holding every scope (the one the workspace was created with), by its scopes line
    full = next(lines[i - 1].split()[0] for i in (1, 4) if "admin" in lines[i])
    _ok("token", "revoke", full, "--data-dir", data)
    check_error(api.client.get(f"{V}/workspaces/{ws}", headers=api.auth(token)), 401, "expired")
    check_error(api.client.get(f"{V}/workspaces", headers=api.auth(token)), 401)
    # the tenant's other token still works
    assert api.client.get(f"{V}/workspaces/{ws}", headers=api.auth(spare)).status_code == 200


def test_templates_are_listed_with_their_fields() -> None:
    listing = _ok("templates")
    names = [line.split()[0] for line in listing.splitlines()[2:] if line and not line.startswith(" ")]
    assert names == list(TEMPLATES)
    assert "One row per hunt group" in listing
    assert all(len(line) <= 80 for line in listing.splitlines())

    fields = _ok("templates", "CallSummaryByHuntGroup").splitlines()
    assert fields[0].startswith("CallSummaryByHuntGroup (aggregate): One row per hunt group")
    rows = {line.split()[0]: line.split()[1:3] for line in fields[3:-1] if line and not line.startswith(" ")}
    assert rows["hgName"] == ["string", "yes"]
    assert rows["answerRate"] == ["float", "yes"]
    assert set(rows) == {f.name for f in TEMPLATES["CallSummaryByHuntGroup"].fields}
    assert fields[-1].startswith("`callboard report run` tables show, as far as they fit: hgName, calls, ans")

    unknown = runner.invoke(app, ["templates", "CallSummary"])
    assert unknown.exit_code == 2 and "CallSummaryByHuntGroup" in unknown.stderr
