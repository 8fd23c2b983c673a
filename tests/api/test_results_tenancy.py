"""Tenancy and scopes on every route: another tenant's objects answer 404 exactly as absent ones do,
and a token without the needed scope gets 403."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.api import ADMIN, ALL_SCOPES, Api, V

ROW = [{"docId": "x1", "start": "2025-07-01T09:00:00Z", "userNum": "101", "ans": 1, "ring": 1, "duration": 9}]
REQUEST = {"metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-07-01T00:00:00",
                                       "end": "2025-08-01T00:00:00"}}}


@dataclass
class Tenant:
    id: str
    token: str
    ws: str
    report: str
    request: str  # under the saved report
    second: str  # another one, discarded through the other path spelling
    adhoc: str


def make_tenant(api: Api, name: str) -> Tenant:
    tid, token = api.tenant(name)
    ws = api.workspace(token, name=f"{name}-ws")
    api.ingest(token, ws, ROW)
    report = api.report(token, ws, defaults=REQUEST)
    req = api.request(token, ws, report)
    second = api.request(token, ws, report)
    r = api.client.post(f"{V}/workspaces/{ws}/requests", headers=api.auth(token),
                        json={"reportTemplateName": "CallListByUserSegmented", **REQUEST})
    assert r.status_code == 202
    return Tenant(tid, token, ws, report, req, second, r.json()["requestId"])


def routes(t: Tenant) -> list[tuple[str, str, Any, str]]:
    """(method, path, json body, scope it needs) for every tenant route, aimed at ``t``'s objects."""
    ws = f"{V}/workspaces/{t.ws}"
    rep = f"{ws}/reports/{t.report}"
    return [
        ("GET", ws, None, "member"),
        ("GET", f"{ws}/reports", None, "reports:read"),
        ("POST", f"{ws}/reports", {"name": "n", "reportTemplateName": "CallListByUserSegmented"}, "reports:write"),
        ("GET", rep, None, "reports:read"),
        ("PUT", rep, {"name": "renamed"}, "reports:write"),
        ("POST", f"{rep}/requests", {}, "reports:read"),
        ("GET", f"{rep}/requests", None, "reports:read"),
        ("GET", f"{rep}/requests/{t.request}", None, "reports:read"),
        ("GET", f"{rep}/requests/{t.request}/data", None, "reports:read"),
        ("GET", f"{rep}/results/{t.request}", None, "reports:read"),
        ("GET", f"{rep}/results/{t.request}/data", None, "reports:read"),
        ("POST", f"{ws}/requests", {"reportTemplateName": "CallListByUserSegmented"}, "reports:read"),
        ("GET", f"{ws}/requests/{t.adhoc}", None, "reports:read"),
        ("GET", f"{ws}/requests/{t.adhoc}/data", None, "reports:read"),
        ("POST", f"{ws}/calls", ROW, "calls:write"),
        ("DELETE", f"{ws}/requests/{t.adhoc}", None, "reports:write"),
        ("DELETE", f"{rep}/results/{t.second}", None, "reports:write"),
        ("DELETE", f"{rep}/requests/{t.request}", None, "reports:write"),
        ("DELETE", rep, None, "reports:write"),
    ]


def call(api: Api, token: str, method: str, path: str, body: Any) -> Any:
    return api.client.request(method, path, json=body, headers=api.auth(token))


def test_every_route_answers_404_for_another_tenants_objects(api: Api) -> None:
    a, b = make_tenant(api, "a"), make_tenant(api, "b")
    api.work()
    for method, path, body, _ in routes(a):
        theirs = call(api, b.token, method, path, body)
        absent = call(api, b.token, method, path.replace(a.ws, str(uuid.uuid4())), body)
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert absent.status_code == 404
        assert theirs.json()["message"].split()[0] == absent.json()["message"].split()[0]
    # B's own ids inside A's paths, and A's ids inside B's paths, are not found either.
    mixed = [
        f"{V}/workspaces/{b.ws}/reports/{a.report}",
        f"{V}/workspaces/{b.ws}/reports/{b.report}/requests/{a.request}",
        f"{V}/workspaces/{b.ws}/reports/{b.report}/results/{a.request}/data",
        f"{V}/workspaces/{b.ws}/requests/{a.adhoc}/data",
    ]
    for path in mixed:
        assert call(api, b.token, "GET", path, None).status_code == 404, path
    # B's admin cannot issue tokens for A.
    r = call(api, b.token, "POST", f"{V}/tenants/{a.id}/tokens", {"scopes": ["admin"]})
    assert r.status_code == 404
    # Nothing of A changed: its objects are all still there for A.
    for method, path, _, _ in routes(a):
        if method == "GET":
            assert call(api, a.token, method, path, None).status_code in (200, 202), path
    lists = call(api, b.token, "GET", f"{V}/workspaces", None).json()
    assert [w["id"] for w in lists["data"]] == [b.ws]


SCOPE_TOKENS = ["reports:read", "reports:write", "calls:write", "admin"]


@pytest.mark.parametrize("scope", SCOPE_TOKENS)
def test_scopes_are_enforced_on_every_route(api: Api, scope: str) -> None:
    a = make_tenant(api, "a")
    api.work()
    limited = api.token(a.id, [scope])
    held = {scope, "member"} | ({"reports:read"} if scope == "reports:write" else set())
    for method, path, body, needed in routes(a):
        r = call(api, limited, method, path, body)
        if needed in held:
            assert r.status_code not in (401, 403, 404), (scope, method, path, r.status_code, r.text)
        else:
            assert r.status_code == 403, (scope, method, path, r.status_code)
            assert needed in r.json()["message"]
    r = call(api, limited, "POST", f"{V}/workspaces", {"name": f"new-{scope}"})
    assert r.status_code == (201 if scope == "admin" else 403)
    r = call(api, limited, "POST", f"{V}/tenants/{a.id}/tokens", {"scopes": ["reports:read"]})
    assert r.status_code == (201 if scope == "admin" else 403)
    assert call(api, limited, "GET", f"{V}/tenants", None).status_code == 403


def test_system_administrator_only_manages_tenants(api: Api) -> None:
    a = make_tenant(api, "a")
    assert call(api, ADMIN, "GET", f"{V}/tenants", None).json()["count"] == 1
    for method, path, body, _ in routes(a):
        assert call(api, ADMIN, method, path, body).status_code == 403, path
    assert call(api, ADMIN, "GET", f"{V}/workspaces", None).status_code == 403
    assert call(api, ADMIN, "POST", f"{V}/tenants/{uuid.uuid4()}/tokens", {"scopes": ["admin"]}).status_code == 404


def test_workspace_restricted_token(api: Api) -> None:
    tid, token = api.tenant("a")
    one, two = api.workspace(token, "one"), api.workspace(token, "two")
    restricted = api.token(tid, ALL_SCOPES, workspaces=[one])
    assert [w["id"] for w in call(api, restricted, "GET", f"{V}/workspaces", None).json()["data"]] == [one]
    assert call(api, restricted, "GET", f"{V}/workspaces/{two}/reports", None).status_code == 404
    assert call(api, restricted, "POST", f"{V}/workspaces/{two}/calls", ROW).status_code == 404
    assert call(api, restricted, "POST", f"{V}/workspaces/{one}/calls", ROW).status_code == 200
    # A restricted admin cannot widen access.
    r = call(api, restricted, "POST", f"{V}/tenants/{tid}/tokens", {"scopes": ["admin"], "workspaces": [two]})
    assert r.status_code == 403
    r = call(api, restricted, "POST", f"{V}/tenants/{tid}/tokens", {"scopes": ["reports:read"]})
    assert r.status_code == 201 and r.json()["workspaces"] == [one]


def test_missing_unknown_and_expired_tokens_are_401(api: Api) -> None:
    tid, token = api.tenant("a")
    url = f"{V}/workspaces"
    assert api.client.get(url).status_code == 401
    assert api.client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.client.get(url, headers=api.auth("cb_unknown")).status_code == 401
    # The seed's British spelling of the header works.
    assert api.client.get(url, headers={"Authorisation": f"Bearer {token}"}).status_code == 200
    short = api.client.post(f"{V}/tenants/{tid}/tokens", headers=api.auth(ADMIN),
                            json={"scopes": ["admin"], "expiresIn": 1}).json()
    assert api.client.get(url, headers=api.auth(short["token"])).status_code == 200
    import time

    time.sleep(1.1)
    r = api.client.get(url, headers=api.auth(short["token"]))
    assert r.status_code == 401 and "expired" in r.json()["message"].lower()
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_rate_limit_per_token(app_factory) -> None:
    api = Api(app_factory(rate_limit_per_minute=3))
    tid, token = api.tenant("a")  # the system admin token spent 2 of its own
    other = api.token(tid, ["admin"])
    for _ in range(3):
        assert api.client.get(f"{V}/workspaces", headers=api.auth(token)).status_code == 200
    r = api.client.get(f"{V}/workspaces", headers=api.auth(token))
    assert r.status_code == 429
    assert r.headers["Retry-After"].isdigit() and int(r.headers["Retry-After"]) >= 1
    assert r.json()["trackingId"] == r.headers["TrackingID"]
    assert api.client.get(f"{V}/workspaces", headers=api.auth(other)).status_code == 200
