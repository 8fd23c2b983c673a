"""Wake readers waiting for a request to end (``Prefer: wait``), without polling the store often.

Workers of this process call :func:`announce` once a request's final state is committed. Two kinds of
readers listen:

* a thread waits on :func:`wait` between two reads of the request's row;
* a coroutine awaits :func:`until_ended`, which holds no thread while it waits: the waiters of one
  event loop share one task that reads, in a single query, which of their requests have ended (and
  their rows, handed to the waiters) -- at once when :func:`announce` rings the loop
  (``call_soon_threadsafe``: workers are threads), and at least every ``RECHECK_SECONDS`` for
  requests ended by another process. So a thousand waiters cost one query per announcement or per
  quarter second, not one each.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

log = logging.getLogger("callboard.endings")

RECHECK_SECONDS = 0.25  # upper bound between re-reads when the ending happens in another process

# ``ended(source, keys)`` maps those of ``keys`` that have ended (or are gone) to what their waiters
# are given (``None`` for gone ones); it runs in a thread.
EndedCheck = Callable[[Any, frozenset[Any]], Mapping[Any, Any]]

_ended = threading.Condition()
_announced = 0  # announcements so far: a waiter compares it across its first read (see ``ticket``)

_guard = threading.Lock()  # guards ``_watches``, which announcing threads read
_watches: dict[asyncio.AbstractEventLoop, _Watch] = {}


def announce() -> None:
    """A request has ended (complete, failed or cancelled) and its row is committed."""
    global _announced
    with _ended:
        _announced += 1
        _ended.notify_all()
    with _guard:
        watches = list(_watches.items())
    for loop, watch in watches:
        try:
            loop.call_soon_threadsafe(watch.bell.set)
        except RuntimeError:  # the loop has closed: its waiters are gone with it
            with _guard:
                if _watches.get(loop) is watch:
                    del _watches[loop]


def wait(seconds: float) -> None:
    """Sleep until some request ends in this process, or ``min(seconds, RECHECK_SECONDS)`` passes."""
    with _ended:
        _ended.wait(max(0.0, min(seconds, RECHECK_SECONDS)))


def ticket() -> int:
    """Taken before a coroutine's first read of the row and handed to :func:`until_ended`: an ending
    announced between that read and the wait is then checked at once instead of at the next recheck."""
    return _announced


async def until_ended(ended: EndedCheck, source: Hashable, key: Hashable, seconds: float, *, since: int) -> Any:
    """Wait, holding no thread, until ``key`` is among ``ended(source, …)``'s answer and return what it
    maps ``key`` to; ``None`` after ``seconds`` (or when the answer maps ``key`` to ``None``).

    Waiters passing the same ``ended`` and ``source`` (a function and the store it reads) are checked
    together in one call. ``since`` is the :func:`ticket` taken before the caller last read ``key``.
    """
    if seconds <= 0:
        return None
    loop = asyncio.get_running_loop()
    with _guard:
        watch = _watches.get(loop)
        if watch is None:
            watch = _watches[loop] = _Watch(loop)
    done: asyncio.Future[Any] = loop.create_future()
    group = (ended, source)
    watch.add(group, key, done)
    if since != _announced:
        watch.bell.set()
    try:
        async with asyncio.timeout(seconds):
            return await done
    except TimeoutError:
        return None
    finally:
        watch.remove(group, key, done)


def waiting() -> int:
    """How many coroutines of this process are in :func:`until_ended` now (for diagnostics and tests)."""
    with _guard:
        watches = list(_watches.values())
    # copies made in one step each (atomic under the GIL): the loops' threads change these meanwhile
    return sum(len(futures) for watch in watches for keys in list(watch.waiting.values())
               for futures in list(keys.values()))


class _Watch:
    """The coroutines of one event loop waiting for endings, and the task that checks for them.

    Used on the loop's own thread only, except ``bell``, which other threads set through the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.bell = asyncio.Event()
        self.waiting: dict[tuple[EndedCheck, Hashable], dict[Hashable, set[asyncio.Future[Any]]]] = {}
        self.task: asyncio.Task[None] | None = None

    def add(self, group: tuple[EndedCheck, Hashable], key: Hashable, done: asyncio.Future[Any]) -> None:
        self.waiting.setdefault(group, {}).setdefault(key, set()).add(done)
        if self.task is None:
            self.task = self.loop.create_task(self._run(), name="callboard-endings")

    def remove(self, group: tuple[EndedCheck, Hashable], key: Hashable, done: asyncio.Future[Any]) -> None:
        keys = self.waiting.get(group, {})
        futures = keys.get(key, set())
        futures.discard(done)
        if not futures:
            keys.pop(key, None)
        if not keys:
            self.waiting.pop(group, None)
        if not self.waiting:
            self.bell.set()  # lets the task see there is nobody left and end now

    async def _run(self) -> None:
        try:
            while self.waiting:
                try:
                    async with asyncio.timeout(RECHECK_SECONDS):
                        await self.bell.wait()
                except TimeoutError:
                    pass
                # cleared before checking: an announcement during the check rings again and is not lost
                self.bell.clear()
                for group, keys in list(self.waiting.items()):
                    await self._check(group, frozenset(keys))
        finally:
            self.task = None
            with _guard:
                if not self.waiting and _watches.get(self.loop) is self:
                    del _watches[self.loop]

    async def _check(self, group: tuple[EndedCheck, Hashable], keys: frozenset[Hashable]) -> None:
        ended, source = group
        try:
            # the default executor, not the request threadpool: rechecks keep their pace when the
            # requests' threads are all busy
            found = await asyncio.to_thread(ended, source, keys)
        except Exception:  # a transient store error: the waiters stay, the next recheck tries again
            log.warning("checking %d waited-for request(s) failed", len(keys), exc_info=True)
            return
        waiting = self.waiting.get(group, {})
        for key, value in found.items():
            for done in waiting.get(key, ()):
                if not done.done():
                    done.set_result(value)
