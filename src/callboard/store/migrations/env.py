"""Alembic environment: online migrations only, on the URL given by :func:`upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from callboard.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url: str | None = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    if url is None:
        raise RuntimeError("callboard migrations need a database URL (callboard.store.migrations.upgrade "
                           "passes it as the 'url' config attribute)")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("callboard migrations run online only (callboard.store.migrations.upgrade)")
run_migrations_online()
