"""Wake readers waiting for a request to end (``Prefer: wait``), without polling the store often.

Workers of this process call :func:`announce` once a request's final state is committed; a reader
waits on :func:`wait` between two reads of the request's row. Requests ended by another process are
still seen, by the reader's own re-read after at most ``RECHECK_SECONDS``.
"""

from __future__ import annotations

import threading

RECHECK_SECONDS = 0.25  # upper bound between re-reads when the ending happens in another process

_ended = threading.Condition()


def announce() -> None:
    """A request has ended (complete, failed or cancelled) and its row is committed."""
    with _ended:
        _ended.notify_all()


def wait(seconds: float) -> None:
    """Sleep until some request ends in this process, or ``min(seconds, RECHECK_SECONDS)`` passes."""
    with _ended:
        _ended.wait(max(0.0, min(seconds, RECHECK_SECONDS)))
