"""Recovery at start: what a killed process of this host was running is queued again at once, a request
whose worker died twice ends failed, temporary files of gone processes go, files are owner-only.

The end-to-end test kills a real ``callboard serve`` with SIGKILL while it runs a report and renders a
Webex file, and starts it again on the same folder. A report on a small dataset takes milliseconds,
so the killed server is made to hang at the right moment: its process runs a few lines (``BOOT``)
that wrap two module functions -- the worker's default runner and the Webex CSV writer -- then call
the real CLI's ``serve``. The wrapper of the first server sleeps inside the run (after creating the
temporary snapshot, as the real writer does) and inside the render (with the archive's temporary
file open); the restarted server wraps them only to count the runs, and otherwise runs everything
for real. The stale-heartbeat limits stay at their defaults (60 s, 5 min): completing within seconds
proves the recovery at start did it, not the timeouts.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from sqlalchemy import update

from callboard.service import queue
from callboard.service.worker import Worker, recover, sweep_temp_files
from callboard.settings import Settings
from callboard.store import Database
from callboard.store.models import ReportRequest, RequestStatus, Tenant, Workspace, utcnow
from callboard.webex import service as webex
from callboard.webex.models import RENDER_DONE, RENDER_PENDING, RENDER_RUNNING, WebexReport
from tests.support.webex_live import ADMIN, Live, free_port, make_calls, setup_org


# ---- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", worker_heartbeat_seconds=0.2, worker_poll_seconds=0.1)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.metadata_url)
    try:
        yield database
    finally:
        database.dispose()


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(30)
    return proc.pid


def gone_tag(pid: int, host_key: str | None = None) -> str:
    """The owner tag a process ``pid`` of this host (or of ``host_key``) wrote."""
    _, key, instance = queue.owner_tag().split("-")
    return f"pid{pid}-{host_key or key}-{instance}"


def other_host_key() -> str:
    return "ffffffff" if queue.owner_tag().split("-")[1] != "ffffffff" else "eeeeeeee"


def enqueue(db: Database, n: int) -> list[uuid.UUID]:
    with db.session() as s:
        t = Tenant(name=f"t{uuid.uuid4().hex[:6]}")
        s.add(t)
        s.flush()
        ws = Workspace(tenant_id=t.id, name="hq", time_zone="UTC")
        s.add(ws)
        s.flush()
        ids = []
        for _ in range(n):
            r = ReportRequest(tenant_id=t.id, workspace_id=ws.id, template="CallList", priority=2, attempts=0,
                              cancel_requested=False, request_json={}, resolved_json={"rows": 2})
            s.add(r)
            s.flush()
            ids.append(r.id)
        return ids


def held(db: Database, rid: uuid.UUID, worker_id: str, *, attempts: int = 1, cancel: bool = False) -> None:
    """Mark a request running under ``worker_id`` with a fresh heartbeat (as a claim leaves it)."""
    now = utcnow()
    with db.session() as s:
        s.execute(update(ReportRequest).where(ReportRequest.id == rid).values(
            status=RequestStatus.RUNNING, worker_id=worker_id, attempts=attempts, claimed_at=now, heartbeat_at=now,
            cancel_requested=cancel))


def row(db: Database, rid: uuid.UUID) -> ReportRequest:
    with db.session() as s:
        r = s.get(ReportRequest, rid)
        assert r is not None
        s.expunge(r)
        return r


class Result:
    def __init__(self, path: Path, n: int) -> None:
        pq.write_table(pa.table({"docId": [f"d{i}" for i in range(n)]}), path)
        self.total_count, self.summary, self.row_limit_exceeded = n, {}, False
        self.effort, self.query_duration_ms, self.query_count, self.columns = 0.0, 1, 1, None


# ---- who owns a claim or a file -------------------------------------------------------------------
def test_owners_are_gone_only_when_their_process_of_this_host_is() -> None:
    host, pid = queue.HOST, dead_pid()
    mine = queue.new_worker_id()
    assert mine.startswith(f"{host}:{os.getpid()}:")
    assert not queue.worker_gone(mine)
    assert queue.worker_gone(f"{host}:{pid}:0123abcd.00000000")
    # our pid with another instance: a previous process that had our pid (a restarted container)
    assert queue.worker_gone(f"{host}:{os.getpid()}:previous.00000000")
    assert not queue.worker_gone(f"{host}:{os.getppid()}:0123abcd.00000000")  # alive
    assert not queue.worker_gone(f"{host}:1:0123abcd.00000000")  # alive (PermissionError when not root)
    assert not queue.worker_gone(f"{host}-elsewhere:{pid}:0123abcd.00000000")  # another host: the heartbeat decides
    for odd in ("doomed", "", None, f"{host}:0:x", f"{host}:-1:x", f"{host}:abc:x"):
        assert not queue.worker_gone(odd)
    tag = queue.owner_tag()
    assert queue.tag_gone(f".x.{tag}.tmp") is False
    assert queue.tag_gone(f".x.{gone_tag(pid)}.tmp") is True
    assert queue.tag_gone(f".x.{gone_tag(pid, host_key=other_host_key())}.tmp") is False
    assert queue.tag_gone(".x.0123456789abcdef.tmp") is None


def test_temp_files_of_gone_processes_and_old_untagged_ones_are_removed(tmp_path: Path) -> None:
    mine, gone = queue.owner_tag(), gone_tag(dead_pid())
    other_host = gone_tag(dead_pid(), host_key=other_host_key())
    names = {
        f".{uuid.uuid4()}.{gone}.abc.tmp.parquet": True,  # the worker's temporary snapshot
        f"..{uuid.uuid4()}.{gone}.abc.tmp.parquet.{uuid.uuid4().hex}.tmp": True,  # the snapshot writer's own
        f".{uuid.uuid4().hex}-0123.{gone}.zip.{uuid.uuid4().hex}.tmp": True,  # a Webex archive's
        f".{uuid.uuid4()}.{mine}.abc.tmp.parquet": False,  # this process is writing it
        f".{uuid.uuid4()}.{other_host}.abc.tmp.parquet": False,  # another host's process may be
        f".{uuid.uuid4()}.{uuid.uuid4().hex}.tmp.parquet": True,  # untagged (older version), old
        f".{uuid.uuid4()}.{uuid.uuid4().hex}.tmp": False,  # untagged, recent
        f"{uuid.uuid4()}.parquet": False,  # a result
        f"{uuid.uuid4().hex}-0123.{gone}.zip": False,  # a finished archive: not a temporary file
    }
    for name in names:
        (tmp_path / name).touch()
    old = time.time() - 3600
    for name in list(names)[5:6]:
        os.utime(tmp_path / name, (old, old))
    removed = sweep_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == sorted(n for n, gone_ in names.items() if gone_)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, gone_ in names.items() if not gone_)
    assert sweep_temp_files(tmp_path / "missing") == []


# ---- requests --------------------------------------------------------------------------------------
def test_requests_of_gone_processes_of_this_host_are_queued_again_and_run_once(settings: Settings,
                                                                               db: Database) -> None:
    host, pid = queue.HOST, dead_pid()
    dead, live, foreign, last, cancelled = enqueue(db, 5)
    held(db, dead, f"{host}:{pid}:0123abcd.00000001")
    held(db, live, queue.new_worker_id())
    held(db, foreign, f"elsewhere:{pid}:0123abcd.00000002")
    held(db, last, f"{host}:{pid}:0123abcd.00000003", attempts=queue.MAX_ATTEMPTS)
    held(db, cancelled, f"{host}:{pid}:0123abcd.00000004", cancel=True)
    (settings.results_dir).mkdir(parents=True, exist_ok=True)
    stray = settings.results_dir / f".{dead}.{gone_tag(pid)}.abc.tmp.parquet"
    stray.touch()

    found = recover(settings, db)
    assert found.requests.requeued == [dead]
    assert found.requests.failed == [last] and found.requests.cancelled == [cancelled]
    assert found.temp_files == [stray] and not stray.exists()
    assert row(db, dead).status == RequestStatus.QUEUED and row(db, dead).attempts == 1
    assert row(db, live).status == RequestStatus.RUNNING and row(db, foreign).status == RequestStatus.RUNNING
    failed = row(db, last)
    assert failed.status == RequestStatus.FAILED and failed.finished_at is not None
    assert failed.status_message.startswith("Report processing failed: stopped after 2 attempts; ")
    assert row(db, cancelled).status == RequestStatus.CANCELLED
    assert len(recover(settings, db).requests) == 0  # nothing twice

    runs: Counter[uuid.UUID] = Counter()

    def runner(warehouse: Any, workspace: str, resolved: dict, snapshot: Path, cancelled: Any) -> Result:
        runs[uuid.UUID(snapshot.name.split(".")[1])] += 1
        assert queue.owner_tag() in snapshot.name
        return Result(snapshot, resolved["rows"])

    assert Worker(settings, db, None, runner=runner).drain() == 1
    assert runs == Counter({dead: 1})
    done = row(db, dead)
    assert done.status == RequestStatus.COMPLETE and done.attempts == 2 and done.total_count == 2
    assert sorted(p.name for p in settings.results_dir.iterdir()) == [f"{dead}.parquet"]
    assert stat.S_IMODE(os.stat(settings.results_dir / f"{dead}.parquet").st_mode) == 0o600


def test_a_stale_request_at_its_last_attempt_ends_failed_instead_of_running_again(db: Database) -> None:
    again, last = enqueue(db, 2)
    held(db, again, "elsewhere:1:x", attempts=1)
    held(db, last, "elsewhere:1:x", attempts=queue.MAX_ATTEMPTS)
    later = utcnow() + timedelta(seconds=120)
    job = queue.claim(db, "w", stale_after=60, now=later)
    assert job is not None and job.id == again and job.attempt == 2
    assert queue.claim(db, "w", stale_after=60, now=later) is None
    r = row(db, last)
    assert r.status == RequestStatus.FAILED and "stopped after 2 attempts; " in r.status_message


KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from callboard.settings import Settings
    from callboard.store import Database
    from callboard.service.worker import Worker, recover

    settings = Settings(data_dir=Path(sys.argv[1]), worker_heartbeat_seconds=0.2)
    marker = Path(sys.argv[2])
    db = Database(settings.metadata_url)

    def dies(warehouse, workspace, resolved, snapshot, cancelled):
        snapshot.touch()      # the temporary snapshot exists when the process is killed
        marker.write_text("running")
        time.sleep(3600)      # stands for a run that takes the process down (out of memory)

    recover(settings, db)     # as a server or worker process does when it starts
    Worker(settings, db, None, runner=dies).run_once()
""")


def test_a_request_that_killed_its_worker_twice_ends_failed(settings: Settings, db: Database,
                                                             tmp_path: Path) -> None:
    rid = enqueue(db, 1)[0]
    for attempt in (1, 2):
        marker = tmp_path / f"marker{attempt}"
        proc = subprocess.Popen([sys.executable, "-c", KILLED, str(settings.data_dir), str(marker)])
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert proc.poll() is None and time.monotonic() < deadline, "the worker did not start the run"
                time.sleep(0.05)
            r = row(db, rid)
            assert r.status == RequestStatus.RUNNING and r.attempts == attempt
            assert r.worker_id is not None and r.worker_id.startswith(f"{queue.HOST}:{proc.pid}:")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
    found = recover(settings, db)  # the next start
    assert found.requests.failed == [rid] and found.requests.requeued == []
    r = row(db, rid)
    assert r.status == RequestStatus.FAILED and r.attempts == 2
    assert r.status_message.startswith("Report processing failed: stopped after 2 attempts; ")
    assert Worker(settings, db, None, runner=lambda *a: pytest.fail("ran again")).drain() == 0
    assert list(settings.results_dir.iterdir()) == []  # both temporary snapshots removed


# ---- Webex renders ---------------------------------------------------------------------------------
def test_renders_claimed_by_a_gone_process_are_released_and_render_once(settings: Settings, db: Database,
                                                                         tmp_path: Path) -> None:
    rid_of = enqueue(db, 1)[0]
    snapshot = tmp_path / "snapshot.parquet"
    snapshot.touch()
    with db.session() as s:
        s.execute(update(ReportRequest).where(ReportRequest.id == rid_of).values(
            status=RequestStatus.COMPLETE, snapshot_path=str(snapshot)))
        req = s.get(ReportRequest, rid_of)
        assert req is not None
        reports = {}
        gone = f"{uuid.uuid4().hex[:16]}.{gone_tag(dead_pid())}"
        for name, token in (("gone", gone), ("live", f"{uuid.uuid4().hex[:16]}.{queue.owner_tag()}"),
                            ("legacy", uuid.uuid4().hex)):
            r = WebexReport(tenant_id=req.tenant_id, workspace_id=req.workspace_id, request_id=req.id,
                            created_via="partner", template="CallList", template_id=102, title="Call List",
                            service="Webex Calling", start_date=utcnow().date(), end_date=utcnow().date(),
                            time_zone="UTC", site_list="", region_id="US", created_at=utcnow().replace(microsecond=0),
                            render_state=RENDER_RUNNING, render_token=token, render_started_at=utcnow())
            s.add(r)
            s.flush()
            reports[name] = r.id
    folder = settings.data_dir / "webex"
    folder.mkdir()
    left = [folder / f".{reports['gone'].hex}-{gone}.zip.{uuid.uuid4().hex}.tmp",  # the killed render's
            folder / f"{uuid.uuid4().hex}-{gone}.zip"]  # renamed into place, never recorded
    for p in left:
        p.touch()

    assert webex.recover_renders(db, settings) == [reports["gone"]]
    assert list(folder.iterdir()) == []
    with db.session() as s:
        states = {name: s.get(WebexReport, rid).render_state for name, rid in reports.items()}  # type: ignore[union-attr]
    assert states == {"gone": RENDER_PENDING, "live": RENDER_RUNNING, "legacy": RENDER_RUNNING}
    calls: list[int] = []
    webex.ensure_rendered(db, settings, reports["gone"],
                          writer=lambda snap, sink, r: (calls.append(1), sink.write(b"\xef\xbb\xbfa\r\n1\r\n")))
    webex.ensure_rendered(db, settings, reports["gone"], writer=lambda *a: calls.append(2))
    assert calls == [1]
    with db.session() as s:
        done = s.get(WebexReport, reports["gone"])
        assert done is not None and done.render_state == RENDER_DONE and done.file_path
        assert queue.owner_tag() in Path(done.file_path).name
        assert stat.S_IMODE(os.stat(done.file_path).st_mode) == 0o600
    assert webex.recover_renders(db, settings) == []
    assert [p.name for p in folder.iterdir()] == [Path(done.file_path).name]  # a recorded file stays


# ---- a real server killed and started again ---------------------------------------------------------
BOOT = textwrap.dedent("""
    import sys, time
    from pathlib import Path

    import callboard.service.worker as worker
    import callboard.webex.service as webex
    from callboard.cli import app

    mode, marks, port = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    real_runner, real_writer = worker._default_runner, webex.write_report_csv

    def note(name, text):
        with (marks / name).open("a") as f:
            f.write(text + "\\n")

    def runner(warehouse, workspace, resolved, snapshot, cancelled):
        template = worker.from_spec(resolved).template.name
        note("runs", f"{mode} {template} {snapshot.name.split('.')[1]}")
        if mode == "hang" and template == "CallList":
            snapshot.touch()  # the temporary snapshot, as the real writer starts it
            note("hanging", "report")
            time.sleep(3600)
        return real_runner(warehouse, workspace, resolved, snapshot, cancelled)

    def writer(snapshot, sink, row):
        note("renders", f"{mode} {row.id.hex}")
        if mode == "hang":
            note("hanging", "render")  # the archive's temporary file is open
            time.sleep(3600)
        real_writer(snapshot, sink, row)

    worker._default_runner = runner
    webex.write_report_csv = writer
    app(["serve", "--host", "127.0.0.1", "--port", port], prog_name="callboard")
""")


class Server:
    """One ``callboard serve`` process (through BOOT) on a free port and a shared data folder."""

    def __init__(self, data_dir: Path, marks: Path, mode: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CALLBOARD_DATA_DIR": str(data_dir), "CALLBOARD_ADMIN_TOKEN": ADMIN,
               "CALLBOARD_WORKERS": "1", "CALLBOARD_RATE_LIMIT_PER_MINUTE": "100000"}
        env.pop("CALLBOARD_WORKER_STALE_SECONDS", None)  # the defaults: recovery must not wait for them
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", BOOT, mode, str(marks), str(self.port)], env=env,
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert self.proc.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the server did not answer:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def _wait_for(marks: Path, name: str, text: str, server: Server, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ((marks / name).exists() and text in (marks / name).read_text()):
        assert server.proc.poll() is None, f"the server exited:\n{server.log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"never {name}/{text}:\n{server.log.read_text()[-3000:]}"
        time.sleep(0.05)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_kill_9_during_a_report_and_a_webex_render_then_restart_completes_both_once(tmp_path: Path) -> None:
    data, marks, log = tmp_path / "data", tmp_path / "marks", tmp_path / "serve.log"
    marks.mkdir()
    servers: list[Server] = []
    try:
        # 1. a server that hangs in the report run and in the render, then is killed
        first = Server(data, marks, "hang", log)
        servers.append(first)
        live = Live(first.base, data, Settings(data_dir=data))
        setup_org(live)
        r = live.post(f"/api/v1.0/workspaces/{live.workspace}/calls", who="calls", json=make_calls())
        assert r.status_code == 200, r.text
        r = live.post("/v1/partner/reports", who="webex", json={
            "templateId": 104, "startDate": "2025-03-03", "endDate": "2025-03-09", "timeZone": "UTC",
            "workspaceId": live.workspace})
        assert r.status_code in (200, 201), r.text
        report_id = r.json()["reportId"]
        details = f"/v1/partner/reports/{report_id}"
        deadline = time.monotonic() + 60
        while "render" not in "".join(_lines(marks / "hanging")):  # a read starts the render once the run is done
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            with contextlib.suppress(requests.Timeout):  # the read that renders hangs with the render
                requests.get(live.url(details), headers=live.auth("webex"), timeout=0.5)
            time.sleep(0.05)
        r = live.post(f"/api/v1.0/workspaces/{live.workspace}/requests", who="native", json={
            "reportTemplateName": "CallList", "timeZoneId": "UTC",
            "metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-03-03", "end": "2025-03-10"}}})
        assert r.status_code == 202, r.text
        request_id = r.json()["requestId"]
        status = f"/api/v1.0/workspaces/{live.workspace}/requests/{request_id}"
        _wait_for(marks, "hanging", "report", first)
        assert live.get(status, who="native").json()["state"] == "running"
        assert live.get(details, who="webex").json()["status"] == "In progress"
        first.stop(signal.SIGKILL)
        left = [p.name for p in (data / "results").iterdir() if p.name.startswith(".")] + \
               [p.name for p in (data / "webex").iterdir() if p.name.startswith(".")]
        assert len(left) == 2 and all(".tmp" in n and f"pid{first.proc.pid}-" in n for n in left), left

        # 2. started again on the same folder: both complete within seconds, once
        started = time.monotonic()
        second = Server(data, marks, "count", log)
        servers.append(second)
        live.base = second.base
        r = requests.get(live.url(status + "/data"), headers={**live.auth("native"), "Prefer": "wait=30"},
                         timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["totalCount"] > 0
        while (d := live.get(details, who="webex").json())["status"] == "In progress":
            assert time.monotonic() - started < 30, d
            time.sleep(0.1)
        assert d["status"] == "done", d
        elapsed = time.monotonic() - started
        assert elapsed < 30, f"recovered in {elapsed:.1f} s: the stale limits (60 s, 300 s) would have done it"
        archive = requests.get(d["downloadURL"], timeout=30)
        assert archive.status_code == 200
        member = zipfile.ZipFile(io.BytesIO(archive.content)).read(d["fileName"]).decode("utf-8-sig")
        assert member.splitlines()[0] and len(member.splitlines()) > 1
        second.stop()
    finally:
        for s in servers:
            s.stop(signal.SIGKILL)

    # exactly once: one run and one render in the restarted server, one file each, the attempts counted
    runs = _lines(marks / "runs")
    assert [ln for ln in runs if ln.startswith("count")] == [f"count CallList {request_id}"], runs
    assert sum(ln.startswith("hang CallSummaryByHuntGroup") for ln in runs) == 1, runs
    assert [ln.split()[0] for ln in _lines(marks / "renders")] == ["hang", "count"]
    results = sorted(p.name for p in (data / "results").iterdir())
    assert len(results) == 2 and f"{request_id}.parquet" in results and not any(n.startswith(".") for n in results)
    archives = [p.name for p in (data / "webex").iterdir()]
    assert len(archives) == 1 and archives[0].endswith(".zip") and f"pid{second.proc.pid}-" in archives[0]
    db = Database(Settings(data_dir=data).metadata_url)
    try:
        r = row(db, uuid.UUID(request_id))
        assert r.status == RequestStatus.COMPLETE and r.attempts == 2
        assert r.worker_id is not None and r.worker_id.split(":")[1] == str(second.proc.pid)
    finally:
        db.dispose()

    # owner-only: every file 0600, every folder 0700, the data folder included
    modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in [data, *data.rglob("*")]}
    wrong = {name: oct(mode) for name, mode in modes.items()
             if mode != (0o700 if (tmp_path / name).is_dir() else 0o600)}
    assert not wrong, wrong
    assert {"data/meta.sqlite", "data/calls.duckdb", "data/secret.key"} <= set(modes)
