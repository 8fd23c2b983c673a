"""Backups of a data folder, taken while the server runs, and restores into a fresh folder.

A backup is a folder holding, each copied in a consistent state of its own:

- ``calls.duckdb``: the DuckDB warehouse, copied with ``COPY FROM DATABASE`` inside one read
  transaction, so it is one committed state (an import is wholly in it or not at all, and the stored
  call rollups agree with the segments) while imports go on;
- ``meta.sqlite``: the metadata store, copied with SQLite's online backup API in one step (one read
  snapshot; the server keeps writing). A PostgreSQL store is not copied: back it up with ``pg_dump``;
- ``results/`` and ``webex/``: the result snapshots and Webex report files (written once under a
  final name, never changed), copied after the metadata, so every result the copied metadata calls
  complete is in the backup (unless it expired meanwhile);
- ``secret.key`` (the key signing Webex download links) and ``demo.json``;
- ``manifest.json``: what was copied, when, by which versions, with every file's size and SHA-256.
  It is written last (a temporary file renamed into place), so a backup that was interrupted has none
  and :func:`restore_backup` refuses it.

DuckDB lets one process open its file. When ``callboard serve`` runs, it holds ``calls.duckdb`` and
another process cannot open it, so the backup runs inside the server (:func:`create_backup` with the
server's warehouse, behind ``POST /api/v1.0/admin/backup``; :func:`backup_via_server` is the client
the CLI uses); when no process holds the file, the CLI runs :func:`create_backup` itself and holds
the file for the copy's duration. Either way the warehouse copies itself
(``DuckDBWarehouse.copy_to``, on a cursor of its own connection), never a second opening of the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select, update
from sqlalchemy.engine import make_url

from callboard import __version__
from callboard.service.errors import Conflict, ServiceError
from callboard.service.imports import open_warehouse
from callboard.settings import Settings
from callboard.store.migrations import alembic_config, upgrade
from callboard.store.models import ReportRequest
from callboard.store.urls import normalise_url
from callboard.warehouse import DuckDBWarehouse, Warehouse
from callboard.webex.models import WebexReport
from callboard.webex.signing import SECRET_FILE

MANIFEST = "manifest.json"
FORMAT = "callboard-backup"
FORMAT_VERSION = 1
WAREHOUSE_FILE = "calls.duckdb"
METADATA_FILE = "meta.sqlite"
RESULTS = "results"
WEBEX = "webex"
DEMO_STATE = "demo.json"
BACKUP_PATH = "/api/v1.0/admin/backup"

_CHUNK = 1 << 20
_running = threading.Lock()  # one backup at a time per process


class BackupError(ServiceError):
    """A backup or restore that cannot go ahead (bad target, incomplete or damaged backup)."""

    status = 400


class WarehouseInUse(Conflict):
    """Another process (a running ``callboard serve``) holds the DuckDB file."""


@dataclass
class RestoreReport:
    data_dir: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    moved_aside: Path | None = None


# ---- backup -----------------------------------------------------------------------------------
def create_backup(settings: Settings, dest: Path, *, warehouse: Warehouse | None = None) -> dict[str, Any]:
    """Back up the deployment of ``settings`` into ``dest`` (a new or empty folder); returns the manifest.

    ``warehouse`` is the running server's (the backup then copies through it); without one the
    warehouse is opened here, which raises :class:`WarehouseInUse` when another process holds it.
    """
    dest = Path(dest).expanduser().absolute()
    data_dir = settings.data_dir.absolute()
    real_dest, real_data = dest.resolve(), data_dir.resolve()
    if real_dest.is_relative_to(real_data) or real_data.is_relative_to(real_dest):
        raise BackupError(f"The backup folder {dest} must lie outside the data folder {data_dir}.")
    if not _has_data(settings):
        raise BackupError(f"{data_dir} holds no callboard data (no {WAREHOUSE_FILE}, no {METADATA_FILE}).")
    if not _running.acquire(blocking=False):
        raise Conflict("A backup is already running.")
    try:
        started = _now()
        if warehouse is not None:
            via, components = "server", _into(dest, lambda: _back_up(settings, dest, warehouse))
        else:
            with _opened_warehouse(settings) as own:  # before touching dest: refused when a server runs
                via, components = "direct", _into(dest, lambda: _back_up(settings, dest, own))
        files = [_entry(dest, p) for p in sorted(_files_under(dest))]
        manifest = {
            "format": FORMAT,
            "formatVersion": FORMAT_VERSION,
            "startedAt": started,
            "finishedAt": _now(),
            "source": {"dataDir": str(data_dir), "host": socket.gethostname(), "via": via},
            "versions": {
                "callboard": __version__,
                "duckdb": duckdb.__version__,
                "sqlite": sqlite3.sqlite_version,
                "python": platform.python_version(),
                "metadataSchema": components["metadata"].get("schema", []),
            },
            "components": components,
            "files": files,
        }
        _write_manifest(dest, manifest)
        return manifest
    finally:
        _running.release()


def _into(dest: Path, copy: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``copy`` into the new or empty folder ``dest``; what it wrote is removed if it fails
    (a process killed meanwhile leaves its files, but no manifest)."""
    _prepare_empty(dest)
    try:
        return copy()
    except BaseException:
        for path in dest.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def _back_up(settings: Settings, dest: Path, warehouse: Warehouse) -> dict[str, Any]:
    """Copy every part into ``dest``: warehouse, then metadata, then the files the metadata names."""
    components: dict[str, Any] = {}
    components["warehouse"] = _back_up_warehouse(warehouse, dest / WAREHOUSE_FILE)
    components["metadata"] = _back_up_metadata(settings, dest / METADATA_FILE)
    components[RESULTS] = _copy_folder(settings.data_dir / RESULTS, dest / RESULTS, suffix=".parquet")
    components[WEBEX] = _copy_folder(settings.data_dir / WEBEX, dest / WEBEX, suffix=".zip")
    components["keys"] = _back_up_keys(settings, dest)
    demo = settings.data_dir / DEMO_STATE
    if demo.is_file():
        _copy_file(demo, dest / DEMO_STATE)
    known = {WAREHOUSE_FILE, WAREHOUSE_FILE + ".wal", METADATA_FILE, METADATA_FILE + "-wal", METADATA_FILE + "-shm",
             METADATA_FILE + "-journal", RESULTS, WEBEX, SECRET_FILE, DEMO_STATE}
    others = sorted(p.name for p in settings.data_dir.iterdir() if p.name not in known)
    if others:
        components["notCopied"] = others
    _fsync_tree(dest)
    return components


@contextmanager
def _opened_warehouse(settings: Settings) -> Iterator[Warehouse]:
    try:
        warehouse = open_warehouse(settings)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise WarehouseInUse(
            f"Another process holds {settings.calls_path} (DuckDB lets one process open it): a running "
            "`callboard serve` takes the backup itself into its CALLBOARD_BACKUP_DIR; ask it with "
            "`callboard backup NAME --url http://HOST:PORT` and a system administrator token "
            "(CALLBOARD_ADMIN_TOKEN).",
            [str(exc).splitlines()[0]],
        ) from None
    try:
        yield warehouse
    finally:
        warehouse.close()


def _back_up_warehouse(warehouse: Warehouse, target: Path) -> dict[str, Any]:
    """The DuckDB warehouse as one committed state, copied while imports continue."""
    if not isinstance(warehouse, DuckDBWarehouse) or warehouse.path is None:
        return {"included": False, "engine": warehouse.name,
                "note": f"The calls live in the {warehouse.name} engine, outside the data folder: back them "
                        "up with that system's own tools."}
    try:
        counts = warehouse.copy_to(target)
    except RuntimeError as exc:
        raise BackupError(f"The warehouse copy failed: {exc}.") from None
    wal = target.with_name(target.name + ".wal")  # checkpointed above: empty if there at all
    if wal.exists() and wal.stat().st_size:
        raise BackupError(f"The warehouse copy left a non-empty {wal.name}.")
    wal.unlink(missing_ok=True)
    target.chmod(0o600)
    return {"included": True, "engine": warehouse.name, "file": WAREHOUSE_FILE, "copiedAt": _now(),
            "method": "COPY FROM DATABASE in one read transaction", "rows": counts}


def _sqlite_path(settings: Settings) -> Path | None:
    url = make_url(normalise_url(settings.metadata_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory metadata store cannot be backed up.")
    return Path(url.database)


def _back_up_metadata(settings: Settings, target: Path) -> dict[str, Any]:
    """The SQLite store through SQLite's online backup API in one step: one read snapshot, taken
    while other connections keep writing. PostgreSQL is left to ``pg_dump``."""
    source = _sqlite_path(settings)
    if source is None:
        url = make_url(normalise_url(settings.metadata_url))
        return {"included": False, "kind": url.get_backend_name(),
                "url": url.render_as_string(hide_password=True),
                "note": "The metadata store is a PostgreSQL database, not copied here: back it up with its own "
                        "tools at the same time, e.g. `pg_dump --format=custom --file=meta.dump DBNAME`, and "
                        "restore it with `pg_restore --clean --dbname=DBNAME meta.dump`."}
    if not source.is_file():
        raise BackupError(f"The metadata store {source} does not exist.")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step, under one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check = dst.execute("PRAGMA quick_check").fetchall()[0][0]
        schema = sorted(r[0] for r in dst.execute("SELECT version_num FROM alembic_version"))
    finally:
        dst.close()
        src.close()
    if check != "ok":
        raise BackupError(f"The copied metadata store fails SQLite's check: {check}")
    target.chmod(0o600)
    return {"included": True, "kind": "sqlite", "file": METADATA_FILE, "copiedAt": _now(),
            "method": "SQLite online backup API", "schema": schema}


def _copy_folder(source: Path, target: Path, *, suffix: str) -> dict[str, Any]:
    """Finished files of a folder (temporary ones start with a dot); a file removed meanwhile (an
    expired result) is skipped."""
    target.mkdir(mode=0o700)
    copied = 0
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.name.startswith(".") or path.suffix != suffix or not path.is_file():
                continue
            try:
                _copy_file(path, target / path.name)
            except FileNotFoundError:
                (target / path.name).unlink(missing_ok=True)
                continue
            copied += 1
    return {"files": copied, "copiedAt": _now()}


def _back_up_keys(settings: Settings, dest: Path) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    secret = settings.data_dir / SECRET_FILE
    if settings.secret_key:
        keys["downloadLinkKey"] = ("CALLBOARD_SECRET_KEY (an environment setting, not in the data folder: "
                                   "keep it with the deployment's configuration)")
    if secret.is_file():
        _copy_file(secret, dest / SECRET_FILE)
        keys["secretKeyFile"] = SECRET_FILE
    keys["adminToken"] = ("CALLBOARD_ADMIN_TOKEN when set is configuration, not data; tokens issued by the "
                          "server are stored (as hashes) in the metadata store")
    return keys


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the admin token goes to the address given, never on to another


def backup_via_server(url: str, token: str, name: str, *, timeout: float = 24 * 3600) -> dict[str, Any]:
    """Ask the server at ``url`` to write a backup named ``name`` inside its ``CALLBOARD_BACKUP_DIR``.
    The request goes straight there: no proxy from the environment, no redirect followed."""
    body = json.dumps({"name": name}).encode()
    request = urllib.request.Request(url.rstrip("/") + BACKUP_PATH, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(request, timeout=timeout) as answer:
            result: dict[str, Any] = json.loads(answer.read())
            return result
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message") or exc.reason
        except ValueError:
            message = exc.reason
        raise BackupError(f"The server at {url} refused the backup ({exc.code}): {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BackupError(f"No callboard server answered at {url} ({reason}).") from None


# ---- restore ----------------------------------------------------------------------------------
def read_manifest(backup: Path) -> dict[str, Any]:
    """The manifest of a complete backup, every file checked against its size and SHA-256."""
    backup = Path(backup)
    path = backup / MANIFEST
    if not path.is_file():
        raise BackupError(f"{backup} is not a complete callboard backup: it has no {MANIFEST} (a backup that "
                          "was interrupted has none).")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise BackupError(f"{path} is not a callboard backup manifest.")
    if manifest.get("formatVersion") != FORMAT_VERSION:
        raise BackupError(f"{path} has format version {manifest.get('formatVersion')}; this callboard reads "
                          f"version {FORMAT_VERSION}.")
    problems = []
    for item in manifest["files"]:
        rel = _safe_relative(item.get("path", ""))
        file = backup / rel
        if not file.is_file():
            problems.append(f"{rel}: missing")
        elif file.stat().st_size != item.get("bytes"):
            problems.append(f"{rel}: {file.stat().st_size} bytes, the manifest says {item.get('bytes')}")
        elif _sha256(file) != item.get("sha256"):
            problems.append(f"{rel}: checksum differs from the manifest")
    if problems:
        raise BackupError(f"{backup} is damaged; nothing was restored.", problems)
    _check_schema(manifest)
    return manifest


def restore_backup(backup: Path, settings: Settings, *, force: bool = False) -> RestoreReport:
    """Restore ``backup`` into ``settings.data_dir``, which must be empty or absent unless ``force``
    (its current contents are then moved into a ``.replaced-<time>`` folder inside it, not deleted).

    The files are checked, copied into a staging folder inside the target, the metadata's file paths
    pointed at the new folder, and only then moved into place. Stop any server using the target first.
    """
    backup = Path(backup).expanduser().absolute()
    manifest = read_manifest(backup)
    target = settings.data_dir.expanduser().absolute()
    existing = sorted(target.iterdir()) if target.is_dir() else []
    if existing and not force:
        raise BackupError(f"{target} is not empty; restore into a new folder, or pass --force to replace its "
                          "contents (they are moved aside, not deleted).")
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is not a folder.")
    if existing:
        _refuse_if_in_use(target)
    report = RestoreReport(target, manifest)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = target / f".restore-{uuid.uuid4().hex[:12]}"
    staging.mkdir(mode=0o700)
    try:
        for item in manifest["files"]:
            rel = _safe_relative(item["path"])
            (staging / rel).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _copy_file(backup / rel, staging / rel)
        metadata = manifest["components"].get("metadata", {})
        if metadata.get("included"):
            _point_paths_at(staging / METADATA_FILE, target)
        else:
            report.notes.append(metadata.get("note", "The metadata store was not in the backup."))
            report.notes.append(f"Result paths recorded in that store name {manifest['source']['dataDir']}: restore "
                                "into that same path, or results will read as expired.")
        if settings.database_url and metadata.get("included"):
            report.notes.append(f"CALLBOARD_DATABASE_URL is set, so the server will not read the restored "
                                f"{METADATA_FILE}; unset it to use the restored metadata.")
        warehouse = manifest["components"].get("warehouse", {})
        if not warehouse.get("included"):
            report.notes.append(warehouse.get("note", "The warehouse was not in the backup."))
        if "downloadLinkKey" in manifest["components"].get("keys", {}):
            report.notes.append("The backed-up server signed download links with CALLBOARD_SECRET_KEY: set the same "
                                "value, or links issued before the backup stop working (they expire anyway).")
        _fsync_tree(staging)
        if existing:
            aside = target / f".replaced-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
            aside.mkdir(mode=0o700)
            for path in existing:
                path.rename(aside / path.name)
            report.moved_aside = aside
        # the warehouse last: a folder with calls.duckdb in it was restored whole
        order = sorted(staging.iterdir(), key=lambda p: (p.name == WAREHOUSE_FILE, p.name))
        for path in order:
            path.rename(target / path.name)
        staging.rmdir()
        _fsync_dir(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _refuse_if_in_use(target: Path) -> None:
    calls = target / WAREHOUSE_FILE
    if not calls.exists():
        return
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_sql_string(str(calls))} AS probe (READ_ONLY)")
        con.execute("DETACH probe")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseInUse(f"A process holds {calls}: stop the server using {target} before restoring "
                                 "into it.") from None
        raise
    finally:
        con.close()


def _point_paths_at(metadata: Path, data_dir: Path) -> None:
    """Bring the restored metadata to this version's schema (as the server would at start) and
    point its result and Webex file paths at the same files in ``data_dir``."""
    url = f"sqlite:///{metadata}"
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for rid, old in conn.execute(select(ReportRequest.id, ReportRequest.snapshot_path)
                                         .where(ReportRequest.snapshot_path.is_not(None))).all():
                conn.execute(update(ReportRequest).where(ReportRequest.id == rid)
                             .values(snapshot_path=str(data_dir / RESULTS / Path(str(old)).name)))
            for rid, old in conn.execute(select(WebexReport.id, WebexReport.file_path)
                                         .where(WebexReport.file_path.is_not(None))).all():
                conn.execute(update(WebexReport).where(WebexReport.id == rid)
                             .values(file_path=str(data_dir / WEBEX / Path(str(old)).name)))
    finally:
        engine.dispose()


def _check_schema(manifest: dict[str, Any]) -> None:
    """Refuse a metadata schema this version does not know (a backup made by a newer callboard)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in manifest.get("versions", {}).get("metadataSchema", []) if rev not in known]
    if unknown:
        made_by = manifest.get("versions", {}).get("callboard", "?")
        raise BackupError(f"The backup's metadata schema ({', '.join(unknown)}) is newer than this callboard "
                          f"knows: it was made by callboard {made_by}; restore it with that version or newer.")


# ---- files --------------------------------------------------------------------------------------
def _has_data(settings: Settings) -> bool:
    sqlite = _sqlite_path(settings)
    return settings.calls_path.exists() or (sqlite.exists() if sqlite is not None else settings.data_dir.is_dir())


def _prepare_empty(dest: Path) -> None:
    if dest.exists():
        if not dest.is_dir():
            raise BackupError(f"{dest} exists and is not a folder.")
        if any(dest.iterdir()):
            raise BackupError(f"{dest} is not empty: back up into a new or empty folder.")
        dest.chmod(0o700)
    else:
        dest.mkdir(mode=0o700, parents=True)


def _copy_file(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst, _CHUNK)
        dst.flush()
        os.fsync(dst.fileno())


def _files_under(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def _entry(root: Path, path: Path) -> dict[str, Any]:
    return {"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_relative(text: str) -> Path:
    rel = Path(text)
    if not text or rel.is_absolute() or ".." in rel.parts:
        raise BackupError(f"The manifest names a file outside the backup: {text!r}.")
    return rel


def _write_manifest(dest: Path, manifest: dict[str, Any]) -> None:
    """Written last, whole or not at all: a temporary file, flushed, renamed into place."""
    temp = dest / f".{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
    with temp.open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    temp.chmod(0o600)
    temp.rename(dest / MANIFEST)
    _fsync_dir(dest)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        _fsync_dir(folder)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
