"""Rate limits shared through the PostgreSQL metadata store: two limiters, each with its own
``Database`` (its own engine and connections, as two API processes would have), count against the
same buckets; the refill follows the database's clock, or one a test passes; idle buckets are pruned;
a store error falls back to counting in memory. On SQLite the limiter stays in memory."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from callboard.api.app import create_app
from callboard.service.errors import TooManyRequests
from callboard.service.rate_limits import RateLimiter, SharedRateLimiter
from callboard.settings import Settings
from callboard.store import Database
from tests.support.api import ADMIN, Api, V, check_error


class Clock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def two(pg_url: str) -> Iterator[Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]]]:
    """A factory of two limiters on one database, each through a ``Database`` of its own."""
    opened: list[tuple[Database, SharedRateLimiter]] = []

    def make(per_minute: int, **kw: Any) -> tuple[SharedRateLimiter, SharedRateLimiter]:
        for _ in range(2):
            db = Database(pg_url)
            opened.append((db, SharedRateLimiter(db, per_minute, **kw)))
        return opened[-2][1], opened[-1][1]

    yield make
    for db, limiter in opened:
        limiter.close()
        db.dispose()


def _rows(limiter: SharedRateLimiter) -> set[str]:
    with limiter.engine.connect() as conn:
        return set(conn.scalars(text("SELECT key FROM rate_buckets")))


@pytest.mark.postgres
def test_two_processes_share_the_limit_exactly(two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]]
                                               ) -> None:
    a, b = two(10, clock=Clock())  # a clock that stands still: nothing refills
    for n in range(10):
        (a if n % 2 else b).hit("token-1")
    for limiter in (a, b):
        with pytest.raises(TooManyRequests) as err:
            limiter.hit("token-1")
        assert err.value.retry_after == 6  # 10 a minute: one more every 6 s
        assert err.value.headers["Retry-After"] == "6"
        assert limiter.retry_after("token-1") == 6
    a.hit("token-2")  # per key
    assert b.retry_after("token-1", 20) == 3  # the rate is the caller's: at 20 a minute, one every 3 s
    assert a.retry_after("never-seen") == 0


@pytest.mark.postgres
def test_concurrent_hits_from_both_never_exceed_the_limit(
        two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]]) -> None:
    a, b = two(40, clock=Clock())
    passed, refused = [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hammer(limiter: SharedRateLimiter) -> None:
        start.wait()
        for _ in range(15):
            try:
                limiter.hit("hot")
                outcome = passed
            except TooManyRequests:
                outcome = refused
            with lock:
                outcome[0] += 1

    threads = [threading.Thread(target=hammer, args=(a if n % 2 else b,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert passed[0] == 40 and refused[0] == 8 * 15 - 40


@pytest.mark.postgres
def test_refill_follows_the_given_clock(two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]]) -> None:
    clock = Clock()
    a, b = two(3, clock=clock)
    for limiter in (a, b, a):
        limiter.hit("t")
    with pytest.raises(TooManyRequests) as err:
        b.hit("t")
    assert err.value.retry_after == 20
    clock.now += 19
    assert a.retry_after("t") == 1
    with pytest.raises(TooManyRequests):
        b.hit("t")  # a refused hit takes nothing: the bucket is still 1 s short
    clock.now += 1
    a.hit("t")
    with pytest.raises(TooManyRequests):
        b.hit("t")
    clock.now += 3600  # refilled to the brim, not beyond
    for limiter in (a, b, b):
        limiter.hit("t")
    with pytest.raises(TooManyRequests):
        a.hit("t")
    clock.now -= 10  # a process whose instant is older than the stamp refills nothing (and takes nothing)
    with pytest.raises(TooManyRequests):
        b.hit("t")


@pytest.mark.postgres
def test_refill_follows_the_database_clock(two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]]) -> None:
    a, b = two(60)  # one a second, on the database's clock
    for n in range(70):
        try:
            (a if n % 2 else b).hit("t")
        except TooManyRequests as err:
            assert err.retry_after == 1
            break
    else:
        pytest.fail("60 a minute never refused")
    assert n >= 60  # plus what refilled while the loop ran
    time.sleep(1.1)  # the bucket held less than 1: now between 1.1 and 2.1
    passed = 0
    for n in range(5):
        try:
            (a if n % 2 else b).hit("t")
            passed += 1
        except TooManyRequests:
            break
    assert passed in (1, 2)


@pytest.mark.postgres
def test_full_buckets_are_pruned(two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]]) -> None:
    clock = Clock()
    a, b = two(6, clock=clock, prune_every=5)
    for n in range(3):
        a.hit(f"client:{n}")
    b.hit("busy")
    assert _rows(a) == {"client:0", "client:1", "client:2", "busy"}
    clock.now += 50
    for _ in range(5):  # b's calls 2 to 6: its prune runs at the 5th, when every bucket is under a minute old
        b.hit("busy")
    assert _rows(a) == {"client:0", "client:1", "client:2", "busy"}
    clock.now += 11  # the three clients' buckets are 61 s old: full again, as good as absent
    assert a.prune() == 3
    assert _rows(b) == {"busy"}
    assert b.retry_after("busy") == 0 and b.retry_after("client:0") == 0
    clock.now += 60
    a.hit("x")  # a's 4th
    a.hit("y")  # a's 5th: its periodic prune takes "busy"
    assert _rows(a) == {"x", "y"}


@pytest.mark.postgres
def test_a_store_error_counts_in_memory_with_a_warning(
        two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]], caplog: pytest.LogCaptureFixture) -> None:
    a, b = two(2)
    with a.engine.connect() as conn:
        conn.execute(text("DROP TABLE rate_buckets"))
    with caplog.at_level(logging.WARNING, logger="callboard.rate_limits"):
        a.hit("t")
        assert a.retry_after("t") == 0
        a.hit("t")
        with pytest.raises(TooManyRequests) as err:
            a.hit("t")  # still limited, in this process
        assert err.value.retry_after == 30
        b.hit("t")  # the other process counts on its own meanwhile
    warnings = [r for r in caplog.records if r.name == "callboard.rate_limits"]
    assert len(warnings) == 2  # one per process, not one per request
    assert "the metadata store failed" in warnings[0].getMessage()


@pytest.mark.postgres
def test_zero_turns_a_limit_off_without_asking_the_store(
        two: Callable[..., tuple[SharedRateLimiter, SharedRateLimiter]], monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = two(0)
    monkeypatch.setattr(a.engine, "connect", lambda: pytest.fail("the store was asked"))
    for _ in range(100):
        a.hit("t")
    assert a.retry_after("t") == 0


def _settings(tmp_path: Path, name: str, url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / name, database_url=url, admin_token=ADMIN, workers=0,
                    rate_limit_per_minute=0, client_rate_limit_per_minute=3)


@pytest.mark.postgres
def test_two_apps_on_one_postgresql_store_count_failed_authentications_together(
        pg_url: str, tmp_path: Path) -> None:
    # two API processes (their own data folders and warehouses) behind one load balancer
    one, two = (create_app(_settings(tmp_path, name, pg_url), workers=0, announce=False) for name in ("a", "b"))
    try:
        assert isinstance(one.state.ctx.limiter, SharedRateLimiter)
        _, token = Api(one).tenant()
        good = Api.auth(token)
        wrong = {"Authorization": "Bearer cb_not-a-token-of-this-server"}
        at_one, at_two = (TestClient(app, client=("192.0.2.7", 40000)) for app in (one, two))
        check_error(at_one.get(f"{V}/workspaces", headers=wrong), 401)
        check_error(at_two.get(f"{V}/workspaces", headers=wrong), 401)
        check_error(at_one.get(f"{V}/workspaces", headers=wrong), 401)
        r = at_two.get(f"{V}/workspaces", headers=wrong)
        check_error(r, 429)
        assert r.headers["Retry-After"] == "20"
        check_error(at_one.get(f"{V}/workspaces", headers=good), 429)  # blocked on both
        other = TestClient(two, client=("192.0.2.8", 40000))
        assert other.get(f"{V}/workspaces", headers=good).status_code == 200
    finally:
        one.state.ctx.close()
        two.state.ctx.close()


def test_a_sqlite_store_counts_in_memory(tmp_path: Path) -> None:
    """One machine's file: each process counts on its own, with no round trip; the table the migration
    creates there stays empty."""
    app = create_app(_settings(tmp_path, "a", None), workers=0, announce=False)
    try:
        assert isinstance(app.state.ctx.limiter, RateLimiter)
        wrong = {"Authorization": "Bearer cb_wrong"}
        client = TestClient(app, client=("192.0.2.7", 40000))
        for _ in range(3):
            check_error(client.get(f"{V}/workspaces", headers=wrong), 401)
        check_error(client.get(f"{V}/workspaces", headers=wrong), 429)
        with app.state.ctx.db.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM rate_buckets")) == 0
    finally:
        app.state.ctx.close()


@pytest.mark.postgres
def test_the_table_is_unlogged_on_postgresql(pg_url: str) -> None:
    """Its writes, one per authenticated request, wait for no WAL flush; a crash empties it, which
    leaves every bucket full."""
    db = Database(pg_url)
    try:
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_buckets'")) == "u"
    finally:
        db.dispose()
