"""Hostile values in every parameter that takes a time zone, a date, a cursor or an id, on the Results
API and the Webex-compatible API: each is refused with a 4xx whose JSON error body names the field --
never a 500, never a traceback, never the echo of a huge value. Ids of another tenant, and ids that
are no ids at all, are not found (404) exactly like ids that never existed.

Which parameters there are is read from the OpenAPI document where it can be: a new route with a path
id fails ``test_every_path_id_is_swept`` until it is added to ``ID_ROUTES``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from callboard.webex.templates import WEBEX_TEMPLATE_IDS
from tests.support.api import Api, V

CALL_LIST = WEBEX_TEMPLATE_IDS["CallList"].id
WEEK = {"startDate": "2025-03-03", "endDate": "2025-03-09"}
PERIOD = {"presetName": "Custom", "start": "2025-03-01T00:00:00", "end": "2025-04-01T00:00:00"}
ROW = {"docId": "h1", "start": "2025-03-03T09:00:00"}

# Strings a time-zone parameter may be sent: folders of the zone database, overlong names (ENAMETOOLONG
# once), NUL, path tricks, files that are not zones, blanks, and a lone surrogate.
ZONE_STRINGS = [
    "Europe", "America", "America/Argentina", "Etc", "a" * 300, "Europe/" + "x" * 300, "UTC\x00",
    "Europe/London\x00", "../../etc/passwd", "/etc/localtime", "Europe/../UTC", "./UTC", "Europe//London",
    "Europe/London/", "Europe/London/extra", "zone.tab", "tzdata.zi", "leapseconds", "", "   ", "\ud800",
    "Mars/Olympus",
]
WRONG_TYPES: list[Any] = [5, 1.5, True, ["UTC"], {"zone": "UTC"}]
ZONES = ZONE_STRINGS + WRONG_TYPES
QUERY_ZONES = [z for z in ZONE_STRINGS if z != "\ud800"]  # a URL cannot carry a lone surrogate
# Strings a date or timestamp parameter may be sent. (A lone surrogate is left out of the Results
# request's dates: the metadata size check names ``metadata`` for it, not the date -- still a 400.)
DATE_STRINGS = [
    "Europe", "2025-02-30", "2025-13-01", "0000-01-01", "99999-01-01", "-2025-01-01", "2025-01-01T25:00:00",
    "2025-01-01T00:00:00+99:00", "２０２５-01-01", "UTC\x00", "../../etc/passwd", "", "x" * 300, "1e308",
    "NaN",
]
DATES = DATE_STRINGS + WRONG_TYPES
# Ids that are no ids. (Empty is left out: an empty path segment is another route.)
BAD_IDS = [
    "not-a-uuid", "12345", "../../etc/passwd", "/etc/passwd", "UTC\x00", "x" * 300, "Europe",
    "00000000-0000-0000-0000-000000000000", str(uuid.uuid4()), "%00", "\u00e9t\u00e9",
]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HEX = uuid.uuid4().hex
CURSORS = [
    _cursor(f"2025-03-01T00:00:00|{HEX}".encode()),  # a naive time: was a 500
    _cursor(f"2025-03-01 00:00:00|{HEX}".encode()),
    _cursor(f"9999-12-31T23:59:59-05:00|{HEX}".encode()),  # beyond datetime.max in UTC
    _cursor(f"0001-01-01T00:00:00+05:00|{HEX}".encode()),  # before datetime.min in UTC
    _cursor(b"2025-03-01T00:00:00+00:00|not-hex"),
    _cursor(b"2025-03-01T00:00:00+00:00"),
    _cursor(b"a|b|c"),
    _cursor(b"\xff\xfe\xfd"),
    "not base64 at all!!",
    "====",
    "A" * 10_000,
    _cursor(b"2025-03-01T00:00:00+00:00|" + b"0" * 5_000),
    "abc\x00",
    "\u00fc" * 10,
]


@dataclass
class Org:
    tenant: str
    token: str
    ws: str
    report: str
    request: str  # under the saved report
    adhoc: str
    webex: str  # a Webex report id


def make_org(api: Api, name: str) -> Org:
    tenant, token = api.tenant(name)
    h = api.auth(token)
    ws = api.workspace(token, name=f"{name}-ws")
    report = api.report(token, ws, defaults={"metadata": {"dateFilter": PERIOD}})
    request = api.request(token, ws, report)
    r = api.client.post(f"{V}/workspaces/{ws}/requests", headers=h,
                        json={"reportTemplateName": "CallList", "metadata": {"dateFilter": PERIOD}})
    assert r.status_code == 202, r.text
    adhoc = r.json()["requestId"]
    r = api.client.post("/v1/reports", headers=h, json={"templateId": CALL_LIST, **WEEK})
    assert r.status_code == 200, r.text
    return Org(tenant, token, ws, report, request, adhoc, r.json()["items"]["Id"])


@pytest.fixture
def orgs(api: Api) -> tuple[Org, Org]:
    return make_org(api, "acme"), make_org(api, "other")


@pytest.fixture
def client(api: Api) -> TestClient:
    """The app's client answering a server error with its 500 instead of raising it, so a sweep
    lists every value that fails."""
    return TestClient(api.app, raise_server_exceptions=False)


def send(client: TestClient, method: str, url: str, token: str, body: Any = None, **params: Any) -> Any:
    """A request with ``body`` as JSON text (so lone surrogates travel as ``\\ud800`` escapes)."""
    headers = {"Authorization": f"Bearer {token}"}
    content = None
    if body is not None:
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    return client.request(method, url, content=content, headers=headers, params=params or None)


def problem(r: Any, names: tuple[str, ...], status: int | None = None) -> str | None:
    """Why ``r`` is not a proper refusal naming one of ``names`` (None when it is one)."""
    if not 400 <= r.status_code < 500 or (status is not None and r.status_code != status):
        return f"status {r.status_code}: {r.text[:300]}"
    if "traceback" in r.text.lower() or 'File "' in r.text:
        return f"a traceback in the body: {r.text[:300]}"
    if len(r.content) > 20_000:
        return f"a {len(r.content)}-byte error body (the hostile value echoed whole?)"
    try:
        body = r.json()
    except ValueError:
        return f"not JSON: {r.text[:300]}"
    if set(body) != {"message", "errors", "trackingId"} or not body["errors"]:
        return f"not the error shape: {body}"
    if body["trackingId"] != r.headers.get("TrackingID"):
        return "trackingId differs from the TrackingID header"
    if not names:
        return None
    said = " ".join([body["message"], *(e.get("description", "") for e in body["errors"]),
                     *(str(e.get("field", "")) for e in body["errors"])])
    if not any(n in said for n in names):
        return f"names none of {names}: {said[:300]}"
    return None


def sweep(values: list[Any], call: Callable[[Any], Any], *names: str, status: int | None = 400) -> None:
    """Send every value; fail listing each that was not refused properly."""
    failures = []
    for value in values:
        reason = problem(call(value), names, status)
        if reason:
            failures.append(f"{value!r:.60}: {reason}")
    assert failures == [], "\n".join(failures)


# ---- time zones ---------------------------------------------------------------------------------
def test_time_zones_everywhere(api: Api, client: TestClient, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    c, t = client, a.token
    ws = f"{V}/workspaces/{a.ws}"
    rep = f"{ws}/reports/{a.report}"
    sweep(ZONES, lambda v: send(c, "POST", f"{V}/workspaces", t, {"name": f"w-{uuid.uuid4()}", "timeZoneId": v}),
          "timeZoneId")
    sweep(ZONES, lambda v: send(c, "POST", f"{ws}/requests", t, {"reportTemplateName": "CallList",
                                                                 "timeZoneId": v}), "timeZoneId")
    sweep(ZONES, lambda v: send(c, "POST", f"{rep}/requests", t, {"timeZoneId": v}), "timeZoneId")
    sweep(ZONES, lambda v: send(c, "POST", f"{ws}/reports", t, {
        "name": f"r-{uuid.uuid4()}", "reportTemplateName": "CallList", "defaults": {"timeZoneId": v}}), "timeZoneId")
    sweep(ZONES, lambda v: send(c, "PUT", rep, t, {"defaults": {"timeZoneId": v}}), "timeZoneId")
    sweep(QUERY_ZONES, lambda v: send(c, "POST", f"{ws}/calls", t, [ROW], timeZone=v), "timeZone")
    webex_zones = [v for v in ZONES if not (isinstance(v, str) and not v.strip())]  # blank: the default, UTC

    def webex(path: str) -> None:
        sweep(webex_zones, lambda v: send(c, "POST", path, t, {"templateId": CALL_LIST, **WEEK, "timeZone": v}),
              "timeZone")

    webex("/v1/reports")
    webex("/v1/partner/reports")
    # nothing was created or changed by any of them
    assert [w["id"] for w in c.get(f"{V}/workspaces", headers=api.auth(t)).json()["data"]] == [a.ws]
    assert c.get(f"{ws}/reports", headers=api.auth(t)).json()["count"] == 1
    assert api.ctx.warehouse.count(a.ws) == 0


def test_a_zone_folder_gets_a_message_saying_what_to_send(api: Api, orgs: tuple[Org, Org]) -> None:
    r = send(api.client, "POST", f"{V}/workspaces", orgs[0].token, {"name": "eu", "timeZoneId": "Europe"})
    assert r.status_code == 400
    body = r.json()
    assert "region, not a time zone" in body["message"] and "Europe/" in body["message"]
    assert {e.get("field") for e in body["errors"]} == {"timeZoneId"}
    r = send(api.client, "POST", f"{V}/workspaces/{orgs[0].ws}/calls", orgs[0].token, [ROW],
             timeZone="america/new_york")
    assert r.status_code == 400 and "America/New_York" in r.text  # the case-insensitive match is suggested


def test_good_zones_still_pass_and_are_stored_trimmed(api: Api, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    r = send(api.client, "POST", f"{V}/workspaces", a.token, {"name": "ny", "timeZoneId": " America/New_York "})
    assert r.status_code == 201, r.text
    assert r.json()["timeZoneId"] == "America/New_York"
    for zone in ("UTC", "Etc/GMT+5", "America/Argentina/ComodRivadavia", "America/Port-au-Prince"):
        r = send(api.client, "POST", "/v1/reports", a.token, {"templateId": CALL_LIST, **WEEK, "timeZone": zone})
        assert r.status_code == 200, (zone, r.text)


# ---- dates --------------------------------------------------------------------------------------
def test_dates_everywhere(client: TestClient, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    c, t = client, a.token
    ws = f"{V}/workspaces/{a.ws}"
    rep = f"{ws}/reports/{a.report}"

    def period(**part: Any) -> dict[str, Any]:
        return {"metadata": {"dateFilter": {**PERIOD, **part}}}

    def results(key: str) -> None:
        sweep(DATES, lambda v: send(c, "POST", f"{ws}/requests", t,
                                    {"reportTemplateName": "CallList", **period(**{key: v})}), key)
        sweep(DATES, lambda v: send(c, "POST", f"{rep}/requests", t, period(**{key: v})), key)
        sweep(DATES, lambda v: send(c, "POST", f"{ws}/reports", t, {
            "name": f"r-{uuid.uuid4()}", "reportTemplateName": "CallList", "defaults": period(**{key: v})}), key)
        sweep(DATES, lambda v: send(c, "PUT", rep, t, {"defaults": period(**{key: v})}), key)

    def webex(path: str, key: str) -> None:
        if key in ("startDate", "endDate"):
            sweep([*DATES, "2025-03-03\n", "\ud800"],
                  lambda v: send(c, "POST", path, t, {"templateId": CALL_LIST, **WEEK, key: v}), key)
        else:  # the list's from/to (an empty one is no filter)
            sweep([v for v in DATE_STRINGS if v] + ["2025-03-03\n"], lambda v: send(c, "GET", path, t, **{key: v}), key)

    results("start")
    results("end")
    sweep(DATES, lambda v: send(c, "POST", f"{ws}/requests", t, {
        "reportTemplateName": "CallList",
        "filterConditions": [{"fieldName": "start", "operator": ">=", "values": [v]}]}), "filterConditions[0]")
    for path in ("/v1/reports", "/v1/partner/reports"):
        for key in ("startDate", "endDate", "from", "to"):
            webex(path, key)


# ---- the Webex list cursor and ids in bodies and queries ----------------------------------------
def test_crafted_cursors(api: Api, client: TestClient, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    sweep(CURSORS, lambda v: send(client, "GET", "/v1/reports", a.token, cursor=v), "cursor")
    sweep(CURSORS, lambda v: send(client, "GET", "/v1/partner/reports", a.token, cursor=v), "cursor")
    # an issued cursor still pages (the second report is on the next page)
    send(api.client, "POST", "/v1/reports", a.token, {"templateId": CALL_LIST, **WEEK})
    first = send(api.client, "GET", "/v1/reports", a.token, max=1)
    assert first.status_code == 200 and 'rel="next"' in first.headers["Link"]
    cursor = re.search(r"cursor=([^&>]+)", first.headers["Link"])
    assert cursor is not None
    second = send(api.client, "GET", "/v1/reports", a.token, max=1, cursor=cursor.group(1))
    assert second.status_code == 200, second.text
    assert second.json()["items"][0]["Id"] != first.json()["items"][0]["Id"]


def test_ids_in_bodies_and_queries(client: TestClient, orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    c = client
    not_numbers = [v for v in BAD_IDS if not v.isdigit()]

    def webex(path: str) -> None:
        # workspaceId (a callboard extension): another tenant's is refused like an unknown one
        sweep([*BAD_IDS, b.ws, *WRONG_TYPES], lambda v: send(
            c, "POST", path, a.token, {"templateId": CALL_LIST, **WEEK, "workspaceId": v}), "workspaceId")
        sweep([*not_numbers, "-1", "1e3", "9" * 30], lambda v: send(c, "GET", path, a.token, templateId=v),
              "templateId")

    webex("/v1/reports")
    webex("/v1/partner/reports")
    # the list's reportId filter: no match, however odd (another tenant's report included)
    for value in [*BAD_IDS, b.webex]:
        r = send(c, "GET", "/v1/reports", a.token, reportId=value)
        assert r.status_code == 200 and r.json()["items"] == [], (value, r.text)
    # token workspaces: another tenant's workspace is refused exactly like one that does not exist
    tokens = f"{V}/tenants/{a.tenant}/tokens"
    sweep([*BAD_IDS, b.ws, *WRONG_TYPES], lambda v: send(c, "POST", tokens, a.token,
                                                          {"scopes": ["reports:read"], "workspaces": [v]}),
          "orkspace")
    foreign = send(c, "POST", tokens, a.token, {"scopes": ["reports:read"], "workspaces": [b.ws]}).json()
    unknown = send(c, "POST", tokens, a.token, {"scopes": ["reports:read"], "workspaces": [str(uuid.uuid4())]}).json()
    assert foreign["message"].split(":")[0] == unknown["message"].split(":")[0]


# ---- every id in a path -------------------------------------------------------------------------
# (method, path) of every operation with an id in its path, with a body that is valid when the ids are.
ID_ROUTES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1.0/tenants/{tenantId}/tokens"): {"scopes": ["reports:read"]},
    ("GET", "/api/v1.0/workspaces/{workspaceId}"): None,
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports"): None,
    ("POST", "/api/v1.0/workspaces/{workspaceId}/reports"): {"name": "n", "reportTemplateName": "CallList"},
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}"): None,
    ("PUT", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}"): {"name": "renamed"},
    ("DELETE", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}"): None,
    ("POST", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/requests"): {},
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/requests"): None,
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/requests/{requestId}"): None,
    ("DELETE", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/requests/{requestId}"): None,
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/requests/{requestId}/data"): None,
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/results/{requestId}"): None,
    ("DELETE", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/results/{requestId}"): None,
    ("GET", "/api/v1.0/workspaces/{workspaceId}/reports/{reportId}/results/{requestId}/data"): None,
    ("POST", "/api/v1.0/workspaces/{workspaceId}/requests"): {"reportTemplateName": "CallList"},
    ("GET", "/api/v1.0/workspaces/{workspaceId}/requests/{requestId}"): None,
    ("DELETE", "/api/v1.0/workspaces/{workspaceId}/requests/{requestId}"): None,
    ("GET", "/api/v1.0/workspaces/{workspaceId}/requests/{requestId}/data"): None,
    ("POST", "/api/v1.0/workspaces/{workspaceId}/calls"): [ROW],
    ("GET", "/v1/reports/{reportId}"): None,
    ("DELETE", "/v1/reports/{reportId}"): None,
    ("GET", "/v1/partner/reports/{reportId}"): None,
    ("DELETE", "/v1/partner/reports/{reportId}"): None,
    # the download link: see test_download_link_ids (the signature is checked first: 403 for all)
    ("GET", "/v1/reports/{reportId}/download"): None,
}


def test_every_path_id_is_swept(api: Api) -> None:
    paths = api.app.openapi()["paths"]
    with_ids = {(m.upper(), p) for p, ops in paths.items() if "{" in p for m in ops}
    assert with_ids == set(ID_ROUTES), "add the new route to ID_ROUTES"


def _own_ids(o: Org, path: str) -> dict[str, str]:
    webex = path.startswith("/v1/")
    request = o.adhoc if "/requests/{requestId}" in path and "/reports/" not in path else o.request
    return {"tenantId": o.tenant, "workspaceId": o.ws, "reportId": o.webex if webex else o.report,
            "requestId": request}


def test_path_ids_of_another_tenant_or_of_nothing_are_not_found(api: Api, client: TestClient,
                                                                orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    failures = []
    for (method, path), body in ID_ROUTES.items():
        if path.endswith("/download"):
            continue
        own, theirs = _own_ids(a, path), _own_ids(b, path)
        for slot in re.findall(r"{(\w+)}", path):
            # one slot at a time is foreign or bogus, the others are the caller's own
            for value in [theirs[slot], *BAD_IDS]:
                url = path.format(**{**own, slot: quote(value, safe="")})
                reason = problem(send(client, method, url, a.token, body), (), 404)
                if reason:
                    failures.append(f"{method} {path} {slot}={value!r:.40}: {reason}")
        # every slot foreign: the other tenant's objects, whole, are still not the caller's
        reason = problem(send(client, method, path.format(**theirs), a.token, body), (), 404)
        if reason:
            failures.append(f"{method} {path} (all the other tenant's): {reason}")
    assert failures == [], "\n".join(failures)
    # nothing of either tenant was deleted, changed or added by any of that
    for o in orgs:
        h = api.auth(o.token)
        ws = f"{V}/workspaces/{o.ws}"
        assert api.client.get(f"{ws}/reports/{o.report}", headers=h).json()["name"] == "calls"
        assert api.client.get(f"{ws}/reports", headers=h).json()["count"] == 1
        assert api.client.get(f"{ws}/reports/{o.report}/requests/{o.request}", headers=h).status_code == 200
        assert api.client.get(f"{ws}/requests/{o.adhoc}", headers=h).status_code == 200
        assert api.client.get(f"/v1/reports/{o.webex}", headers=h).status_code == 200
        assert api.ctx.warehouse.count(o.ws) == 0


def test_download_link_ids(client: TestClient, orgs: tuple[Org, Org]) -> None:
    """Without a valid signature every id -- the caller's, another tenant's, none at all -- gets the same 403
    (one with a slash is another path: no such route, 404)."""
    a, b = orgs
    answers = set()
    for value in [a.webex, b.webex, *BAD_IDS]:
        r = client.get(f"/v1/reports/{quote(value, safe='')}/download", params={"expires": "1", "signature": "x"})
        assert problem(r, (), 404 if "/" in value else 403) is None, (value, r.status_code, r.text)
        if r.status_code == 403:
            answers.add(r.json()["message"])
    assert len(answers) == 1  # nothing tells which ids exist
    for expires in ["", "-1", "abc", "1" * 13, "1e9", "١٢٣", "UTC\x00"]:
        r = client.get(f"/v1/reports/{a.webex}/download", params={"expires": expires, "signature": "x"})
        assert problem(r, (), 403) is None, (expires, r.status_code, r.text)


def test_download_link_expires_with_a_superscript_digit(client: TestClient, orgs: tuple[Org, Org]) -> None:
    r = client.get(f"/v1/reports/{orgs[0].webex}/download", params={"expires": "\u00b2", "signature": "x"})
    assert problem(r, (), 403) is None, (r.status_code, r.text)
