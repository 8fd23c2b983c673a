"""``Prefer: wait`` holds no thread: a real server (uvicorn on 127.0.0.1) with a report held running
and 200 readers waiting for it still answers ``/health`` and another tenant's reads at once, and
every waiter gets the completed status when the report ends.

Sync routes share one threadpool of a few dozen threads; a waiter that held one of them for its
whole wait would leave everything else unanswered with this many waiters."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn

from callboard.api.app import create_app
from callboard.service import endings
from callboard.service.worker import Worker
from callboard.settings import Settings
from tests.service.test_report_workers import FakeResult
from tests.support.api import ADMIN, ALL_SCOPES, V
from tests.support.webex_live import free_port

WAITERS = 200
ANSWER_WITHIN = 10.0  # generous: these reads answer in milliseconds when no thread is held
BODY = {"reportTemplateName": "CallList", "timeZoneId": "UTC",
        "metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-03-03", "end": "2025-03-10"}}}


@dataclass
class Live:
    base: str
    held_workspace: list[str]
    started: threading.Event
    release: threading.Event


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """The API under uvicorn, and one worker whose runner holds the held workspace's run until released."""
    settings = Settings(data_dir=tmp_path / "data", admin_token=ADMIN, workers=0, rate_limit_per_minute=0,
                        worker_heartbeat_seconds=0.2, worker_poll_seconds=0.05)
    app = create_app(settings, workers=0, announce=False)
    held: list[str] = []
    started, release = threading.Event(), threading.Event()

    def runner(_wh: Any, workspace: str, _resolved: dict[str, Any], snapshot: Path, _cancelled: Any) -> FakeResult:
        if workspace in held:
            started.set()
            release.wait(30)
        pq.write_table(pa.table({"docId": ["d0", "d1"], "ans": [1, 0]}), snapshot)
        return FakeResult(snapshot, 2, {"ans": 1})

    stop = threading.Event()
    worker = threading.Thread(target=Worker(settings, app.state.ctx.db, None, runner=runner).run_forever,
                              args=(stop,), daemon=True)
    worker.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", held, started, release)
    finally:
        release.set()
        stop.set()
        server.should_exit = True
        thread.join(30)
        worker.join(30)
        app.state.ctx.close()


def _tenant(client: httpx.Client, name: str) -> tuple[dict[str, str], str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tid = client.post(f"{V}/tenants", json={"name": name}, headers=admin).json()["id"]
    r = client.post(f"{V}/tenants/{tid}/tokens", json={"scopes": ALL_SCOPES}, headers=admin)
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post(f"{V}/workspaces", json={"name": "hq", "timeZoneId": "UTC"}, headers=auth)
    assert r.status_code == 201, r.text
    return auth, r.json()["id"]


def _submit(client: httpx.Client, auth: dict[str, str], ws: str) -> str:
    r = client.post(f"{V}/workspaces/{ws}/requests", json=BODY, headers=auth)
    assert r.status_code == 202, r.text
    return f"{V}/workspaces/{ws}/requests/{r.json()['requestId']}"


def test_waiters_hold_no_thread(live: Live) -> None:
    with httpx.Client(base_url=live.base, timeout=ANSWER_WITHIN) as client:
        other_auth, other_ws = _tenant(client, "other")
        other = _submit(client, other_auth, other_ws)
        done = client.get(other, headers={**other_auth, "Prefer": "wait=10"})
        assert done.json()["state"] == "complete", done.text

        auth, ws = _tenant(client, "acme")
        live.held_workspace.append(ws)
        held = _submit(client, auth, ws)
        assert live.started.wait(ANSWER_WITHIN), "the worker did not start the held report"

    async def scenario() -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(base_url=live.base, limits=limits, timeout=40) as waiting, \
                httpx.AsyncClient(base_url=live.base, timeout=ANSWER_WITHIN) as others:
            # a quarter of the waiters on the data route, the rest on the status route
            urls = [held + "/data" if n % 4 == 0 else held for n in range(WAITERS)]
            waiters = [asyncio.create_task(waiting.get(u, headers={**auth, "Prefer": "wait=30"})) for u in urls]
            deadline = time.monotonic() + ANSWER_WITHIN
            while endings.waiting() < WAITERS:  # every one of them parked in its wait
                assert time.monotonic() < deadline, f"only {endings.waiting()} of {WAITERS} readers are waiting"
                assert not any(w.done() for w in waiters), [w.result() for w in waiters if w.done()][:1]
                await asyncio.sleep(0.02)

            health = await others.get("/health")
            assert health.status_code == 200 and health.json() == {"status": "ok"}
            status = await others.get(other, headers=other_auth)
            assert status.status_code == 200 and status.json()["state"] == "complete"
            running = await others.get(held, headers=auth)  # the waited-for request itself, without a wait
            assert running.status_code == 200 and running.json()["state"] == "running"
            assert not any(w.done() for w in waiters), "a waiter answered before its report ended"

            live.release.set()
            answers = await asyncio.wait_for(asyncio.gather(*waiters), ANSWER_WITHIN)
        for url, r in zip(urls, answers, strict=True):
            assert r.status_code == 200, r.text
            assert r.headers["Preference-Applied"] == "wait=30"
            doc = r.json()
            assert doc["state"] == "complete" and doc["totalCount"] == 2
            assert ("data" in doc) == url.endswith("/data")
            if url.endswith("/data"):
                assert doc["data"] == [{"docId": "d0", "ans": 1}, {"docId": "d1", "ans": 0}]

    asyncio.run(asyncio.wait_for(scenario(), 3 * ANSWER_WITHIN))
    assert endings.waiting() == 0


# ---- the notification on its own (no server) -----------------------------------------------------
class Store:
    """Stands for the metadata store: which keys have ended, and every check made (keys seen together)."""

    def __init__(self) -> None:
        self.ended: dict[str, str] = {}
        self.checks: list[frozenset[str]] = []


def ended_among(store: Store, keys: frozenset[str]) -> dict[str, str]:
    store.checks.append(keys)
    return {k: v for k, v in store.ended.items() if k in keys}


def test_an_announcement_from_a_worker_thread_wakes_every_waiter_with_one_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endings, "RECHECK_SECONDS", 60.0)  # only the announcement can wake them in time
    store = Store()

    def worker() -> None:
        time.sleep(0.1)
        store.ended.update({f"r{n}": f"row {n}" for n in range(50)})
        endings.announce()

    async def scenario() -> list[Any]:
        since = endings.ticket()
        threading.Thread(target=worker).start()
        return await asyncio.gather(*(endings.until_ended(ended_among, store, f"r{n}", 20, since=since)
                                      for n in range(50)))

    t0 = time.monotonic()
    assert asyncio.run(scenario()) == [f"row {n}" for n in range(50)]
    assert time.monotonic() - t0 < ANSWER_WITHIN  # not after the 20 s wait
    assert all(len(keys) == 50 for keys in store.checks)  # the 50 waiters were checked together
    assert endings.waiting() == 0


def test_an_ending_elsewhere_is_seen_by_the_recheck_and_a_wait_runs_out() -> None:
    """No announcement (another process ended it): the periodic recheck finds it; a key that never
    ends gives ``None`` when its time is up."""
    store = Store()
    threading.Timer(0.3, lambda: store.ended.update(r1="row 1")).start()

    async def scenario() -> list[Any]:
        since = endings.ticket()
        return list(await asyncio.gather(endings.until_ended(ended_among, store, "r1", 20, since=since),
                                         endings.until_ended(ended_among, store, "r2", 0.5, since=since)))

    t0 = time.monotonic()
    assert asyncio.run(scenario()) == ["row 1", None]
    assert time.monotonic() - t0 < ANSWER_WITHIN
    assert endings.waiting() == 0


def test_an_announcement_between_the_read_and_the_wait_is_not_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ending lands after the caller's read (its ticket) but before it waits: checked at once,
    not at the next recheck."""
    monkeypatch.setattr(endings, "RECHECK_SECONDS", 60.0)
    store = Store()

    async def scenario() -> Any:
        since = endings.ticket()
        store.ended["r1"] = "row 1"
        endings.announce()
        return await endings.until_ended(ended_among, store, "r1", 20, since=since)

    t0 = time.monotonic()
    assert asyncio.run(scenario()) == "row 1"
    assert time.monotonic() - t0 < ANSWER_WITHIN  # not after the 20 s wait
