"""Process entry points wired by the CLI: ``serve`` (API + in-process workers) and ``run_worker``."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import threading
from datetime import UTC, datetime
from typing import IO, Any

import uvicorn

from callboard.api.app import create_app
from callboard.service.admin import open_store
from callboard.service.imports import open_warehouse
from callboard.service.local_server import local_url
from callboard.service.scheduling import worker_lanes
from callboard.service.worker import Worker, recover
from callboard.settings import Settings

log = logging.getLogger("callboard")

# Files and folders a server or worker creates are its user's alone (0600/0700): the data folder
# holds call records and token hashes. The CLI sets it for every command too (cli.py).
PRIVATE_UMASK = 0o077


# LogRecord attributes that are not a caller's ``extra=`` fields (uvicorn adds ``color_message``)
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (UTC), ``level``, ``logger``, ``message``,
    ``thread``, any ``extra=`` fields, and ``exception`` (the traceback as one string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def configure_logging(log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler | None:
    """Logging of a server process. ``text``: lines on standard error unless logging is set up
    already (uvicorn formats its own). ``json``: every logger, uvicorn's included, through one
    handler writing a JSON object per line to ``stream`` (standard error), replacing the root
    logger's handlers; returns that handler."""
    root = logging.getLogger()
    if log_format != "json":
        if not root.handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        return None
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


class PortInUse(Exception):
    """The address to listen on is taken (the message says what to do)."""


def check_port(host: str, port: int) -> None:
    """Refuse at once, in one line, an address something else listens on -- before the warehouse is
    opened and uvicorn buries the error among its start-up lines."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError as exc:
            why = exc.strerror or str(exc)
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"cannot listen on {host}:{port}: {why}. Another server (perhaps `callboard "
                                "demo`) uses it: stop it, or choose another port with --port.") from None
            raise PortInUse(f"cannot listen on {host}:{port}: {why}. Choose another address with --host or "
                            "another port with --port.") from None


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the API with uvicorn; ``settings.workers`` report workers run in the same process."""
    os.umask(PRIVATE_UMASK)
    check_port(host, port)
    configure_logging(settings.log_format)
    as_json = settings.log_format == "json"
    # announced in the data folder, so the command line on this machine goes through this process
    app = create_app(settings, announce=not as_json, local_url=local_url(host, port))
    extra: dict[str, Any] = {}
    if as_json:
        extra["log_config"] = None  # uvicorn's loggers propagate to the JSON handler instead of their own
        if app.state.first_admin_token:
            log.warning("created the system administrator token (shown only now; it manages tenants and "
                        "their tokens): %s", app.state.first_admin_token)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, **extra)


def run_worker(settings: Settings, *, stop: threading.Event | None = None, threads: int | None = None) -> None:
    """Run report workers alone until SIGINT/SIGTERM (or ``stop`` is set).

    They share the metadata store (use PostgreSQL for several machines) and the warehouse with the
    API. An embedded DuckDB file can be opened by one process only, so standalone workers need a
    shared engine (``CALLBOARD_ENGINE``); opening a file another process holds raises DuckDB's lock
    error (the CLI explains it: ``service.local_server.lock_message``).
    """
    os.umask(PRIVATE_UMASK)
    configure_logging(settings.log_format)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    # the warehouse first: a data folder another process holds is refused before anything starts
    warehouse = open_warehouse(settings)
    try:
        db = open_store(settings)
    except BaseException:
        warehouse.close()
        raise
    recover(settings, db)  # what a previous process of this host left running is queued again
    count = max(1, threads if threads is not None else settings.workers)
    workers = [Worker(settings, db, warehouse, lanes=lanes) for lanes in worker_lanes(count, settings)]
    pool = [threading.Thread(target=w.run_forever, args=(stop,), name=f"callboard-worker-{n}", daemon=True)
            for n, w in enumerate(workers)]
    for t in pool:
        t.start()
    log.info("%d report worker(s) running; Ctrl-C stops them", count)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        stop.set()
        for t in pool:
            t.join(30)
        warehouse.close()
        db.dispose()
