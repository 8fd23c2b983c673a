"""Shared by the Webex tests: a real callboard server (uvicorn on 127.0.0.1, a free port, a
background thread, a temporary data folder) with one organisation holding a week of calls, and
tokens for every scope combination the Webex routes care about. Tests talk to it over HTTP only
(``requests`` or the real wxc_sdk)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import uvicorn

from callboard.api.app import create_app
from callboard.settings import Settings

ADMIN = "test-admin-token-0123456789abcdef"
FIRST_DAY = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
DAYS = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """One running server and the organisation set up in it."""

    base: str
    data_dir: Path
    settings: Settings
    tenant: str = ""
    workspace: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    def auth(self, who: str = "read") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str = "read", **kw: Any) -> requests.Response:
        return requests.get(self.url(path), headers=self.auth(who), timeout=60, **kw)

    def post(self, path: str, who: str = "write", **kw: Any) -> requests.Response:
        return requests.post(self.url(path), headers=self.auth(who), timeout=60, **kw)

    def delete(self, path: str, who: str = "write", **kw: Any) -> requests.Response:
        return requests.delete(self.url(path), headers=self.auth(who), timeout=60, **kw)

    def token(self, scopes: list[str], tenant: str | None = None, **extra: Any) -> str:
        r = requests.post(self.url(f"/api/v1.0/tenants/{tenant or self.tenant}/tokens"),
                          headers={"Authorization": f"Bearer {ADMIN}"},
                          json={"scopes": scopes, **extra}, timeout=30)
        r.raise_for_status()
        return str(r.json()["token"])


def start_server(data_dir: Path, **overrides: Any) -> tuple[Live, uvicorn.Server, threading.Thread]:
    values: dict[str, Any] = {"data_dir": data_dir, "admin_token": ADMIN, "workers": 1,
                              "worker_poll_seconds": 0.05, "rate_limit_per_minute": 100_000}
    values.update(overrides)
    settings = Settings(**values)
    app = create_app(settings, announce=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("callboard test server did not start")
        time.sleep(0.02)
    return Live(f"http://127.0.0.1:{port}", data_dir, settings), server, thread


def stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(30)


def make_calls(days: int = DAYS, per_day: int = 40) -> list[dict[str, Any]]:
    """Canonical segments: calls spread over each day, some transferred (two segments), some lost."""
    rows: list[dict[str, Any]] = []
    for d in range(days):
        for n in range(per_day):
            start = FIRST_DAY + timedelta(days=d, minutes=7 + n * 31)
            conn = f"c-{d}-{n}"
            user = n % 5
            incoming = n % 3 != 0
            lost = n % 11 == 0
            base = {
                "connId": conn, "start": start.isoformat().replace("+00:00", "Z"),
                "userName": f"Agent {user}", "userNum": f"20{user}",
                "cli": f"+4420790{n:05d}" if incoming else f"20{user}",
                "callType": 2, "callDir": 2 if incoming else 3,
                "calledUserNum": f"20{user}" if incoming else f"+4420791{n:05d}",
                "callUserNum": f"+4420790{n:05d}" if incoming else f"20{user}",
                "hgNum": "300" if incoming else None, "hgName": "Sales" if incoming else None,
            }
            if n % 4 == 1 and not lost:  # rang out at one agent, answered by the next
                rows.append({**base, "docId": f"{conn}-a", "ring": 12.0, "duration": 12.0, "ref": 1})
                second = start + timedelta(seconds=12)
                rows.append({**base, "docId": f"{conn}-b", "start": second.isoformat().replace("+00:00", "Z"),
                             "userName": f"Agent {(user + 1) % 5}", "userNum": f"20{(user + 1) % 5}",
                             "ring": 4.0, "duration": 64.0 + n, "ans": 1})
            elif lost:
                rows.append({**base, "docId": f"{conn}-a", "ring": 25.0, "duration": 25.0, "lost": 1})
            else:
                rows.append({**base, "docId": f"{conn}-a", "ring": 6.0, "duration": 90.0 + 3 * n, "ans": 1})
    return rows


def setup_org(live: Live, name: str = "Acme Org") -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    r = requests.post(live.url("/api/v1.0/tenants"), headers=admin, json={"name": name}, timeout=30)
    r.raise_for_status()
    live.tenant = r.json()["id"]
    live.tokens["admin"] = live.token(["admin", "reports:read", "reports:write", "calls:write"])
    r = requests.post(live.url("/api/v1.0/workspaces"), headers=live.auth("admin"),
                      json={"name": "Main", "timeZoneId": "UTC"}, timeout=30)
    r.raise_for_status()
    live.workspace = r.json()["id"]
    live.tokens.update({
        "read": live.token(["spark-admin:reports_read", "identity:people_read"]),
        "write": live.token(["spark-admin:reports_write", "identity:people_read"]),
        "webex": live.token(["spark-admin:reports_read", "spark-admin:reports_write", "identity:people_read"]),
        "analytics": live.token(["analytics:read_all"]),
        "native": live.token(["reports:read", "reports:write"]),
        "native_read": live.token(["reports:read"]),
        "people_only": live.token(["identity:people_read"]),
        "read_no_people": live.token(["spark-admin:reports_read"]),
        "calls": live.token(["calls:write"]),
    })


