"""Who runs which report when: lanes by expected cost, a per-tenant cap, and who may jump the queue.

A server runs ``CALLBOARD_WORKERS`` reports at once, each on a cursor of its own (the embedded engine
runs queries of several cursors concurrently). Without more, a few year-long call lists could take
every worker and a dashboard's 50 ms summaries would queue behind them. So:

* **Lanes by expected cost.** A request's *lane* is set when it is submitted: ``long`` when its
  period covers more than ``CALLBOARD_LONG_REPORT_DAYS`` days, else ``short``. At most
  ``CALLBOARD_LONG_REPORT_RUNS`` workers take long requests (they take short ones when no long one
  waits); every other worker takes short ones only. A short report therefore never waits for a long
  one to end: at worst it shares the processor with the long ones running.
* **The long lane yields the processor.** The threads running long reports lower their own
  scheduling priority (Linux ``nice``, per thread): when a short report runs beside them, it gets the
  cores first; alone, a long report still uses every core.
* **A per-tenant cap.** A tenant has at most ``CALLBOARD_TENANT_CONCURRENT_RUNS`` requests running at
  once; its further requests wait while other tenants' requests are claimed.
* **``priorityLevel`` 1 is not free.** It goes before 2 and 3 in the queue, so only tokens granted
  the ``reports:priority`` scope may ask for it (a tenant administrator decides who); others get 403
  naming the field.

The period is the cost measure because it is known at submission without touching the engine, and
on call data it is what the work grows with (a year holds twelve months of segments); a template's
own weight is second-order next to it (see docs/performance.md, "Concurrent reports").
"""

from __future__ import annotations

import logging
import os
import threading

from callboard.reports.dates import ResolvedPeriod
from callboard.service.auth import PRIORITY_REPORTS, Principal
from callboard.service.errors import Forbidden
from callboard.settings import Settings

log = logging.getLogger("callboard.scheduling")

SHORT = "short"
LONG = "long"
LANES = (SHORT, LONG)

PRIORITY_SCOPE = PRIORITY_REPORTS
PRIORITY_HIGH = 1

# How much a long-lane thread lowers its priority (``nice`` is 0..19; 10 leaves a short report on the
# same cores roughly nine tenths of the processor while it runs, and costs a lone long report nothing).
LONG_LANE_NICE = 10


def lane_for(period: ResolvedPeriod | None, settings: Settings) -> str:
    """The lane of a request over ``period`` (None: the whole history, a long report)."""
    if period is None:
        return LONG
    days = (period.end_utc - period.start_utc).total_seconds() / 86400.0
    return LONG if days > settings.long_report_days else SHORT


def check_priority(priority: int, principal: Principal | None) -> None:
    """Refuse ``priorityLevel`` 1 to a caller without the ``reports:priority`` scope (403 naming the
    field and the way out). ``principal`` None: the operator's own command line, always allowed."""
    if priority != PRIORITY_HIGH or principal is None or principal.allows(PRIORITY_SCOPE):
        return
    raise Forbidden(
        "priorityLevel 1 needs a token with the reports:priority scope.",
        ["Send priorityLevel 2 (the default) or 3, or ask the tenant's administrator for a token with "
         "the reports:priority scope."],
    )


def worker_lanes(count: int, settings: Settings) -> list[tuple[str, ...]]:
    """The lanes each of ``count`` workers takes from: the first ``long_report_runs`` (never all of
    them when there are two or more, so short reports always have a worker) take long requests first
    and short ones when none waits; the rest take short ones only."""
    if count <= 0:
        return []
    long_runs = min(settings.long_report_runs, count - 1) if count > 1 else 1
    return [(LONG, SHORT) if n < long_runs else (SHORT,) for n in range(count)]


def yield_processor() -> None:
    """Lower the calling thread's scheduling priority (long lane). Linux gives every thread its own
    nice value; elsewhere this would renice the whole process, so it is skipped."""
    if not hasattr(os, "setpriority") or not os.path.exists("/proc/self/task"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LONG_LANE_NICE)
    except OSError as exc:  # a container may forbid it; the lanes still keep short reports moving
        log.warning("could not lower the long lane's priority: %s", exc)
