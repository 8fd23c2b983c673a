"""Backups while the server runs, and restores into a fresh folder.

The main test takes a backup through the running server's endpoint while a thread keeps importing
batches into it, then restores into a new folder and checks: every import batch is wholly in the
backup or wholly out (and the ones in are the first ones); the stored call rollups agree with the
segments; every template gives the same rows on the restored warehouse as on the source (and, for the
workspace being imported into, as on a warehouse given exactly the batches the backup holds); results,
tokens, the Webex file and its signing key work on a server started on the restored folder. The other
tests cover a backup killed midway (no manifest, so restore refuses it), damaged backups, the
refusals, direct backups when no server runs, and a PostgreSQL metadata store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from callboard.api.app import create_app
from callboard.calls.rollups import STORED
from callboard.generate import OrgConfig, generate_batches
from callboard.reports.output import read_page
from callboard.reports.request import resolve_request
from callboard.reports.runner import run_report
from callboard.reports.templates import TEMPLATES
from callboard.service import backup
from callboard.service.backup import BackupError, WarehouseInUse, create_backup, read_manifest, restore_backup
from callboard.settings import Settings
from callboard.warehouse import DuckDBWarehouse, Warehouse
from callboard.webex.templates import WEBEX_TEMPLATE_IDS
from tests.support.api import ADMIN, ALL_SCOPES, Api

V = "/api/v1.0"
TZ = "Europe/London"
NOW = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
PERIOD = {"dateFilter": {"presetName": "Custom", "start": "2025-09-01", "end": "2026-01-01"}}
WEBEX_SCOPES = [*ALL_SCOPES, "spark-admin:reports_read", "spark-admin:reports_write", "identity:people_read"]


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, admin_token=ADMIN, workers=0, rate_limit_per_minute=0,
                    backup_dir=data_dir.parent / "backups")


def _org(seed: int, users: int, days: int, start: dt.date) -> pa.Table:
    config = OrgConfig(seed=seed, users=users, days=days, start=start, time_zone=TZ)
    return pa.concat_tables(list(generate_batches(config)))


def _import_batches(rows: int = 40) -> list[pa.Table]:
    """Another organisation's calls in small batches, in time order, so calls straddle batches
    (a batch adds segments to calls an earlier one started); docIds made unique per batch row."""
    table = _org(seed=77, users=8, days=20, start=dt.date(2025, 11, 1))
    ids = pa.array([f"imp-{n:06d}" for n in range(table.num_rows)])
    table = table.set_column(table.schema.get_field_index("docId"), "docId", ids)
    return [table.slice(i, rows) for i in range(0, table.num_rows, rows)]


def _report_rows(warehouse: Warehouse, ws: str, template: str, folder: Path) -> list[dict[str, Any]]:
    req = resolve_request({"reportTemplateName": template, "timeZoneId": TZ, "metadata": PERIOD,
                           "ignoreDisplayFields": True, "countryCode": "GB", "rowLimit": 100_000,
                           "callbackWindowHours": 1}, now=NOW)
    result = run_report(warehouse, ws, req, folder / f"{uuid.uuid4().hex}.parquet")
    return read_page(result.snapshot_path, 1, -1)


def _all_reports(warehouse: Warehouse, ws: str, folder: Path) -> dict[str, list[dict[str, Any]]]:
    folder.mkdir(parents=True, exist_ok=True)
    return {t: _report_rows(warehouse, ws, t, folder) for t in sorted(TEMPLATES)}


def _stored_tables(warehouse: DuckDBWarehouse) -> dict[str, list[tuple[Any, ...]]]:
    return {s.table: warehouse.raw_sql(f"SELECT * FROM {s.table} ORDER BY ALL").fetchall() for s in STORED}


def _hold(path: Path) -> subprocess.Popen[str]:
    """Another process holding a DuckDB file open (as a running server does)."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(120)"),
        str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture
def source(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A running app on a data folder with a tenant, two workspaces (one with calls), a completed
    report request and a rendered Webex report."""
    settings = _settings(tmp_path / "data")
    app = create_app(settings, workers=0)
    api = Api(app)
    tenant, token = api.tenant("Acme", WEBEX_SCOPES)
    base = api.workspace(token, "hq", TZ)
    imports = api.workspace(token, "imports", TZ)
    for batch in generate_batches(OrgConfig(seed=5, users=8, days=21, start=dt.date(2025, 10, 1), time_zone=TZ)):
        app.state.ctx.warehouse.append(base, batch)
    report = api.report(token, base, "CallSummaryByUser", defaults={"timeZoneId": TZ, "metadata": PERIOD})
    request_id = api.request(token, base, report)
    api.work()
    document = api.client.get(f"{V}/workspaces/{base}/requests/{request_id}/data", headers=api.auth(token))
    assert document.status_code == 200, document.text
    webex = api.client.post("/v1/partner/reports", headers=api.auth(token), json={
        "templateId": WEBEX_TEMPLATE_IDS["CallList"].id, "startDate": "2025-10-06", "endDate": "2025-10-12"})
    assert webex.status_code == 200, webex.text
    webex_id = webex.json()["reportId"]
    api.work()
    details = api.client.get(f"/v1/partner/reports/{webex_id}", headers=api.auth(token)).json()
    assert details["status"] == "done", details
    yield {"settings": settings, "app": app, "api": api, "token": token, "tenant": tenant, "base": base,
           "imports": imports, "request": request_id, "document": document.json(), "webex": webex_id,
           "webexChecksum": details["checksum"]}
    app.state.ctx.close()


def test_a_backup_during_an_import_restores_to_identical_reports(source: dict[str, Any], tmp_path: Path) -> None:
    api: Api = source["api"]
    warehouse: DuckDBWarehouse = api.ctx.warehouse
    batches = _import_batches()
    committed: list[float] = []  # when each batch's append returned
    stop = threading.Event()
    failures: list[BaseException] = []

    def importer() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                warehouse.append(source["imports"], batch)
                committed.append(time.monotonic())
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    thread = threading.Thread(target=importer)
    thread.start()
    while len(committed) < 5 and thread.is_alive():
        time.sleep(0.005)
    dest = source["settings"].backup_dir / "backup"
    began = time.monotonic()
    answer = api.client.post(f"{V}/admin/backup", json={"name": "backup"}, headers=api.auth(ADMIN))
    ended = time.monotonic()
    stop.set()
    thread.join()
    assert not failures, failures
    assert answer.status_code == 200, answer.text
    manifest = answer.json()
    assert manifest["source"]["via"] == "server" and (dest / "manifest.json").is_file()
    during = [t for t in committed if began < t < ended]
    assert during, "no import batch committed while the backup ran: the test did not test concurrency"
    assert len(committed) < len(batches), "the import finished before the backup: make it longer"

    restored = _settings(tmp_path / "restored")
    report = restore_backup(dest, restored)
    assert report.notes == [] and report.moved_aside is None

    # 1. every batch in or out whole, and the ones in are a prefix of the import
    probe = DuckDBWarehouse.open(restored.calls_path)
    try:
        stored_ids = {r[0] for r in probe.raw_sql(
            "SELECT \"docId\" FROM calls WHERE workspace = ?", [source["imports"]]).fetchall()}
        present = [len(stored_ids & set(b.column("docId").to_pylist())) for b in batches]
        whole = [n == b.num_rows for n, b in zip(present, batches, strict=True)]
        assert all(n in (0, b.num_rows) for n, b in zip(present, batches, strict=True)), present
        k = sum(whole)
        assert whole == [True] * k + [False] * (len(batches) - k)
        assert 5 <= k < len(batches) and len(stored_ids) == sum(b.num_rows for b in batches[:k])
        assert manifest["components"]["warehouse"]["rows"]["calls"] == probe.count()
        # 2. the stored call rollups are those of the stored segments
        stored = _stored_tables(probe)
        probe.rebuild_call_rollups()
        assert _stored_tables(probe) == stored
    finally:
        probe.close()

    # 3. the same reports, row for row: the untouched workspace against the source, the one being
    # imported into against a warehouse given exactly the first k batches
    reference = DuckDBWarehouse.open(None)
    for batch in batches[:k]:
        reference.append(source["imports"], batch)
    restored_app = create_app(restored, workers=0)
    try:
        again = restored_app.state.ctx.warehouse
        on_restored = _all_reports(again, source["base"], tmp_path / "r1")
        assert on_restored == _all_reports(warehouse, source["base"], tmp_path / "r2")
        assert any(on_restored.values())
        assert _all_reports(again, source["imports"], tmp_path / "r3") == _all_reports(
            reference, source["imports"], tmp_path / "r4")

        # 4. a server on the restored folder: tokens, the result snapshot, the Webex file and its link
        with TestClient(restored_app) as client:
            auth = {"Authorization": f"Bearer {source['token']}"}
            doc = client.get(f"{V}/workspaces/{source['base']}/requests/{source['request']}/data", headers=auth)
            assert doc.status_code == 200, doc.text
            assert doc.json() == source["document"]
            details = client.get(f"/v1/partner/reports/{source['webex']}", headers=auth).json()
            assert details["status"] == "done" and details["checksum"] == source["webexChecksum"]
            link = details["downloadURL"].split("://", 1)[1].split("/", 1)[1]
            download = client.get("/" + link, headers=auth)
            assert download.status_code == 200 and len(download.content) == details["fileSize"]
    finally:
        restored_app.state.ctx.close()
        reference.close()
    # the key signing download links came across: a link signed by the source works on the restored server
    assert (restored.data_dir / "secret.key").read_bytes() == (source["settings"].data_dir / "secret.key").read_bytes()
    assert oct((restored.data_dir / "secret.key").stat().st_mode & 0o777) == "0o600"


def test_the_endpoint_is_for_system_administrators_and_refuses_bad_targets(source: dict[str, Any],
                                                                           tmp_path: Path) -> None:
    api: Api = source["api"]
    url = f"{V}/admin/backup"
    folder: Path = source["settings"].backup_dir
    assert api.client.post(url, json={"name": "b"}, headers=api.auth(source["token"])).status_code == 403
    # the server writes only inside its CALLBOARD_BACKUP_DIR: a name, never a path
    for bad in ("../b", "/tmp/b", "a/b", "", "x" * 101, "b\x00"):
        r = api.client.post(url, json={"name": bad}, headers=api.auth(ADMIN))
        assert 400 <= r.status_code < 500 and r.status_code != 403, (bad, r.status_code)
        assert "name" in r.text, r.text
    assert api.client.post(url, json={"path": str(tmp_path / "b")}, headers=api.auth(ADMIN)).status_code in (400, 422)
    (folder / "full").mkdir(parents=True)
    (folder / "full" / "x").write_text("x")
    r = api.client.post(url, json={"name": "full"}, headers=api.auth(ADMIN))
    assert r.status_code == 400 and "not empty" in r.json()["message"]
    with backup._running:  # one backup at a time
        r = api.client.post(url, json={"name": "b"}, headers=api.auth(ADMIN))
    assert r.status_code == 409
    assert not (folder / "b").exists() and not (tmp_path / "b").exists()
    # without a backup folder the server takes no backups through the API at all
    api.app.state.ctx.settings.backup_dir = None
    try:
        r = api.client.post(url, json={"name": "b"}, headers=api.auth(ADMIN))
    finally:
        api.app.state.ctx.settings.backup_dir = folder
    assert r.status_code == 403 and "CALLBOARD_BACKUP_DIR" in r.json()["message"]


def test_a_backup_killed_midway_leaves_nothing_restore_accepts(source: dict[str, Any], tmp_path: Path) -> None:
    """kill -9 after the warehouse and metadata are copied, before the manifest: restore refuses."""
    settings: Settings = source["settings"]
    source["app"].state.ctx.close()  # no server: the killed process opens the warehouse itself
    dest = tmp_path / "killed"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from callboard.service import backup\n"
        "from callboard.settings import Settings\n"
        "real = backup._copy_folder\n"
        "def slow(*args, **kwargs):\n"
        "    done = real(*args, **kwargs)\n"
        "    print('copied', flush=True)\n"
        "    time.sleep(120)\n"
        "    return done\n"
        "backup._copy_folder = slow\n"
        "backup.create_backup(Settings(data_dir=Path(sys.argv[1])), Path(sys.argv[2]))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(settings.data_dir), str(dest)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "copied"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (dest / "calls.duckdb").is_file() and (dest / "meta.sqlite").is_file()
    assert not (dest / "manifest.json").exists()
    target = _settings(tmp_path / "restored")
    with pytest.raises(BackupError, match=r"no manifest\.json"):
        restore_backup(dest, target)
    assert not target.data_dir.exists()


def test_damaged_or_unfinished_backups_are_refused_whole(source: dict[str, Any], tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    create_backup(source["settings"], dest, warehouse=source["api"].ctx.warehouse)
    assert read_manifest(dest)["formatVersion"] == 1
    target = _settings(tmp_path / "restored")

    result = next((dest / "results").iterdir())
    original = result.read_bytes()
    result.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(BackupError, match="damaged") as refused:
        restore_backup(dest, target)
    assert any("checksum" in e["description"] for e in refused.value.errors)
    result.unlink()
    with pytest.raises(BackupError, match="damaged"):
        restore_backup(dest, target)
    result.write_bytes(original)

    manifest = dest / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["files"].append({"path": "../outside", "bytes": 1, "sha256": "0"})
    manifest.write_text(json.dumps(doc))
    with pytest.raises(BackupError, match="outside the backup"):
        restore_backup(dest, target)
    manifest.write_text(manifest.read_text()[:200])  # a torn manifest
    with pytest.raises(BackupError, match="not valid JSON"):
        restore_backup(dest, target)
    assert not target.data_dir.exists()


def test_restore_refuses_a_folder_in_use_or_not_empty_unless_forced(source: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    create_backup(source["settings"], dest, warehouse=source["api"].ctx.warehouse)
    with pytest.raises(BackupError, match="not empty"):  # the live folder
        restore_backup(dest, source["settings"])
    (tmp_path / "other").mkdir()
    holder = _hold(tmp_path / "other" / "calls.duckdb")
    try:
        with pytest.raises(WarehouseInUse):  # held by another process: even --force refuses
            restore_backup(dest, _settings(tmp_path / "other"), force=True)
    finally:
        holder.kill()
        holder.wait()

    target = _settings(tmp_path / "restored")
    target.data_dir.mkdir()
    (target.data_dir / "old.txt").write_text("keep me")
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(dest, target)
    report = restore_backup(dest, target, force=True)
    assert report.moved_aside is not None and (report.moved_aside / "old.txt").read_text() == "keep me"
    assert (target.data_dir / "calls.duckdb").is_file()
    assert not list(target.data_dir.glob(".restore-*"))


def test_without_a_server_the_backup_opens_the_files_itself_and_refuses_while_one_holds_them(
        source: dict[str, Any], tmp_path: Path) -> None:
    settings: Settings = source["settings"]
    source["app"].state.ctx.close()
    holder = _hold(settings.calls_path)
    try:
        with pytest.raises(WarehouseInUse, match="callboard backup NAME --url"):
            create_backup(settings, tmp_path / "refused")
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "refused").exists()

    manifest = create_backup(settings, tmp_path / "direct")
    assert manifest["source"]["via"] == "direct"
    assert {f["path"] for f in manifest["files"]} >= {"calls.duckdb", "meta.sqlite", "secret.key"}
    assert any(f["path"].startswith("results/") for f in manifest["files"])
    assert any(f["path"].startswith("webex/") for f in manifest["files"])
    with pytest.raises(BackupError, match="not empty"):
        create_backup(settings, tmp_path / "direct")


def test_a_postgresql_metadata_store_is_named_not_copied(source: dict[str, Any], tmp_path: Path) -> None:
    settings = Settings(data_dir=source["settings"].data_dir, database_url="postgresql://cb:s3cret@db.example/callboard")
    manifest = create_backup(settings, tmp_path / "backup", warehouse=source["api"].ctx.warehouse)
    metadata = manifest["components"]["metadata"]
    assert metadata["included"] is False and "pg_dump" in metadata["note"]
    assert "s3cret" not in json.dumps(manifest)
    assert not (tmp_path / "backup" / "meta.sqlite").exists()
    report = restore_backup(tmp_path / "backup", _settings(tmp_path / "restored"))
    assert any("pg_dump" in note for note in report.notes)



def test_the_command_line_goes_through_a_running_server(source: dict[str, Any], tmp_path: Path) -> None:
    """`callboard serve` in another process holds the warehouse: `callboard backup --url` has it take
    the backup; `callboard restore` then restores it into a new folder."""
    from typer.testing import CliRunner

    from callboard.cli import app as cli

    settings: Settings = source["settings"]
    source["app"].state.ctx.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CALLBOARD_DATA_DIR": str(settings.data_dir), "CALLBOARD_ADMIN_TOKEN": ADMIN,
           "CALLBOARD_WORKERS": "0", "CALLBOARD_BACKUP_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "callboard.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runner = CliRunner()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        data = ["--data-dir", str(settings.data_dir)]
        done = runner.invoke(cli, ["backup", "b", "--url", f"http://127.0.0.1:{port}", *data],
                             env={"CALLBOARD_ADMIN_TOKEN": ADMIN})
        assert done.exit_code == 0, done.output
        assert done.output.strip().splitlines()[-1] == str(tmp_path / "b")
        assert read_manifest(tmp_path / "b")["source"]["via"] == "server"
        refused = runner.invoke(cli, ["backup", str(tmp_path / "c"), *data], env={"CALLBOARD_ADMIN_TOKEN": ADMIN})
        assert refused.exit_code != 0 and "callboard backup NAME --url" in " ".join(refused.output.split())
        assert not (tmp_path / "c" / "manifest.json").exists()
    finally:
        server.terminate()
        server.wait(30)
    restored = tmp_path / "restored"
    done = runner.invoke(cli, ["restore", str(tmp_path / "b"), "--data-dir", str(restored)])
    assert done.exit_code == 0, done.output
    assert done.output.strip().splitlines()[-1] == str(restored)
    again = runner.invoke(cli, ["restore", str(tmp_path / "b"), "--data-dir", str(restored)])
    assert again.exit_code == 2 and "not empty" in again.output
