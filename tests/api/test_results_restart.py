"""A server restarted after a worker died: the request the dead worker held and the queued ones are
all completed by the new server's in-process workers, each exactly once."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from callboard.api.app import create_app
from callboard.service import queue
from callboard.store.models import ReportRequest, RequestStatus, utcnow
from tests.support.api import Api, V
from tests.support.roundtrip import DEFAULTS, EXPECTED, ROWS


def test_dead_workers_request_and_queued_ones_complete_once_after_restart(app_factory) -> None:
    before = Api(app_factory())
    _, token = before.tenant()
    ws = before.workspace(token)
    before.ingest(token, ws, ROWS)
    report = before.report(token, ws, defaults=DEFAULTS)
    held = before.request(token, ws, report)
    queued = [before.request(token, ws, report) for _ in range(3)]
    db = before.ctx.db
    job = queue.claim(db, "worker-that-dies", stale_after=60)
    assert job is not None and str(job.id) == held
    # The worker dies: its heartbeat stops and goes stale.
    with db.session() as s:
        s.execute(update(ReportRequest).where(ReportRequest.id == job.id)
                  .values(heartbeat_at=utcnow() - timedelta(minutes=10)))
    status = before.client.get(f"{V}/workspaces/{ws}/reports/{report}/requests/{held}", headers=before.auth(token))
    assert status.json()["state"] == "running"

    settings = before.ctx.settings.model_copy(update={"worker_stale_seconds": 30.0})
    restarted = create_app(settings, warehouse=before.ctx.warehouse, workers=2)
    with TestClient(restarted) as client:  # the lifespan starts the in-process workers
        h = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        for rid in [held, *queued]:
            url = f"{V}/workspaces/{ws}/reports/{report}/requests/{rid}/data"
            while (r := client.get(url, headers=h)).status_code == 202:
                assert time.monotonic() < deadline, "not completed after restart"
                time.sleep(0.05)
            assert r.status_code == 200
            assert [d["docId"] for d in r.json()["data"]] == [e[0] for e in EXPECTED]
    assert restarted.state.ctx.threads == []  # workers stopped with the app
    with db.session() as s:
        rows = {str(r.id): r for r in s.query(ReportRequest).all()}
    assert rows[held].attempts == 2 and rows[held].worker_id != "worker-that-dies"
    assert all(rows[q].attempts == 1 for q in queued)
    assert all(r.status == RequestStatus.COMPLETE for r in rows.values())
    files = sorted(p.name for p in settings.results_dir.iterdir())
    assert files == sorted(f"{rid}.parquet" for rid in [held, *queued])
    restarted.state.ctx.db.dispose()
