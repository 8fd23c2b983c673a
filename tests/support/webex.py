"""Helpers shared by the Webex API tests: polling, unzipping, the Results API counterpart."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from typing import Any

from tests.support.webex_live import Live

PARTNER_FIELDS: dict[str, type] = {
    "reportId": str, "templateId": int, "title": str, "service": str, "startDate": str, "endDate": str,
    "regionId": str, "createdTime": str, "status": str, "fileName": str, "fileSize": int, "checksum": str,
    "downloadURL": str, "downloadUrlExpiryTime": str,
}


def wait_partner(live: Live, report_id: str, who: str = "read", timeout: float = 90) -> dict[str, Any]:
    """Poll partner details until the report leaves ``In progress``."""
    deadline = time.monotonic() + timeout
    while True:
        r = live.get(f"/v1/partner/reports/{report_id}", who=who)
        assert r.status_code == 200, r.text
        doc = r.json()
        if doc["status"] != "In progress" or time.monotonic() > deadline:
            return doc
        time.sleep(0.1)


def unzip_csv(raw: bytes) -> tuple[str, bytes]:
    """(member name, member bytes) of the single file in a ZIP."""
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        infos = z.infolist()
        assert len(infos) == 1, [i.filename for i in infos]
        return infos[0].filename, z.read(infos[0])


def csv_rows(member: bytes) -> tuple[list[str], list[dict[str, str]]]:
    assert member.startswith(b"\xef\xbb\xbf"), member[:10]
    reader = csv.DictReader(io.StringIO(member[3:].decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def results_rows(live: Live, body: dict[str, Any], timeout: float = 90) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``body`` through the Results API (ad hoc) and return (document, data rows)."""
    r = live.post(f"/api/v1.0/workspaces/{live.workspace}/requests", who="native", json=body)
    assert r.status_code == 202, r.text
    rid = r.json()["requestId"]
    deadline = time.monotonic() + timeout
    while True:
        r = live.get(f"/api/v1.0/workspaces/{live.workspace}/requests/{rid}/data", who="native")
        if r.status_code == 200:
            doc = r.json()
            return doc, doc["data"]
        assert r.status_code == 202 and time.monotonic() < deadline, r.text
        time.sleep(0.1)


def request_of(live: Live, report_id: str) -> str:
    """The Results-API request behind a Webex report (read from the metadata store)."""
    from sqlalchemy import create_engine, select

    from callboard.webex import ids
    from callboard.webex.models import WebexReport

    engine = create_engine(live.settings.metadata_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(select(WebexReport.request_id)
                                 .where(WebexReport.id == ids.parse_report_id(report_id))).scalar_one()
    finally:
        engine.dispose()
    return str(value)


def wait_request(live: Live, report_id: str, timeout: float = 90) -> dict[str, Any]:
    """Poll the Results API (not the report) until the report's request has finished."""
    rid = request_of(live, report_id)
    deadline = time.monotonic() + timeout
    while True:
        r = live.get(f"/api/v1.0/workspaces/{live.workspace}/requests/{rid}", who="native")
        assert r.status_code == 200, r.text
        doc = r.json()
        if doc["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return doc
        time.sleep(0.1)
