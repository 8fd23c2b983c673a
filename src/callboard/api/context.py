"""What one running application holds: settings, metadata store, warehouse, rate limiter, workers."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from callboard.service.rate_limits import Limiter
from callboard.service.scheduling import worker_lanes
from callboard.service.worker import Worker, wake_workers
from callboard.settings import Settings
from callboard.store.db import Database

log = logging.getLogger("callboard.api")


@dataclass
class AppContext:
    settings: Settings
    db: Database
    warehouse: Any
    limiter: Limiter  # in memory on SQLite, in the store on PostgreSQL (service.rate_limits)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start_workers(self, count: int) -> None:
        """In-process report workers (``callboard serve``), one thread each, in their lanes
        (:func:`service.scheduling.worker_lanes`)."""
        self.stop.clear()
        for n, lanes in enumerate(worker_lanes(count, self.settings)):
            worker = Worker(self.settings, self.db, self.warehouse, lanes=lanes)
            t = threading.Thread(target=worker.run_forever, args=(self.stop,), daemon=True,
                                 name=f"callboard-worker-{n}")
            t.start()
            self.threads.append(t)

    def stop_workers(self, timeout: float = 30.0) -> None:
        self.stop.set()
        wake_workers()  # an idle worker waits for a wake-up or its poll interval
        for t in self.threads:
            t.join(timeout)
        self.threads.clear()

    def close(self) -> None:
        self.stop_workers()
        close = getattr(self.warehouse, "close", None)
        if close:
            close()
        self.limiter.close()
        self.db.dispose()
