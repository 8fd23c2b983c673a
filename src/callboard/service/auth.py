"""Tokens, scopes and rate limits (SPEC §4.3).

A token is random, shown once, and stored only as its SHA-256, so a leaked database does not leak
working credentials. It belongs to one tenant (optionally to some of its workspaces) or, for system
administrators, to no tenant at all.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callboard.service.errors import BadRequest, Forbidden, TooManyRequests, Unauthorized
from callboard.store.models import ApiToken, utcnow

READ_REPORTS = "reports:read"
WRITE_REPORTS = "reports:write"
WRITE_CALLS = "calls:write"
ADMIN = "admin"
# Webex-compatible names, accepted by the /v1 routes.
WEBEX_ANALYTICS_READ = "analytics:read_all"
WEBEX_REPORTS_READ = "spark-admin:reports_read"
WEBEX_REPORTS_WRITE = "spark-admin:reports_write"
WEBEX_PEOPLE_READ = "identity:people_read"

TENANT_SCOPES: tuple[str, ...] = (
    READ_REPORTS, WRITE_REPORTS, WRITE_CALLS, ADMIN,
    WEBEX_ANALYTICS_READ, WEBEX_REPORTS_READ, WEBEX_REPORTS_WRITE, WEBEX_PEOPLE_READ,
)
# A scope that implies others, so a writer need not also be granted read.
IMPLIED: dict[str, tuple[str, ...]] = {WRITE_REPORTS: (READ_REPORTS,)}
SYSTEM_SCOPE = "system"
TOKEN_PREFIX = "cb_"

Alternative = str | tuple[str, ...]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """256 bits of randomness with a recognisable prefix (secret scanners can spot leaked ones)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved once per request by the auth dependency."""

    token_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    scopes: frozenset[str]
    workspaces: frozenset[uuid.UUID] | None = None
    is_system: bool = False
    expires_at: datetime | None = None

    @property
    def rate_key(self) -> str:
        return str(self.token_id) if self.token_id else "system-env"

    def effective_scopes(self) -> frozenset[str]:
        out = set(self.scopes)
        for s in self.scopes:
            out.update(IMPLIED.get(s, ()))
        return frozenset(out)

    def allows(self, *alternatives: Alternative) -> bool:
        """True when one alternative is satisfied (a string, or a tuple whose scopes are all held)."""
        have = self.effective_scopes()
        for alt in alternatives:
            needed = (alt,) if isinstance(alt, str) else alt
            if all(s in have for s in needed):
                return True
        return False

    def require(self, *alternatives: Alternative) -> None:
        if self.is_system or self.tenant_id is None:
            raise Forbidden("A system administrator token can only manage tenants and their tokens.")
        if not self.allows(*alternatives):
            wanted = " or ".join(a if isinstance(a, str) else " + ".join(a) for a in alternatives)
            raise Forbidden(f"This token lacks the scope this operation needs: {wanted}.")

    def sees_workspace(self, workspace_id: uuid.UUID) -> bool:
        return self.workspaces is None or workspace_id in self.workspaces


def authenticate(session: Session, token: str | None, *, admin_token: str | None = None) -> Principal:
    """The principal for a bearer token, or :class:`Unauthorized` (missing, unknown, expired)."""
    if not token:
        raise Unauthorized("Missing bearer token (Authorization: Bearer <token>).")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(None, None, frozenset({SYSTEM_SCOPE}), is_system=True)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None:
        raise Unauthorized("Unknown token.")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Unauthorized("Token expired.")
    return Principal(
        token_id=row.id,
        tenant_id=row.tenant_id,
        scopes=frozenset(row.scopes or ()),
        workspaces=None if row.workspaces is None else frozenset(uuid.UUID(w) for w in row.workspaces),
        is_system=row.is_system,
        expires_at=row.expires_at,
    )


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Validated, de-duplicated scope list for a new token."""
    scopes = list(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in TENANT_SCOPES]
    if unknown:
        raise BadRequest(
            f"Unknown scope(s): {', '.join(unknown)}.",
            [f"Valid scopes: {', '.join(TENANT_SCOPES)}."],
        )
    if not scopes:
        raise BadRequest("A token needs at least one scope.", [f"Valid scopes: {', '.join(TENANT_SCOPES)}."])
    return scopes


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    per_minute: float


@dataclass
class RateLimiter:
    """Token buckets: ``per_minute`` requests per key, refilled continuously.

    Keys are tokens (``Principal.rate_key``) and, with a rate of their own, client addresses
    (:func:`client_key`). In memory, per process: a deployment with several API processes allows
    each limit per process, which is what a single-machine product needs; 0 disables a limit.
    """

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    # At this many buckets, those refilled to the brim (the same as absent) are dropped, then if need
    # be the oldest, so keys seen once -- a scan from many addresses -- cannot grow memory for ever.
    max_buckets: int = 10_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, per_minute: int | None = None) -> None:
        """Count one request of ``key`` (at ``per_minute``, default the limiter's own rate), or raise
        :class:`TooManyRequests` with the seconds until one more would pass."""
        wait = self._take(key, self.per_minute if per_minute is None else per_minute, take=True)
        if wait:
            raise TooManyRequests(wait)

    def retry_after(self, key: str, per_minute: int | None = None) -> int:
        """Seconds until ``key`` may make a request (0: now), without counting one."""
        return self._take(key, self.per_minute if per_minute is None else per_minute, take=False)

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
