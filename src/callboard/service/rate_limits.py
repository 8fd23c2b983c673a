"""Rate limits (SPEC §4.3): token buckets per key, ``per_minute`` requests refilled continuously.

Keys are tokens (``Principal.rate_key``) and, with a rate of their own, client addresses
(:func:`client_key`). Two limiters share one interface (:class:`Limiter`):

- :class:`RateLimiter` counts in memory, per process. With the SQLite metadata store, which is
  one machine's file, that is what the product needs.
- :class:`SharedRateLimiter` keeps the buckets in the PostgreSQL metadata store (the
  ``rate_buckets`` table), so every API process on that store counts against the same limits.

0 disables a limit. Over a limit, :class:`TooManyRequests` carries the whole seconds to wait.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from callboard.service.errors import TooManyRequests
from callboard.store.db import Database

log = logging.getLogger("callboard.rate_limits")


class Limiter(Protocol):
    """What the API asks of a rate limiter."""

    per_minute: int

    def hit(self, key: str, per_minute: int | None = None) -> None:
        """Count one request of ``key`` (at ``per_minute``, default the limiter's own rate), or raise
        :class:`TooManyRequests` with the seconds until one more would pass."""

    def retry_after(self, key: str, per_minute: int | None = None) -> int:
        """Seconds until ``key`` may make a request (0: now), without counting one."""

    def close(self) -> None:
        """Release what the limiter holds (connections)."""


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    per_minute: float


@dataclass
class RateLimiter:
    """Token buckets in memory, per process: a deployment with several API processes on one
    SQLite store (one machine) allows each limit per process."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    # At this many buckets, those refilled to the brim (the same as absent) are dropped, then if need
    # be the oldest, so keys seen once -- a scan from many addresses -- cannot grow memory for ever.
    max_buckets: int = 10_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, per_minute: int | None = None) -> None:
        wait = self._take(key, self.per_minute if per_minute is None else per_minute, take=True)
        if wait:
            raise TooManyRequests(wait)

    def retry_after(self, key: str, per_minute: int | None = None) -> int:
        return self._take(key, self.per_minute if per_minute is None else per_minute, take=False)

    def close(self) -> None:
        pass

    def _take(self, key: str, per_minute: int, *, take: bool) -> int:
        if per_minute <= 0:
            return 0
        rate = per_minute / 60.0
        now = self.clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self.max_buckets:
                    self._prune(now)
                b = self._buckets[key] = _Bucket(float(per_minute), now, float(per_minute))
            b.per_minute = float(per_minute)
            b.tokens = min(b.per_minute, b.tokens + (now - b.stamp) * rate)
            b.stamp = now
            if b.tokens >= 1.0:
                if take:
                    b.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - b.tokens) / rate))

    def _prune(self, now: float) -> None:
        """Drop the buckets that are full again; if that is not enough, the oldest tenth too (one scan
        per thousand new keys at worst)."""
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.stamp) * b.per_minute / 60.0 >= b.per_minute]
        for k in full:
            del self._buckets[k]
        excess = len(self._buckets) - self.max_buckets * 9 // 10
        for k in list(self._buckets)[:max(0, excess)]:
            del self._buckets[k]


# The instant the statements count from: the database's own clock unless a test passes one, so
# processes on machines whose clocks disagree still agree on how much a bucket has refilled.
# statement_timestamp() is one value for the whole statement (clock_timestamp() would move).
_NOW = "coalesce(CAST(:now AS timestamptz), statement_timestamp())"


def _refilled(bucket: str, now: str) -> str:
    """A bucket's tokens at ``now``: refilled at ``:rate`` a second up to ``:cap``. An instant before
    the stamp (a concurrent statement that started earlier but wrote later) refills nothing."""
    return (f"least(CAST(:cap AS float8), {bucket}.tokens"
            f" + greatest(0, CAST(extract(epoch FROM {now} - {bucket}.stamp) AS float8)) * CAST(:rate AS float8))")


# Refill and take in one statement: the upsert locks the key's row, so of two processes after the
# last token one updates it and the other, re-checking the WHERE on the row as the first left it,
# updates nothing. When nothing is taken, ``have`` (the row as the statement's snapshot saw it) gives
# the wait; under contention it may be a moment old (or, for a row another process has just
# created, absent), which at worst shortens Retry-After to 1 s.
_TAKE = text(f"""
WITH n AS (SELECT {_NOW} AS now),
taken AS (
    INSERT INTO rate_buckets AS b (key, tokens, stamp)
    SELECT CAST(:key AS text), CAST(:cap AS float8) - 1, n.now FROM n
    ON CONFLICT (key) DO UPDATE
        SET tokens = {_refilled("b", "excluded.stamp")} - 1,
            stamp = greatest(b.stamp, excluded.stamp)
        WHERE {_refilled("b", "excluded.stamp")} >= 1
    RETURNING b.tokens
)
SELECT (SELECT tokens FROM taken) AS left_after,
       (SELECT {_refilled("r", "n.now")} FROM rate_buckets AS r, n WHERE r.key = :key) AS have
""")

_PEEK = text(f"SELECT {_refilled('r', 'n.now')} FROM rate_buckets AS r, (SELECT {_NOW} AS now) AS n "
             "WHERE r.key = :key")

# A bucket untouched for a minute has refilled completely (it holds at most ``per_minute`` tokens and
# gains ``per_minute`` a minute), which is the same as no row: deleting it changes no answer.
_PRUNE = text(f"DELETE FROM rate_buckets WHERE stamp < {_NOW} - interval '60 seconds'")


class SharedRateLimiter:
    """Token buckets in the PostgreSQL metadata store, one row per key, shared by every process.

    One round trip per :meth:`hit` or :meth:`retry_after`: a small pool of connections of the
    limiter's own, in autocommit and without the store's pre-ping, so the statement is all that
    travels (a session would add a ping, BEGIN and COMMIT).

    **Bounded growth**: every ``prune_every`` hits this process deletes the buckets untouched for a
    minute, which are full again and so the same as absent; the table holds the keys active in
    the last minute plus those seen since the latest prune.

    **Store errors** do not fail the request on the limiter's account: the limiter counts that
    request in memory, in this process (a :class:`RateLimiter` of its own), and logs a warning at
    most once a minute. While the store is away the limits hold per process, as with SQLite; a
    request that needs the store for its own work fails on its own.

    ``clock`` (seconds since the epoch) replaces the database's clock, for tests.
    """

    def __init__(self, db: Database, per_minute: int, *, clock: Callable[[], float] | None = None,
                 prune_every: int = 1000, pool_size: int = 4, max_overflow: int = 8) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.prune_every = prune_every
        # The engine's URL object keeps the password (its str() would hide it).
        self.engine: Engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False,
                                            pool_size=pool_size, max_overflow=max_overflow)
        self.fallback = RateLimiter(per_minute)
        self._hits = itertools.count(1)
        self._warned_at = -math.inf

    def hit(self, key: str, per_minute: int | None = None) -> None:
        rate = self.per_minute if per_minute is None else per_minute
        if rate <= 0:
            return
        try:
            with self.engine.connect() as conn:
                row = conn.execute(_TAKE, self._params(key, rate)).one()
        except SQLAlchemyError as exc:
            self._store_failed(exc)
            self.fallback.hit(key, rate)
            return
        if next(self._hits) % self.prune_every == 0:
            try:
                self.prune()
            except SQLAlchemyError as exc:  # the next prune will catch up
                self._store_failed(exc)
        if row.left_after is None:
            raise TooManyRequests(1 if row.have is None else self._wait(row.have, rate))

    def retry_after(self, key: str, per_minute: int | None = None) -> int:
        rate = self.per_minute if per_minute is None else per_minute
        if rate <= 0:
            return 0
        try:
            with self.engine.connect() as conn:
                have = conn.execute(_PEEK, self._params(key, rate)).scalar()
        except SQLAlchemyError as exc:
            self._store_failed(exc)
            return self.fallback.retry_after(key, rate)
        return 0 if have is None or have >= 1.0 else self._wait(have, rate)

    def prune(self) -> int:
        """Delete the buckets that are full again; the number deleted."""
        with self.engine.connect() as conn:
            return conn.execute(_PRUNE, {"now": self._now()}).rowcount

    def close(self) -> None:
        self.engine.dispose()

    def _now(self) -> datetime | None:
        return None if self.clock is None else datetime.fromtimestamp(self.clock(), UTC)

    def _params(self, key: str, per_minute: int) -> dict[str, Any]:
        return {"key": key, "cap": float(per_minute), "rate": per_minute / 60.0, "now": self._now()}

    @staticmethod
    def _wait(have: float, per_minute: int) -> int:
        return max(1, math.ceil((1.0 - have) / (per_minute / 60.0)))

    def _store_failed(self, exc: SQLAlchemyError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("rate limits: the metadata store failed (%s); counting in this process meanwhile",
                        type(exc).__name__, exc_info=exc)


def client_key(host: str | None) -> str:
    """The rate-limit key of a client address: the address itself, or for IPv6 its /64 network (one
    host usually holds a whole /64, and would otherwise get a fresh bucket per address)."""
    if not host:
        return "client:unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"client:{host[:100]}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return f"client:{address.ipv4_mapped}"
        return f"client:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"client:{address}"
