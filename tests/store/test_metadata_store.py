"""The metadata store on SQLite and PostgreSQL: migrations, constraints, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select
from sqlalchemy.exc import IntegrityError

from callboard.store import Database, upgrade
from callboard.store.migrations import heads
from callboard.store.models import ApiToken, Base, ReportRequest, SavedReport, Tenant, Workspace

OUR_TABLES = {"tenants", "workspaces", "reports", "requests", "tokens"}


def test_migrations_create_our_tables_and_match_the_models(store_url: str) -> None:
    db = Database(store_url)
    names = set(inspect(db.engine).get_table_names())
    assert names >= OUR_TABLES
    assert "alembic_version" in names
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in OUR_TABLES:
        Base.metadata.tables[name].to_metadata(ours)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), ours)
    # Only differences about tables other features own (e.g. webex_reports) may remain.
    ours_diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name not in OUR_TABLES)
                 and not (d[0] in ("remove_index", "remove_fk") and getattr(d[1], "table", None) is not None
                          and d[1].table.name not in OUR_TABLES)]
    assert ours_diff == []
    db.dispose()


def test_upgrade_is_idempotent_and_reaches_every_head(store_url: str) -> None:
    upgrade(store_url)
    upgrade(store_url)
    db = Database(store_url)
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    assert current == set(heads())
    db.dispose()


def test_round_trip_and_constraints(store_url: str) -> None:
    db = Database(store_url)
    with db.session() as s:
        t = Tenant(name="acme")
        s.add(t)
        s.flush()
        ws = Workspace(tenant_id=t.id, name="hq", time_zone="Europe/London")
        s.add(ws)
        s.flush()
        s.add(SavedReport(workspace_id=ws.id, name="r", template="CallList", defaults={"pageSize": 10}))
        tid, wid = t.id, ws.id
    with db.session() as s:
        rep = s.scalars(select(SavedReport)).one()
        assert rep.defaults == {"pageSize": 10}
        assert rep.created_at.tzinfo is UTC
        assert abs(rep.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Workspace(tenant_id=tid, name="hq", time_zone="UTC"))
    # Deleting a tenant removes everything it owns.
    with db.session() as s:
        s.delete(s.get(Tenant, tid))
    with db.session() as s:
        assert s.get(Workspace, wid) is None
        assert s.scalars(select(SavedReport)).all() == []
    db.dispose()


def test_token_hash_is_unique(store_url: str) -> None:
    db = Database(store_url)
    with db.session() as s:
        s.add(ApiToken(token_hash="a" * 64, scopes=["admin"], is_system=True))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(ApiToken(token_hash="a" * 64, scopes=["admin"], is_system=True))
    db.dispose()


def test_naive_datetimes_are_refused(store_url: str) -> None:
    db = Database(store_url)
    with pytest.raises(Exception, match="naive"), db.session() as s:
        s.add(Tenant(name="x", created_at=datetime(2025, 1, 1)))
        s.flush()
    db.dispose()


def test_request_json_columns(store_url: str) -> None:
    db = Database(store_url)
    with db.session() as s:
        t = Tenant(name="acme")
        s.add(t)
        s.flush()
        ws = Workspace(tenant_id=t.id, name="hq", time_zone="UTC")
        s.add(ws)
        s.flush()
        r = ReportRequest(tenant_id=t.id, workspace_id=ws.id, template="CallList", attempts=0,
                          cancel_requested=False, request_json={"a": [1, 2], "b": None},
                          resolved_json={"rowLimit": 5}, summary=[{"ans": 3}])
        s.add(r)
        s.flush()
        rid = r.id
    with db.session() as s:
        r = s.get(ReportRequest, rid)
        assert r.request_json == {"a": [1, 2], "b": None}
        assert r.summary == [{"ans": 3}]
        assert r.status == 0 and r.priority == 2
    db.dispose()
