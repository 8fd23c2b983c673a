"""The render guard at the service level: one claim renders, a fresh claim is respected, a stale
one is taken over, a failing write marks the report failed with the reason and leaves no file."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

import pytest

from callboard.settings import Settings
from callboard.store import Database
from callboard.store.models import ReportRequest, RequestStatus, Tenant, Workspace, utcnow
from callboard.webex import service
from callboard.webex.models import RENDER_DONE, RENDER_FAILED, RENDER_PENDING, RENDER_RUNNING, WebexReport


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Database, Settings]]:
    settings = Settings(data_dir=tmp_path, admin_token="render-test-admin-token-1")
    db = Database(settings.metadata_url)
    try:
        yield db, settings
    finally:
        db.dispose()


def _report(db: Database, tmp: Path, *, status: RequestStatus = RequestStatus.COMPLETE,
            state: str = RENDER_PENDING, started_ago: float | None = None) -> uuid.UUID:
    snapshot = tmp / f"{uuid.uuid4()}.parquet"
    snapshot.write_bytes(b"not read by the fake writers")
    with db.session() as s:
        tenant = Tenant(name="Org/With:Odd*Chars")
        s.add(tenant)
        s.flush()
        ws = Workspace(tenant_id=tenant.id, name="w", time_zone="UTC")
        s.add(ws)
        s.flush()
        req = ReportRequest(tenant_id=tenant.id, workspace_id=ws.id, template="CallList", status=status,
                            status_message="Report processing failed: boom" if status == RequestStatus.FAILED
                            else "ok", priority=2, attempts=1, cancel_requested=False, request_json={},
                            resolved_json={}, snapshot_path=str(snapshot))
        s.add(req)
        s.flush()
        row = WebexReport(tenant_id=tenant.id, workspace_id=ws.id, request_id=req.id, created_via="partner",
                          template="CallList", template_id=102, title="Call List", service="Webex Calling",
                          start_date=date(2025, 3, 3), end_date=date(2025, 3, 9), time_zone="UTC", site_list="",
                          region_id="US", created_at=utcnow().replace(microsecond=0), render_state=state,
                          render_started_at=None if started_ago is None
                          else utcnow() - timedelta(seconds=started_ago))
        s.add(row)
        s.flush()
        return row.id


def _get(db: Database, rid: uuid.UUID) -> WebexReport:
    with db.session() as s:
        row = s.get(WebexReport, rid)
        assert row is not None
        s.expunge(row)
        return row


def _writer(calls: list[int]) -> Callable[[Path, BinaryIO, WebexReport], None]:
    def write(snapshot: Path, sink: BinaryIO, row: WebexReport) -> None:
        calls.append(1)
        sink.write(b"\xef\xbb\xbfa,b\r\n1,2\r\n")
    return write


def test_renders_once_and_records_exact_facts(store: tuple[Database, Settings], tmp_path: Path) -> None:
    db, settings = store
    rid = _report(db, tmp_path)
    calls: list[int] = []
    service.ensure_rendered(db, settings, rid, writer=_writer(calls))
    service.ensure_rendered(db, settings, rid, writer=_writer(calls))
    row = _get(db, rid)
    assert calls == [1] and row.render_state == RENDER_DONE
    data = Path(row.file_path or "").read_bytes()
    assert row.file_size == len(data) and row.checksum == hashlib.sha256(data).hexdigest()
    assert row.file_name == f"Call List_{rid.hex}_Org_With_Odd_Chars_2025-03-03_2025-03-09.csv"


def test_a_fresh_claim_is_respected_and_a_stale_one_taken_over(store: tuple[Database, Settings],
                                                               tmp_path: Path) -> None:
    db, settings = store
    calls: list[int] = []
    fresh = _report(db, tmp_path, state=RENDER_RUNNING, started_ago=5)
    service.ensure_rendered(db, settings, fresh, writer=_writer(calls))
    assert calls == [] and _get(db, fresh).render_state == RENDER_RUNNING
    stale = _report(db, tmp_path, state=RENDER_RUNNING, started_ago=service.RENDER_STALE_SECONDS + 5)
    service.ensure_rendered(db, settings, stale, writer=_writer(calls))
    assert calls == [1] and _get(db, stale).render_state == RENDER_DONE


def test_a_failing_write_fails_the_report_and_leaves_no_file(store: tuple[Database, Settings],
                                                            tmp_path: Path) -> None:
    db, settings = store
    rid = _report(db, tmp_path)

    def broken(snapshot: Path, sink: BinaryIO, row: WebexReport) -> None:
        sink.write(b"\xef\xbb\xbfpartial")
        raise OSError("No space left on device")

    service.ensure_rendered(db, settings, rid, writer=broken)
    row = _get(db, rid)
    assert row.render_state == RENDER_FAILED and "No space left" in (row.render_error or "")
    assert not list((settings.data_dir / "webex").glob("*"))


@pytest.mark.parametrize("status", [RequestStatus.QUEUED, RequestStatus.RUNNING])
def test_nothing_happens_before_the_request_completes(store: tuple[Database, Settings], tmp_path: Path,
                                                       status: RequestStatus) -> None:
    db, settings = store
    rid = _report(db, tmp_path, status=status)
    calls: list[int] = []
    service.ensure_rendered(db, settings, rid, writer=_writer(calls))
    assert calls == [] and _get(db, rid).render_state == RENDER_PENDING


def test_a_failed_request_fails_the_report_with_its_reason(store: tuple[Database, Settings], tmp_path: Path) -> None:
    db, settings = store
    rid = _report(db, tmp_path, status=RequestStatus.FAILED)
    service.ensure_rendered(db, settings, rid, writer=_writer([]))
    row = _get(db, rid)
    assert row.render_state == RENDER_FAILED and row.render_error == "Report processing failed: boom"
