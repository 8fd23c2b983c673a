"""Shared by the Results API tests: the ``Api`` session helper, the seed-000 shapes and ``check_error``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from callboard.service.worker import Worker

ADMIN = "system-admin-token-for-tests-0001"
ALL_SCOPES = ["reports:read", "reports:write", "calls:write", "admin"]
V = "/api/v1.0"

# The seed-000 results document: its fields in order, with their JSON types.
SEED_DOCUMENT_TYPES: dict[str, type | tuple[type, ...]] = {
    "requestId": str,
    "tenantId": str,
    "request": dict,
    "effort": float,
    "queryDuration": int,
    "totalDuration": int,
    "queryCount": int,
    "rowLimitExceeded": bool,
    "totalCount": int,
    "data": list,
    "summary": list,
    "status": int,
    "statusMessage": str,
    "rowLimit": int,
}
# The seed's ``request`` echo keys.
SEED_REQUEST_KEYS = [
    "requestId", "dateCreated", "tenantId", "reportId", "reportTemplateName", "filterConditions",
    "sortFields", "displayFields", "childDisplayFields", "ignoreDisplayFields", "metadata", "source",
    "pageSize", "batchSize", "rowLimit", "priorityLevel", "callRatePeriod", "ignoreAbandonedCalls",
    "ignoreShortAnsweredCalls", "accountCodeLabels", "ringDurationThresholds", "incomingEstimatedRevenue",
    "incomingCallsPerSale", "outgoingEstimatedRevenue", "outgoingCallsPerSale",
    "durationGroupPeriodInSeconds", "timeZoneId", "countryCode", "locale", "totalTrunks", "maxRows",
]


class Api:
    """A client plus the shortcuts of a typical session."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.client = TestClient(app)
        self.ctx = app.state.ctx

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def tenant(self, name: str = "acme", scopes: list[str] | None = None) -> tuple[str, str]:
        r = self.client.post(f"{V}/tenants", json={"name": name}, headers=self.auth(ADMIN))
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        return tid, self.token(tid, scopes or ALL_SCOPES)

    def token(self, tenant_id: str, scopes: list[str], **extra: Any) -> str:
        r = self.client.post(f"{V}/tenants/{tenant_id}/tokens", json={"scopes": scopes, **extra},
                             headers=self.auth(ADMIN))
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def workspace(self, token: str, name: str = "hq", tz: str = "Europe/London") -> str:
        r = self.client.post(f"{V}/workspaces", json={"name": name, "timeZoneId": tz}, headers=self.auth(token))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def ingest(self, token: str, ws: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.client.post(f"{V}/workspaces/{ws}/calls", json=rows, headers=self.auth(token))
        assert r.status_code == 200, r.text
        return r.json()

    def report(self, token: str, ws: str, template: str = "CallListByUserSegmented",
               defaults: dict[str, Any] | None = None, name: str = "calls") -> str:
        r = self.client.post(f"{V}/workspaces/{ws}/reports", headers=self.auth(token),
                             json={"name": name, "reportTemplateName": template, "defaults": defaults or {}})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def request(self, token: str, ws: str, report: str, body: dict[str, Any] | None = None) -> str:
        r = self.client.post(f"{V}/workspaces/{ws}/reports/{report}/requests", json=body or {},
                             headers=self.auth(token))
        assert r.status_code == 202, r.text
        return r.json()["requestId"]

    def work(self) -> int:
        """Run every queued request with one worker of this app."""
        return Worker(self.ctx.settings, self.ctx.db, self.ctx.warehouse).drain()

    def wait(self, url: str, token: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            r = self.client.get(url, headers=self.auth(token))
            if r.status_code != 202:
                return r
            assert time.monotonic() < deadline, "request did not complete"
            time.sleep(float(r.headers["Retry-After"]) / 20)


def check_error(r: Any, status: int, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"message", "errors", "trackingId"}
    assert body["trackingId"] == r.headers["TrackingID"] and body["trackingId"]
    assert body["errors"] and all(isinstance(e["description"], str) for e in body["errors"])
    text = (body["message"] + " " + " ".join(e["description"] for e in body["errors"])).lower()
    for needle in needles:
        assert needle.lower() in text, (needle, body)
    assert "traceback" not in r.text.lower()
    return body
