"""Process entry points wired by the CLI: ``serve`` (API + in-process workers) and ``run_worker``."""

from __future__ import annotations

import logging
import signal
import threading

import uvicorn

from callboard.api.app import create_app
from callboard.service.admin import open_store
from callboard.service.imports import open_warehouse
from callboard.service.worker import Worker
from callboard.settings import Settings

log = logging.getLogger("callboard")


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the API with uvicorn; ``settings.workers`` report workers run in the same process."""
    _configure_logging()
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def run_worker(settings: Settings, *, stop: threading.Event | None = None, threads: int | None = None) -> None:
    """Run report workers alone until SIGINT/SIGTERM (or ``stop`` is set).

    They share the metadata store (use PostgreSQL for several machines) and the warehouse with the
    API. An embedded DuckDB file can be opened by one process only, so standalone workers need a
    shared engine (``CALLBOARD_ENGINE``) or a ``serve`` with ``CALLBOARD_WORKERS=0`` elsewhere.
    """
    _configure_logging()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    db = open_store(settings)
    warehouse = open_warehouse(settings)
    count = max(1, threads if threads is not None else settings.workers)
    workers = [Worker(settings, db, warehouse) for _ in range(count)]
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
