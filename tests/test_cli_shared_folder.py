"""One owner of the data folder: while `callboard serve` holds it, `import` and `report run` go through
the server (with the local credential it announces in server.json), `worker` refuses in one line,
and once the server is gone (even by SIGKILL) the commands work on the folder itself again."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from callboard.api.app import create_app
from callboard.cli import app
from callboard.service.local_server import SERVER_FILE, ServerInfo, running_server
from callboard.service.queue import HOST, owner_tag
from callboard.service.via_server import FileImporter, ServerClient, ServerError, segments_body
from callboard.settings import Settings
from callboard.sources import read_source

SAMPLES = Path(__file__).parent / "sources" / "samples"
NDJSON = SAMPLES / "canonical" / "calls.ndjson"  # 2 segments
LONDON = SAMPLES / "canonical" / "calls_london.csv"  # 5 segments
TIMEOUT = 90  # seconds any one command may take (imports included, on a slow machine)
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`callboard ARGS` in a process of its own, as a user runs it beside the server."""
    return subprocess.run([sys.executable, "-m", "callboard.cli", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)


def _last_id(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def folder(tmp_path: Path) -> dict[str, str]:
    data = str(tmp_path / "data")
    tenant = _last_id("tenant", "create", "Acme", "--data-dir", data)
    ws = _last_id("workspace", "create", "Head office", "--tenant", tenant, "--time-zone", "Europe/London",
                  "--data-dir", data)
    return {"data": data, "ws": ws}


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            with opener.open(f"{url}/health", timeout=2) as answer:
                assert answer.status == 200
            return
        except OSError:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


@pytest.fixture
def serving(folder: dict[str, str], tmp_path: Path) -> Iterator[dict[str, object]]:
    """A real `callboard serve` on the folder, on a free loopback port; killed at the end whatever happens."""
    port = _free_port()
    env = {**os.environ, "CALLBOARD_WORKERS": "1"}
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "callboard.cli", "serve", "--port", str(port),
                                   "--data-dir", folder["data"]], stdout=sink, stderr=subprocess.STDOUT, env=env,
                                  stdin=subprocess.DEVNULL)
        try:
            _wait_for_health(f"http://127.0.0.1:{port}", server, log)
            yield {**folder, "server": server, "port": port, "log": log}
        finally:
            if server.poll() is None:
                server.kill()
            server.wait(30)


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def _reports(ws: str, data: str, folder: Path) -> dict[str, str | bytes]:
    """`report run` in each output (a list template as JSON, CSV and Parquet; a summary as a table)."""
    outputs: dict[str, str | bytes] = {}
    for name, template in (("json", "CallListByUserSegmented"), ("csv", "CallList"), ("table", "CallSummaryByUser")):
        run = _cli("report", "run", template, "--workspace", ws, "--output", name, "--data-dir", data)
        assert run.returncode == 0, run.stderr
        outputs[name] = run.stdout
    folder.mkdir()
    parquet = folder / "result.parquet"
    run = _cli("report", "run", "CallList", "--workspace", ws, "--output", "parquet", "--out", str(parquet),
               "--data-dir", data)
    assert run.returncode == 0, run.stderr
    outputs["parquet"] = parquet.read_bytes()
    outputs["stderr"] = run.stderr
    return outputs


def test_commands_go_through_the_server_that_holds_the_folder(serving: dict[str, object], tmp_path: Path) -> None:
    data, ws, port = str(serving["data"]), str(serving["ws"]), serving["port"]
    server = serving["server"]
    assert isinstance(server, subprocess.Popen)
    announced = Path(data) / SERVER_FILE
    doc = json.loads(announced.read_text())
    assert doc["url"] == f"http://127.0.0.1:{port}" and doc["pid"] == server.pid
    assert doc["credential"].startswith("cbl_") and len(doc["credential"]) > 40
    assert stat.S_IMODE(announced.stat().st_mode) == 0o600

    # import: read here, stored by the server; the counts as offline, and one line saying how
    imported = _cli("import", str(NDJSON), str(LONDON), "--workspace", "Head office", "--data-dir", data)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        "calls.ndjson: received 2  inserted 2  duplicates 0",
        "calls_london.csv: received 5  inserted 5  duplicates 0",
        "received 7  inserted 7  duplicates 0",
    ]
    assert _one_line(imported.stderr) == (f"importing through the callboard server at http://127.0.0.1:{port} "
                                          f"(pid {server.pid}), which holds {data}")

    # report run: the Results API, all pages, written out as offline (compared below)
    served = _reports(ws, data, tmp_path / "served")
    assert "through the callboard server" in str(served["stderr"])
    document = json.loads(served["json"])
    assert document["totalCount"] == 7 and len(document["data"]) == 7
    assert str(served["csv"]).count("\n") == 8  # header + 7 calls
    assert "Alice" in str(served["table"])

    # the server's refusals, in one line with its message
    info = running_server(Settings(data_dir=Path(data)))
    assert info is not None
    with pytest.raises(ServerError) as missing:
        ServerClient(info).request("GET", "/api/v1.0/workspaces/00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404 and "\n" not in missing.value.message
    assert "Workspace 00000000-0000-0000-0000-000000000000 not found" in missing.value.message
    with pytest.raises(ServerError) as forged:
        ServerClient(dataclasses.replace(info, credential="cbl_" + "x" * 43)).request(
            "GET", f"/api/v1.0/workspaces/{ws}")
    assert forged.value.status == 401

    # a standalone worker cannot open the embedded engine: one line, exit 2, no traceback
    worker = _cli("worker", "--data-dir", data)
    assert worker.returncode == 2
    assert _one_line(worker.stderr) == (
        f"error: the callboard server at http://127.0.0.1:{port} (pid {server.pid}) already runs the report "
        f"workers of {data}: raise CALLBOARD_WORKERS on it instead, or use a shared engine (CALLBOARD_ENGINE, see "
        "docs/deployment.md) to run workers apart.")

    # SIGKILL: server.json stays behind, stale, and is ignored; the commands work offline again
    server.send_signal(signal.SIGKILL)
    server.wait(30)
    assert announced.exists() and running_server(Settings(data_dir=Path(data))) is None
    offline = _cli("import", str(LONDON), str(NDJSON), "--workspace", ws, "--data-dir", data)
    assert offline.returncode == 0, offline.stderr
    assert offline.stderr == "" and offline.stdout.splitlines()[-1] == "received 7  inserted 0  duplicates 7"
    alone = _reports(ws, data, tmp_path / "offline")
    assert alone["stderr"] == ""
    for name in ("json", "csv", "table"):
        assert alone[name] == served[name], name  # the same output either way
    assert pq.read_table(pa.BufferReader(alone["parquet"])).equals(pq.read_table(pa.BufferReader(served["parquet"])))


def test_an_engine_held_by_another_process_is_named_in_one_line(folder: dict[str, str]) -> None:
    calls = Path(folder["data"]) / "calls.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(120)", str(calls)],
                              stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        for args in (["import", str(NDJSON), "--workspace", folder["ws"]],
                     ["report", "run", "CallList", "--workspace", folder["ws"]], ["worker"]):
            result = _cli(*args, "--data-dir", folder["data"])
            assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
            line = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
            assert len(line) == 1, result.stderr
            assert f"process {holder.pid} (" in line[0] and "one process at a time" in line[0]
    finally:
        holder.kill()
        holder.wait(30)


# ---- in-process: the credential and the announcement ---------------------------------------------
def test_the_local_credential_is_accepted_only_by_the_server_that_drew_it(folder: dict[str, str]) -> None:
    settings = Settings(data_dir=Path(folder["data"]), workers=0)
    served = create_app(settings, local_url="http://127.0.0.1:9")
    path = Path(folder["data"]) / SERVER_FILE
    with TestClient(served) as client:
        info = running_server(settings)
        assert info is not None and info.url == "http://127.0.0.1:9" and info.host == HOST
        auth = {"Authorization": f"Bearer {info.credential}"}
        body = NDJSON.read_bytes()
        stored = client.post(f"/api/v1.0/workspaces/{folder['ws']}/calls", content=body, headers={
            **auth, "Content-Type": "application/x-ndjson"})
        assert stored.status_code == 200 and stored.json()["inserted"] == 2
        assert client.get(f"/api/v1.0/workspaces/{folder['ws']}", headers=auth).status_code == 200
        # what the CLI needs, no more: no tenant administration
        assert client.get("/api/v1.0/tenants", headers=auth).status_code == 403
        wrong = {"Authorization": f"Bearer {info.credential[:-2]}xx"}
        assert client.get(f"/api/v1.0/workspaces/{folder['ws']}", headers=wrong).status_code == 401
    assert not path.exists()  # removed at a clean shutdown
    # an app that was not started by `serve` announces nothing and accepts no local credential
    with TestClient(create_app(settings)) as client:
        assert not path.exists()
        auth = {"Authorization": f"Bearer {info.credential}"}
        assert client.get(f"/api/v1.0/workspaces/{folder['ws']}", headers=auth).status_code == 401


def test_a_stale_announcement_is_ignored(folder: dict[str, str]) -> None:
    settings = Settings(data_dir=Path(folder["data"]))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    pid = int(gone.stdout)
    owner = owner_tag().replace(f"pid{os.getpid()}-", f"pid{pid}-")  # this host's, a process that has ended
    (Path(folder["data"]) / SERVER_FILE).write_text(json.dumps({
        "url": "http://127.0.0.1:9", "pid": pid, "owner": owner, "host": HOST, "credential": "cbl_x",
        "maxBodyBytes": 1000}))
    assert running_server(settings) is None
    result = runner.invoke(app, ["import", str(NDJSON), "--workspace", folder["ws"], "--data-dir", folder["data"]])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.strip() == "received 2  inserted 2  duplicates 0"


def test_a_file_larger_than_the_server_takes_is_refused_before_it_is_sent() -> None:
    info = ServerInfo(url="http://127.0.0.1:9", pid=os.getpid(), owner="", host=HOST, credential="cbl_x",
                      max_body_bytes=1000, path=Path(SERVER_FILE))
    with FileImporter(ServerClient(info), "ws", [LONDON], "canonical") as importer, \
            pytest.raises(ServerError) as refused:
        importer.next_file()
    assert refused.value.file and refused.value.status == 413
    assert "CALLBOARD_MAX_BODY_BYTES" in refused.value.message and "nothing stored" in refused.value.message


@pytest.mark.parametrize(("fmt", "name", "time_zone"), [
    ("canonical", "canonical/calls_london.csv", None),
    ("asterisk", "asterisk/Master_london_21col.csv", "Europe/London"),
    ("freeswitch", "freeswitch/cdr.ndjson", None),
    ("3cx", "3cx/cdr_default_order.log", "Europe/London"),
    ("cucm", "cucm/cdr_StandAloneCluster_01_202409101400_1042", None),
    ("webex", "webex/detailed_call_history.csv", None),
])
def test_what_the_command_sends_the_server_reads_back_unchanged(fmt: str, name: str, time_zone: str | None) -> None:
    """A file's segments, as the body sent through the server, are what the server stores (the ingest
    route reads the body with the canonical importer): the same rows and ids as an offline import."""
    path = SAMPLES / name
    segments = read_source(fmt, path, source=str(path), time_zone=time_zone)
    assert segments.num_rows > 0
    received = read_source("canonical", segments_body(segments), source="body", options={"encoding": "parquet"},
                           content_type="application/vnd.apache.parquet")
    assert received.equals(segments)
