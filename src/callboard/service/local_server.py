"""One owner of the data folder: the running server's announcement and its local credential.

An embedded engine's file (``calls.duckdb``) can be opened by one process only. While ``callboard
serve`` holds it, the command line goes through that server instead of opening the file: the server
writes ``server.json`` into the data folder (owner-only, like everything there) with the loopback URL
it answers at, its process (pid and ``queue.owner_tag``, so a successor that reuses the pid is not
taken for it) and a **local credential** drawn at each start. The API accepts that credential as a
local principal that may store calls and run reports on any workspace of the folder -- what
``callboard import`` and ``callboard report run`` do offline. Whoever can read ``server.json`` can
read ``calls.duckdb`` and ``meta.sqlite`` too, so it grants nothing the file system did not already.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from callboard.service.auth import PRIORITY_REPORTS, READ_REPORTS, WRITE_CALLS, WRITE_REPORTS, Principal
from callboard.service.queue import HOST, owner_tag, tag_gone
from callboard.settings import Settings
from callboard.store.models import Workspace

SERVER_FILE = "server.json"
# Not the ``cb_`` of stored tokens: a local credential is never looked up in the token table first.
LOCAL_PREFIX = "cbl_"
# What `import` and `report run` need, and no more (no admin, no Webex routes).
LOCAL_SCOPES = frozenset({WRITE_CALLS, READ_REPORTS, WRITE_REPORTS, PRIORITY_REPORTS})


@dataclass(frozen=True)
class ServerInfo:
    """A ``server.json`` as read back."""

    url: str
    pid: int
    owner: str  # ``queue.owner_tag()`` of the serving process
    host: str
    credential: str
    max_body_bytes: int
    path: Path

    def alive(self) -> bool:
        """Whether the process that wrote the file still runs (on this host; a file of another host's
        process is not of use here: its loopback URL is not this machine's)."""
        return self.host == HOST and tag_gone(self.owner) is False


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server listening on ``host``:``port`` at: the
    loopback address of the same family when it listens on every interface."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    with contextlib.suppress(ValueError):
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            host = f"[{host}]"
    return f"http://{host}:{port}"


def new_credential() -> str:
    return LOCAL_PREFIX + secrets.token_urlsafe(32)


def announce(settings: Settings, url: str, credential: str) -> Path:
    """Write ``server.json`` (0600, via a temporary file renamed into place, so a reader never sees
    half of it). Replaces the file of a previous server, live or not: the newest server answers."""
    path = settings.data_dir / SERVER_FILE
    doc = {
        "url": url,
        "pid": os.getpid(),
        "owner": owner_tag(),
        "host": HOST,
        "credential": credential,
        "maxBodyBytes": settings.max_body_bytes,
        "startedAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    tmp = path.with_name(f".{SERVER_FILE}.{owner_tag()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # whatever the umask of whoever embeds the app
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def withdraw(path: Path, credential: str) -> None:
    """Remove ``server.json`` at a clean shutdown, if it is still this server's (another server of a
    shared engine may have announced itself since)."""
    info = _read(path)
    if info is not None and hmac.compare_digest(info.credential.encode(), credential.encode()):
        path.unlink(missing_ok=True)


def _read(path: Path) -> ServerInfo | None:
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(url=str(doc["url"]), pid=int(doc["pid"]), owner=str(doc["owner"]), host=str(doc["host"]),
                          credential=str(doc["credential"]), max_body_bytes=int(doc["maxBodyBytes"]), path=path)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, half-written by an older writer, or not ours: as if there were none


def running_server(settings: Settings) -> ServerInfo | None:
    """The server announced in the data folder, if its process still runs; a stale file is ignored
    (the next ``serve`` replaces it)."""
    info = _read(settings.data_dir / SERVER_FILE)
    return info if info is not None and info.alive() else None


def local_principal(session: Session, credential: str | None, token: str | None,
                    workspace_id: str | None) -> Principal | None:
    """The local principal when ``token`` is this server's local credential (compared in constant
    time), else None. It acts in the tenant of the workspace the request names, on that workspace
    only. Naming none (or an unknown one), it is of no tenant's: no tenant has the nil id, so it
    finds nothing (404, empty lists) rather than passing for a system administrator (tenant None)."""
    if not credential or not token or not token.startswith(LOCAL_PREFIX):
        return None
    if not hmac.compare_digest(token.encode(), credential.encode()):
        return None
    tenant = uuid.UUID(int=0)
    spaces: frozenset[uuid.UUID] = frozenset()
    if workspace_id:
        try:
            ws = session.get(Workspace, uuid.UUID(workspace_id))
        except ValueError:
            ws = None
        if ws is not None:
            tenant, spaces = ws.tenant_id, frozenset({ws.id})
    return Principal(None, tenant, LOCAL_SCOPES, workspaces=spaces, local=True)


# ---- the engine's lock -------------------------------------------------------------------------
_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")




def lock_message(settings: Settings, exc: BaseException) -> str:
    """One line for a lock conflict: which process holds the folder (the running server when there
    is one; else what DuckDB names) and what to do."""
    server = running_server(settings)
    if server is not None:
        return (f"the callboard server at {server.url} (pid {server.pid}) has {settings.calls_path} open, and one "
                "process at a time can: stop it first (`callboard import` and `callboard report run` go through "
                "it while it answers).")
    m = _HOLDER.search(str(exc))
    holder = f"process {m.group(2)} ({m.group(1)})" if m else "another process"
    return (f"{holder} has {settings.calls_path} open, and one process at a time can: wait for it to end or "
            "stop it, then run this command again.")
