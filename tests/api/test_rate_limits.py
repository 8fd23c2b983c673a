"""Rate limits per client address (``CALLBOARD_CLIENT_RATE_LIMIT_PER_MINUTE``): failed authentications
and download-link requests, answered 429 with ``Retry-After``; the address is the one the ASGI server
reports, which behind a trusted proxy is the forwarded one. The limiter's clock is driven by hand."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from callboard.api import server
from callboard.api.deps import DownloadLimit
from callboard.service.rate_limits import RateLimiter, client_key
from callboard.settings import Settings
from callboard.webex.templates import WEBEX_TEMPLATE_IDS
from tests.support.api import Api, V, check_error

RATE = 3  # per minute: one more every 20 s
WRONG = {"Authorization": "Bearer cb_not-a-token-of-this-server"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(app_factory: Callable[..., FastAPI], clock: Clock) -> FastAPI:
    app = app_factory(client_rate_limit_per_minute=RATE)
    app.state.ctx.limiter.clock = clock
    return app


def at(app: Any, host: str) -> TestClient:
    return TestClient(app, client=(host, 40000), raise_server_exceptions=False)


def test_failed_authentications_are_limited_per_client_address(app: FastAPI, clock: Clock) -> None:
    api = Api(app)
    _, token = api.tenant()
    good = api.auth(token)
    one, two = at(app, "127.0.0.1"), at(app, "127.0.0.2")
    for _ in range(RATE):
        check_error(one.get(f"{V}/workspaces", headers=WRONG), 401)
    r = one.get(f"{V}/workspaces", headers=WRONG)
    check_error(r, 429, "retry")
    assert r.headers["Retry-After"] == "20"
    # while over the limit the address is refused before any token is looked at: a good one, none at
    # all, and on the Webex routes too
    check_error(one.get(f"{V}/workspaces", headers=good), 429)
    check_error(one.get(f"{V}/workspaces"), 429)
    check_error(one.get("/v1/reports", headers=WRONG), 429)
    # another address has its own budget
    assert two.get(f"{V}/workspaces", headers=good).status_code == 200
    check_error(two.get(f"{V}/workspaces", headers=WRONG), 401)
    # one failure more every 20 s
    clock.now += 19
    check_error(one.get(f"{V}/workspaces", headers=WRONG), 429)
    clock.now += 1
    check_error(one.get(f"{V}/workspaces", headers=WRONG), 401)
    check_error(one.get(f"{V}/workspaces", headers=WRONG), 429)
    clock.now += 20
    assert one.get(f"{V}/workspaces", headers=good).status_code == 200


def test_missing_tokens_count_as_failures_and_good_ones_do_not(app: FastAPI) -> None:
    api = Api(app)
    _, token = api.tenant()
    one = at(app, "127.0.0.1")
    for _ in range(RATE * 5):  # the per-token limit is off in these tests (CALLBOARD_RATE_LIMIT_PER_MINUTE=0)
        assert one.get(f"{V}/workspaces", headers=api.auth(token)).status_code == 200
    for _ in range(RATE):
        check_error(one.get(f"{V}/workspaces"), 401)
    check_error(one.get(f"{V}/workspaces"), 429)


def test_zero_turns_the_client_limit_off(app_factory: Callable[..., FastAPI]) -> None:
    one = at(app_factory(client_rate_limit_per_minute=0), "127.0.0.1")
    for _ in range(RATE * 5):
        check_error(one.get(f"{V}/workspaces", headers=WRONG), 401)


def test_the_per_token_limit_still_holds(app_factory: Callable[..., FastAPI], clock: Clock) -> None:
    app = app_factory(rate_limit_per_minute=2, client_rate_limit_per_minute=RATE)
    app.state.ctx.limiter.clock = clock
    api = Api(app)
    _, token = api.tenant()  # (the admin token is limited too: 2 calls made here)
    one = at(app, "127.0.0.1")
    for _ in range(2):
        assert one.get(f"{V}/workspaces", headers=api.auth(token)).status_code == 200
    r = one.get(f"{V}/workspaces", headers=api.auth(token))
    check_error(r, 429)
    assert r.headers["Retry-After"] == "30"
    check_error(one.get(f"{V}/workspaces", headers=WRONG), 401)  # the address's own budget is untouched


def test_the_download_limit_dependency(app: FastAPI, clock: Clock) -> None:
    @app.get("/test-only/limited")
    def limited(_: DownloadLimit) -> dict[str, str]:
        return {"ok": "yes"}

    one, two = at(app, "127.0.0.1"), at(app, "127.0.0.2")
    for _ in range(RATE):
        assert one.get("/test-only/limited").status_code == 200
    r = one.get("/test-only/limited")
    check_error(r, 429)
    assert r.headers["Retry-After"] == "20"
    assert two.get("/test-only/limited").status_code == 200
    clock.now += 20
    assert one.get("/test-only/limited").status_code == 200


def test_download_links_are_limited_per_client_address(app: FastAPI) -> None:
    api = Api(app)
    _, token = api.tenant()
    api.workspace(token)
    r = api.client.post("/v1/reports", headers=api.auth(token), json={
        "templateId": WEBEX_TEMPLATE_IDS["CallList"].id, "startDate": "2025-03-03", "endDate": "2025-03-09"})
    assert r.status_code == 200, r.text
    link = f"/v1/reports/{r.json()['items']['Id']}/download"
    one = at(app, "127.0.0.1")
    for _ in range(RATE):  # token-less, signature wrong: 403 each, and each counted
        check_error(one.get(link, params={"expires": "1", "signature": "x"}), 403)
    r = one.get(link, params={"expires": "1", "signature": "x"})
    check_error(r, 429)
    assert r.headers["Retry-After"] == "20"


def test_behind_a_trusted_proxy_the_forwarded_address_counts(app: FastAPI) -> None:
    """``callboard serve`` runs uvicorn with its proxy headers on: the address in X-Forwarded-For
    replaces the peer's when the peer is trusted (FORWARDED_ALLOW_IPS, by default 127.0.0.1 and ::1)."""
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
    via_proxy = at(proxied, "127.0.0.1")

    def wrong_from(address: str) -> Any:
        return via_proxy.get(f"{V}/workspaces", headers={**WRONG, "X-Forwarded-For": address})

    for _ in range(RATE):
        check_error(wrong_from("203.0.113.7"), 401)
    check_error(wrong_from("203.0.113.7"), 429)
    check_error(wrong_from("203.0.113.8"), 401)  # another client behind the same proxy
    # a peer that is not trusted cannot choose its address by sending the header itself
    direct = at(proxied, "198.51.100.9")
    for n in range(RATE):
        check_error(direct.get(f"{V}/workspaces", headers={**WRONG, "X-Forwarded-For": f"192.0.2.{n}"}), 401)
    check_error(direct.get(f"{V}/workspaces", headers={**WRONG, "X-Forwarded-For": "192.0.2.99"}), 429)


def test_serve_leaves_uvicorn_proxy_headers_on(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/api.md promises about proxies: serve does not turn uvicorn's proxy headers off nor fix
    the trusted addresses, so FORWARDED_ALLOW_IPS in the environment decides them."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        server.serve(settings, host="127.0.0.1", port=port)
    finally:
        os.umask(umask)  # serve sets the process's umask for the files it writes
        if "app" in seen:
            seen["app"].state.ctx.close()
    assert seen["port"] == port
    assert seen.get("proxy_headers", True) is True and "forwarded_allow_ips" not in seen
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5")
    config = uvicorn.Config(seen["app"])
    assert config.proxy_headers is True and config.forwarded_allow_ips == "10.0.0.5"


def test_client_keys() -> None:
    assert client_key("127.0.0.1") == "client:127.0.0.1"
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1")
    # one IPv6 host usually holds a whole /64: it is one client
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "client:2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key(None) == "client:unknown"
    assert client_key("testclient") == "client:testclient"
    ipaddress.ip_network(client_key("2001:db8::1").removeprefix("client:"))  # a network, as written


def test_the_limiter_forgets_idle_keys_and_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock, max_buckets=100)
    for n in range(1000):  # a scan from many addresses, one request each: the oldest go
        limiter.hit(f"client:{n}", 6)
        assert len(limiter._buckets) <= 100
    while len(limiter._buckets) < 100:
        limiter.hit(f"fill:{len(limiter._buckets)}", 6)
    clock.now += 20  # 6 a minute: every bucket so far is full again, as good as absent
    limiter.hit("busy", 2)
    limiter.hit("busy", 2)
    limiter.hit("next", 6)  # over the bound: the full buckets are dropped, the busy one is kept
    assert set(limiter._buckets) == {"busy", "next"}
    assert limiter.retry_after("busy", 2) == 30
