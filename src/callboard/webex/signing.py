"""Signed, expiring download links (SPEC §4.2).

A link carries ``expires`` (Unix seconds) and ``signature`` = HMAC-SHA256 over the report's UUID and
that expiry, keyed with ``settings.secret_key`` or, when unset, a random key created once in
``data_dir/secret.key``. Anyone holding a fresh link may download (like Webex's download service),
so links are short-lived (``download_url_expiry_seconds``) and a new one is issued on every details
call; altering the report id or the expiry invalidates the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

SECRET_FILE = "secret.key"
_PURPOSE = b"callboard/webex-download/v1"


def load_secret(data_dir: Path, configured: str | None) -> bytes:
    """The signing key: the configured one, else the data folder's key file (created on first use).

    Creation uses ``O_EXCL`` so that two processes starting on an empty data folder agree on one key
    (the loser reads the winner's file) instead of each signing with its own.
    """
    if configured:
        return configured.encode("utf-8")
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the creator may not have written yet
            key = path.read_bytes().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} exists but is empty") from None
    key = secrets.token_hex(32).encode("ascii")
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class LinkCheck(Enum):
    """Outcome of checking a link's signature and expiry (mapped to 403 and 410 by the API)."""

    VALID = "valid"
    FORGED = "forged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Signer:
    key: bytes

    def signature(self, report: uuid.UUID, expires: int) -> str:
        msg = b"\n".join((_PURPOSE, report.hex.encode("ascii"), str(expires).encode("ascii")))
        digest = hmac.new(self.key, msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, report: uuid.UUID, lifetime_seconds: int, *, now: float | None = None) -> tuple[int, str]:
        """``(expires, signature)`` for a link valid ``lifetime_seconds`` from now."""
        expires = int(now if now is not None else time.time()) + lifetime_seconds
        return expires, self.signature(report, expires)

    def check(self, report: uuid.UUID | None, expires: str | None, signature: str | None,
              *, now: float | None = None) -> LinkCheck:
        """Signature first, then expiry: an altered ``expires`` is a forgery, not an expired link."""
        if report is None or not signature or expires is None:
            return LinkCheck.FORGED
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):  # '²'.isdigit() too
            return LinkCheck.FORGED
        expected = self.signature(report, int(expires))
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
            return LinkCheck.FORGED
        if int(expires) <= (now if now is not None else time.time()):
            return LinkCheck.EXPIRED
        return LinkCheck.VALID
