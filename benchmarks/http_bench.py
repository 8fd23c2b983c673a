"""End-to-end HTTP measurements: callboard served by uvicorn on 127.0.0.1 in a subprocess
(:mod:`benchmarks.server`), driven by an ``httpx`` client.

* a report request: POST ``/requests`` → poll ``…/data`` → the whole results document read;
* the first 1,000-row page of a call list with ``totalCount`` and ``summary`` (POST → page 1);
* one million rows streamed as one JSON document (MB/s; the server's RSS sampled with psutil);
* a one-million-row zipped CSV through the Webex-compatible route (POST → done → download).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from benchmarks.common import ROOT, free_port

SCOPES = ["reports:read", "reports:write", "calls:write"]


@dataclass
class Server:
    base: str
    token: str
    proc: subprocess.Popen[bytes]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"},
                                   timeout=httpx.Timeout(600.0))

    @property
    def pid(self) -> int:
        return self.proc.pid


def prepare_data_dir(data_dir: Path, workspaces: list[tuple[str, str, str]]) -> str:
    """A metadata store with one tenant, the given ``(id, name, timeZone)`` workspaces (ids equal to
    the warehouse's ``workspace`` values) and a token for them; returns the token."""
    from callboard.service import tenancy
    from callboard.service.schemas import TokenCreate
    from callboard.settings import Settings
    from callboard.store.db import Database
    from callboard.store.models import Workspace

    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.metadata_url)
    try:
        with db.session() as session:
            tenant = tenancy.create_tenant(session, "Benchmark tenant")
            for wid, name, tz in workspaces:
                session.add(Workspace(id=uuid.UUID(wid), tenant_id=tenant.id, name=name, time_zone=tz))
            session.flush()
            _, token = tenancy.issue_token(session, tenant, TokenCreate(scopes=SCOPES))
        return token
    finally:
        db.dispose()


@contextmanager
def serve(data_dir: Path, warehouse: Path, workspaces: list[tuple[str, str, str]],
          poll: float | None = None, *, token: str | None = None, workers: int = 1,
          env: dict[str, str] | None = None, source: Path | None = None) -> Iterator[Server]:
    """Run the API in a subprocess until the block ends (then terminate it, by its pid).

    ``token``: a data folder already prepared (else one tenant with ``workspaces`` is made);
    ``env``: extra ``CALLBOARD_*`` settings; ``source``: another callboard ``src`` folder to serve
    from (a checkout of another version, for before/after figures in one run)."""
    token = token or prepare_data_dir(data_dir, workspaces)
    port = free_port()
    cmd = [sys.executable, "-m", "benchmarks.server", "--data-dir", str(data_dir),
           "--warehouse", str(warehouse), "--port", str(port), "--workers", str(workers)]
    if poll is not None:
        cmd += ["--poll", str(poll)]
    extra = dict(env or {})
    if source is not None:
        extra["PYTHONPATH"] = os.pathsep.join([str(source), str(ROOT)])
    with server_process(cmd, data_dir, port, extra) as proc:
        server = Server(f"http://127.0.0.1:{port}", token, proc)
        try:
            yield server
        finally:
            server.client.close()


@contextmanager
def server_process(cmd: list[str], data_dir: Path, port: int,
                   env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` (a server on 127.0.0.1:``port``, its output in ``data_dir/server.log``) until the
    block ends, once its ``/health`` answers 200; then terminate it, killing it after 20 s."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("CALLBOARD_ADMIN_TOKEN", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(ROOT))
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {(data_dir / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 60 s")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---- Results API --------------------------------------------------------------------------------------
def submit(server: Server, ws: str, body: dict[str, Any]) -> str:
    r = server.client.post(f"/api/v1.0/workspaces/{ws}/requests", json=body)
    if r.status_code != 202:
        raise RuntimeError(f"request refused: {r.status_code} {r.text[:500]}")
    return r.headers["Location"]


def poll_data(server: Server, location: str, params: dict[str, Any] | None = None,
              interval: float = 0.005) -> httpx.Response:
    """GET ``…/data`` until it is no longer 202 (the client polls every ``interval`` seconds, not
    after the server's ``Retry-After``: we measure the server, not the back-off)."""
    url = location + "/data"
    while True:
        r = server.client.get(url, params=params)
        if r.status_code != 202:
            if r.status_code != 200:
                raise RuntimeError(f"data: {r.status_code} {r.text[:500]}")
            return r
        time.sleep(interval)


def location_data(location: str) -> str:
    return location + "/data"


def report_e2e(server: Server, ws: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Seconds from POST to the whole results document read, and the document."""
    t0 = time.perf_counter()
    loc = submit(server, ws, body)
    while (r := server.client.get(location_data(loc), headers={"Prefer": "wait=30"})).status_code == 202:
        pass
    if r.status_code != 200:
        raise RuntimeError(f"data: {r.status_code} {r.text[:500]}")
    doc = orjson.loads(r.content)
    return time.perf_counter() - t0, doc


def first_page(server: Server, ws: str, body: dict[str, Any], size: int = 1000,
               wait: bool = True) -> tuple[float, dict[str, Any]]:
    """Seconds from POST to page 1 (``size`` rows, with totalCount and summary) read: one GET with
    ``Prefer: wait=30`` after the POST, or (``wait=False``) polling ``/data`` every 5 ms."""
    t0 = time.perf_counter()
    loc = submit(server, ws, body)
    params = {"page": 1, "pageSize": size}
    if wait:
        r = server.client.get(location_data(loc), params=params, headers={"Prefer": "wait=30"})
        if r.status_code != 200:
            raise RuntimeError(f"data: {r.status_code} {r.text[:500]}")
    else:
        r = poll_data(server, loc, params)
    doc = orjson.loads(r.content)
    return time.perf_counter() - t0, doc


class RssSampler:
    """The server's RSS sampled every few milliseconds while a block runs (psutil on its pid)."""

    def __init__(self, pid: int, every: float = 0.005) -> None:
        self.proc = psutil.Process(pid)
        self.every = every
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self.proc.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self.before = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max(self.samples, default=self.before)


def hwm(pid: int) -> int:
    """The process's peak RSS since it started (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class StreamResult:
    seconds: float
    bytes: int
    rows: int
    rss_before: int
    rss_peak: int
    rss_samples: list[int]

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds


def stream_document(server: Server, location: str) -> StreamResult:
    """Read a complete result's whole document as a stream; count bytes (rows from the tail)."""
    url = location + "/data"
    n = 0
    tail = b""
    with RssSampler(server.pid) as rss:
        t0 = time.perf_counter()
        with server.client.stream("GET", url) as r:
            if r.status_code != 200:
                raise RuntimeError(f"stream: {r.status_code}")
            for chunk in r.iter_raw(1 << 20):
                n += len(chunk)
                tail = (tail + chunk)[-4096:]
        seconds = time.perf_counter() - t0
    rows = -1
    key = b'"totalCount":'
    # totalCount is in the document's head; re-read it from the status document (small)
    status = server.client.get(location).json()
    rows = int(status.get("totalCount", -1))
    del key
    return StreamResult(seconds, n, rows, rss.before, rss.peak, rss.samples)


def wait_complete(server: Server, location: str, interval: float = 0.05) -> dict[str, Any]:
    while True:
        doc = server.client.get(location).json()
        if doc.get("status") == 1:
            return doc
        if doc.get("status") in (3, 4, 5):
            raise RuntimeError(f"request failed: {doc.get('statusMessage')}")
        time.sleep(interval)


# ---- Webex-compatible route ------------------------------------------------------------------------------
@dataclass
class WebexResult:
    seconds: float  # POST to the last byte of the ZIP
    ready_seconds: float  # POST to status done (engine + CSV + zip rendering)
    download_seconds: float
    size: int
    rows: int


def webex_zip(server: Server, ws: str, template_id: int, start: str, end: str,
              interval: float = 0.01) -> WebexResult:
    import io
    import zipfile

    t0 = time.perf_counter()
    r = server.client.post("/v1/reports", json={"templateId": template_id, "startDate": start, "endDate": end,
                                                "timeZone": "UTC", "workspaceId": ws})
    if r.status_code not in (200, 201, 202):
        raise RuntimeError(f"webex create: {r.status_code} {r.text[:500]}")
    rid = r.json()["items"]["Id"]
    while True:
        item = server.client.get(f"/v1/reports/{rid}").json()["items"][0]
        if item["status"] == "done":
            break
        if item["status"] == "failed":
            raise RuntimeError(f"webex report failed: {item.get('failureReason')}")
        time.sleep(interval)
    t_ready = time.perf_counter() - t0
    t1 = time.perf_counter()
    d = server.client.get(item["downloadURL"])
    if d.status_code != 200:
        raise RuntimeError(f"download: {d.status_code} {d.text[:300]}")
    body = d.content
    total = time.perf_counter() - t0
    t_dl = time.perf_counter() - t1
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        name = zf.namelist()[0]
        with zf.open(name) as f:
            rows = sum(1 for _ in f) - 1  # header line
    return WebexResult(total, t_ready, t_dl, len(body), rows)
