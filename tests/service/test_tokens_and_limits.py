"""Tokens, scopes and the rate limiter, below the HTTP layer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from callboard.service import tenancy
from callboard.service.auth import (
    Principal,
    authenticate,
    check_scopes,
    hash_token,
)
from callboard.service.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from callboard.service.rate_limits import RateLimiter
from callboard.service.schemas import TokenCreate, WorkspaceCreate
from callboard.store import Database
from callboard.store.models import ApiToken, utcnow


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'meta.sqlite'}")


def test_only_the_hash_is_stored_and_it_authenticates(db: Database) -> None:
    with db.session() as s:
        tenant = tenancy.create_tenant(s, "acme")
        _row, token = tenancy.issue_token(s, tenant, TokenCreate(scopes=["reports:read"]))
    with db.session() as s:
        stored = s.scalars(select(ApiToken)).one()
        assert stored.token_hash == hash_token(token) and token not in stored.token_hash
        p = authenticate(s, token)
        assert p.tenant_id == tenant.id and p.scopes == {"reports:read"} and p.workspaces is None
        with pytest.raises(Unauthorized):
            authenticate(s, token + "x")
        with pytest.raises(Unauthorized):
            authenticate(s, None)


def test_expired_token_is_refused(db: Database) -> None:
    with db.session() as s:
        tenant = tenancy.create_tenant(s, "acme")
        row, token = tenancy.issue_token(s, tenant, TokenCreate(scopes=["admin"], expiresIn=60))
        row.expires_at = utcnow() - timedelta(seconds=1)
    with db.session() as s, pytest.raises(Unauthorized, match="expired"):
        authenticate(s, token)


def test_environment_admin_token_is_a_system_administrator(db: Database) -> None:
    with db.session() as s:
        p = authenticate(s, "S" * 32, admin_token="S" * 32)
    assert p.is_system and p.tenant_id is None
    with pytest.raises(Forbidden):
        p.require("reports:read")


def test_scope_alternatives_and_implication() -> None:
    p = Principal(uuid.uuid4(), uuid.uuid4(), frozenset({"reports:write", "spark-admin:reports_read"}))
    assert p.allows("reports:read")  # write implies read
    assert not p.allows("calls:write")
    assert not p.allows(("spark-admin:reports_read", "identity:people_read"))
    assert p.allows("analytics:read_all", "spark-admin:reports_read")
    with pytest.raises(Forbidden, match="calls:write"):
        p.require("calls:write")


def test_unknown_scopes_are_refused_with_the_choices() -> None:
    with pytest.raises(BadRequest) as err:
        check_scopes(["reports:read", "reports:delete"])
    assert "reports:delete" in err.value.message
    assert "calls:write" in err.value.errors[0]["description"]


def test_workspace_restriction_and_tenant_isolation(db: Database) -> None:
    with db.session() as s:
        a = tenancy.create_tenant(s, "a")
        b = tenancy.create_tenant(s, "b")
        wa1 = tenancy.create_workspace(s, a.id, WorkspaceCreate(name="one"))
        wa2 = tenancy.create_workspace(s, a.id, WorkspaceCreate(name="two"))
        wb = tenancy.create_workspace(s, b.id, WorkspaceCreate(name="one"))
        _, restricted = tenancy.issue_token(s, a, TokenCreate(scopes=["reports:read"], workspaces=[str(wa1.id)]))
        with pytest.raises(BadRequest):  # another tenant's workspace cannot be granted
            tenancy.issue_token(s, a, TokenCreate(scopes=["reports:read"], workspaces=[str(wb.id)]))
    with db.session() as s:
        p = authenticate(s, restricted)
        assert [w.id for w in tenancy.list_workspaces(s, p)] == [wa1.id]
        assert tenancy.get_workspace(s, p, str(wa1.id)).id == wa1.id
        for other in (wa2.id, wb.id, "not-a-uuid", uuid.uuid4()):
            with pytest.raises(NotFound):
                tenancy.get_workspace(s, p, other)


def test_rate_limiter_refills_and_reports_an_integer_wait() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.hit("t")
    with pytest.raises(TooManyRequests) as err:
        limiter.hit("t")
    assert err.value.retry_after == 20 and err.value.headers["Retry-After"] == "20"
    limiter.hit("other")  # per token
    now[0] = 20.0
    limiter.hit("t")  # one request refilled after 60/3 s
    with pytest.raises(TooManyRequests):
        limiter.hit("t")
    RateLimiter(per_minute=0).hit("t")  # 0 = unlimited
