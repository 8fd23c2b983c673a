"""Webex-style identifiers for reports and people.

Webex ids are base64 text of a ``ciscospark://`` URN (``ciscospark://urn:TEAM:<cluster>/REPORT/<uuid>``);
clients treat them as opaque strings but some log or decode them, so we keep the same form. The
alphabet is the URL-safe one without padding: the id appears in paths and in the download link's
query string, and ``+``/``/`` there would need escaping that some clients forget. Decoding accepts
either alphabet and missing padding, so ids copied from anywhere still resolve.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

CLUSTER = "callboard"
_URN = re.compile(r"^ciscospark://urn:TEAM:[A-Za-z0-9_.-]+/(?P<kind>[A-Z_]+)/(?P<uuid>[0-9a-fA-F-]{32,36})$")


def encode(kind: str, value: uuid.UUID) -> str:
    """The Webex-style id of ``value`` as a resource of ``kind`` (``REPORT``, ``PEOPLE``...)."""
    urn = f"ciscospark://urn:TEAM:{CLUSTER}/{kind}/{value.hex}"
    return base64.urlsafe_b64encode(urn.encode("ascii")).decode("ascii").rstrip("=")


def decode(kind: str, text: str) -> uuid.UUID | None:
    """The UUID inside a Webex-style id of ``kind``, or None when ``text`` is not one (404, not 400:
    an id that does not decode names no resource, exactly like an unknown one)."""
    if not text or len(text) > 200:
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        urn = raw.decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    match = _URN.match(urn)
    if match is None or match.group("kind") != kind:
        return None
    try:
        return uuid.UUID(match.group("uuid"))
    except ValueError:
        return None


def report_id(value: uuid.UUID) -> str:
    return encode("REPORT", value)


def parse_report_id(text: str) -> uuid.UUID | None:
    return decode("REPORT", text)


def person_id(value: uuid.UUID) -> str:
    """``createdBy``: the token that created the report, shaped like a Webex person id."""
    return encode("PEOPLE", value)
