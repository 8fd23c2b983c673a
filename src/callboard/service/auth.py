"""Tokens and scopes (SPEC §4.3; the rate limits are in service.rate_limits).

A token is random, shown once, and stored only as its SHA-256, so a leaked database does not leak
working credentials. It belongs to one tenant (optionally to some of its workspaces) or, for system
administrators, to no tenant at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callboard.service.errors import BadRequest, Forbidden, Unauthorized
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

# Requests at priorityLevel 1 go before everyone else's (service.scheduling): granted, not assumed.
PRIORITY_REPORTS = "reports:priority"

TENANT_SCOPES: tuple[str, ...] = (
    READ_REPORTS, WRITE_REPORTS, WRITE_CALLS, ADMIN, PRIORITY_REPORTS,
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
    local: bool = False  # the running server's local credential (service.local_server), not a stored token

    @property
    def rate_key(self) -> str:
        if self.local:
            return "local-server"
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
