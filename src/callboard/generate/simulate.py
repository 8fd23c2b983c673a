"""The call simulation: one calendar month at a time, vectorised with numpy.

Per month: arrivals per (day, kind) from the patterns → hunt-group ringing resolved for whole
arrays of calls at once (an n × agents matrix) → callers who ring again and agents who call back →
trunk lines allocated to external calls (the one sequential step; blocked calls become busy/lost) →
expansion into segments → one Arrow table of ``SEGMENT_SCHEMA`` sorted by start.

A month is always simulated whole, from its own random stream and with every trunk line free at
its start, and then cut to the requested days: so a call is the same record (same ids, same
values) in every period that includes its day, and periods that overlap generate the overlap
identically.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from callboard.calls.schema import (
    CALL_TYPE_EXTERNAL,
    CALL_TYPE_INTERNAL,
    DIR_INCOMING,
    DIR_INTERNAL,
    DIR_OUTGOING,
    SEGMENT_SCHEMA,
)
from callboard.generate.config import OrgConfig, lines_for
from callboard.generate.org import Organisation, month_id_prefixes
from callboard.generate.patterns import DAY, EPOCH, KINDS, PROFILES, LocalClock, expected_calls

HG, DIRECT, OUT, INTERNAL = 0, 1, 2, 3
E164, NATIONAL, WITHHELD = 0, 1, 2

_CDFS = {k: np.cumsum(PROFILES[k]) for k in KINDS}


def _lognormal_int(rng: np.random.Generator, median: float, sigma: float, size: int | tuple[int, ...],
                   lo: float, hi: float) -> np.ndarray:
    """Whole seconds drawn log-normally (CDRs carry whole seconds), clipped to [lo, hi]."""
    return np.clip(np.rint(rng.lognormal(np.log(median), sigma, size)), lo, hi).astype(np.int64)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_chunks(start: date, days: int) -> list[tuple[date, date]]:
    """[first, end) local-date ranges of the generated period, split at calendar months."""
    out = []
    cur, end = start, start + timedelta(days=days)
    while cur < end:
        nxt = next_month(cur)
        out.append((cur, min(nxt, end)))
        cur = min(nxt, end)
    return out


def busy_hour_traffic(config: OrgConfig) -> float:
    """Erlangs of external traffic in the busiest hour of ``config``'s period (for sizing trunks)."""
    exp = expected_calls(config)
    peak_day = exp.max(axis=0)  # calls per kind on the busiest day
    hourly = {k: PROFILES[k].reshape(24, 60).sum(axis=1) for k in KINDS}
    # Mean trunk holding times (s): ringing + talk of answered calls, from the simulation's laws.
    holding = {"hunt_group": 250.0, "direct": 200.0, "outgoing": 160.0}
    calls_per_hour = sum(peak_day[i] * hourly[k] * (1.3 if k == "hunt_group" else 1.0)
                         for i, k in enumerate(KINDS) if k in holding)
    mean_hold = sum(peak_day[i] * holding[k] for i, k in enumerate(KINDS) if k in holding) / max(
        1e-9, sum(peak_day[i] for i, k in enumerate(KINDS) if k in holding))
    # Daily volume noise pushes some days above the mean: size for a day ~2 sd busier.
    return float(calls_per_hour.max()) * mean_hold / 3600.0 * 1.25


def trunk_lines_for(config: OrgConfig, year: int | None = None) -> int:
    """Trunk lines in calendar ``year`` (default: the year ``config`` starts in): ``trunk_lines``
    when set, else Erlang-B sized for ``trunk_blocking`` at that year's busiest hour. Sized per
    calendar year, not per generated period, so a month's calls never depend on the period."""
    if config.trunk_lines is not None:
        return config.trunk_lines
    year = config.start.year if year is None else year
    first = date(year, 1, 1)
    whole_year = config.with_(start=first, days=(date(year + 1, 1, 1) - first).days)
    return lines_for(busy_hour_traffic(whole_year), config.trunk_blocking)


@dataclass
class _Ringing:
    """Outcome of hunt-group calls, one entry per call."""

    t0: np.ndarray
    group: np.ndarray
    caller: np.ndarray
    presentation: np.ndarray
    first_agent: np.ndarray
    n_legs: np.ndarray
    last_ring: np.ndarray
    answered: np.ndarray
    talk: np.ndarray
    hold: np.ndarray

    @property
    def length(self) -> np.ndarray:
        """Whole call length from arrival: every leg rung plus the talk."""
        return self.wait + self.talk

    wait: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


@dataclass
class _Simple:
    """Single-segment calls (direct-dial incoming, outgoing, internal), one entry per call."""

    t0: np.ndarray
    user: np.ndarray  # owner of the segment
    other: np.ndarray  # caller/called: caller index (external) or user index (internal)
    presentation: np.ndarray  # how ``other``'s number is shown / dialled
    answered: np.ndarray
    ring: np.ndarray
    talk: np.ndarray
    hold: np.ndarray
    account: np.ndarray  # index into account codes or -1

    @property
    def length(self) -> np.ndarray:
        return self.ring + self.talk


_Calls = TypeVar("_Calls", _Ringing, _Simple)


def _concat(items: list[_Calls], cls: type[_Calls]) -> _Calls:
    names = [f for f in cls.__dataclass_fields__]
    return cls(**{f: np.concatenate([getattr(i, f) for i in items]) for f in names})


class ChunkSimulator:
    """Generates the organisation's calls month by month (``chunks``: the requested days of each
    month); ``chunk(i)`` depends on nothing but the config and its month."""

    def __init__(self, config: OrgConfig) -> None:
        self.config = config
        chunks = month_chunks(config.start, config.days)
        self.chunks = chunks
        years = range(chunks[0][0].year, chunks[-1][0].year + 1)
        self.lines_by_year = {y: trunk_lines_for(config, y) for y in years}
        self.org = Organisation.build(config, max(self.lines_by_year.values()))
        self.clock = LocalClock(config.time_zone, month_start(chunks[0][0]), next_month(chunks[-1][0]))
        g = self.org.groups
        self.n_groups = len(g)
        width = max((len(x.members) for x in g), default=1)
        self.members = np.zeros((max(1, len(g)), width), dtype=np.int64)
        for i, x in enumerate(g):
            self.members[i, : len(x.members)] = x.members
        self.g_size = np.array([len(x.members) for x in g] or [1])
        self.g_timeout = np.array([x.ring_timeout for x in g] or [15])
        self.g_avail = np.array([x.availability for x in g] or [0.6])
        self.g_legs = np.array([x.max_legs for x in g] or [2])
        # Chance that a free agent picks up before the group's timeout (pick-up delay ~ LN(6 s, 0.55)).
        z = (np.log(self.g_timeout) - np.log(6.0)) / 0.55
        self._in_time = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
        w = np.array([x.weight for x in g] or [1.0])
        self.g_weight = w / w.sum()
        # Trunk state (reset at each month's start): min-heap of (end, line) busy lines, free lines.
        self._busy: list[tuple[int, int]] = []
        self._free: list[int] = []
        self._lookups = self._build_lookups()

    # ---- helpers --------------------------------------------------------------------------------
    def _arrivals(self, rng: np.random.Generator, days: np.ndarray, counts: np.ndarray, kind: str
                  ) -> np.ndarray:
        """UTC start seconds of ``counts[i]`` calls on local day ``days[i]``, following the kind's
        intraday profile in local time (converted DST-correctly)."""
        n = int(counts.sum())
        day = np.repeat(days, counts)
        minute = np.searchsorted(_CDFS[kind], rng.random(n), side="right")
        local = day * DAY + np.minimum(minute, 1439) * 60 + rng.integers(0, 60, n)
        return self.clock.to_utc(local)

    def _callers(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Which external party, and how their number is presented (E.164, national, withheld)."""
        org, cfg = self.org, self.config
        caller = np.searchsorted(np.cumsum(org.caller_popularity), rng.random(n) * org.caller_popularity.sum())
        caller = np.minimum(caller, len(org.caller_popularity) - 1)
        u = rng.random(n)
        pres = np.where(u < cfg.withheld_share, WITHHELD,
                        np.where(u < cfg.withheld_share + cfg.national_format_share, NATIONAL, E164))
        return caller.astype(np.int64), pres.astype(np.int8)

    def _users(self, rng: np.random.Generator, n: int) -> np.ndarray:
        cdf = np.cumsum(self.org.user_activity)
        return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1]), self.config.users - 1)

    def _ring(self, rng: np.random.Generator, t0: np.ndarray, group: np.ndarray, caller: np.ndarray,
              pres: np.ndarray) -> _Ringing:
        """Ring agents of each call's group in turn (rotary from a random agent). Each leg an agent
        is free with the group's availability and picks up after a short delay; the caller hangs
        up after a log-normal patience; after ``max_legs`` the call overflows unanswered."""
        n = len(t0)
        timeout = self.g_timeout[group]
        legs_lim = self.g_legs[group]
        # A leg succeeds when its agent is free and picks up before the timeout; only the first
        # success matters, so draw its index geometrically instead of simulating every leg.
        delay = _lognormal_int(rng, 6.0, 0.55, n, 1, 600)
        slow = delay >= timeout
        delay = np.where(slow, rng.integers(1, timeout), delay)  # the pick-up that beat the timeout
        p_pickup = self.g_avail[group] * self._in_time[group]
        first = rng.geometric(p_pickup) - 1
        patience = _lognormal_int(rng, 75.0, 0.9, n, 2, 3600)
        answered = (first < legs_lim) & (first * timeout + delay <= patience)
        end_wait = np.minimum(patience, legs_lim * timeout)
        last_unans = np.minimum((end_wait - 1) // timeout, legs_lim - 1)
        n_legs = np.where(answered, first + 1, last_unans + 1)
        last_ring = np.where(answered, delay, end_wait - last_unans * timeout)
        talk = np.where(answered, _lognormal_int(rng, 170.0, 0.85, n, 5, 3 * 3600), 0)
        hold = np.where(answered & (rng.random(n) < 0.12),
                        np.minimum(talk // 2, _lognormal_int(rng, 45.0, 0.7, n, 5, 1200)), 0)
        return _Ringing(t0=t0, group=group, caller=caller, presentation=pres,
                        first_agent=rng.integers(0, self.g_size[group]), n_legs=n_legs,
                        last_ring=last_ring, answered=answered, talk=talk, hold=hold,
                        wait=(n_legs - 1) * timeout + last_ring)

    def _simple(self, rng: np.random.Generator, t0: np.ndarray, user: np.ndarray, other: np.ndarray,
                pres: np.ndarray, *, answer_rate: float, ring_median: float, unanswered_ring: float,
                talk_median: float, account_share: float = 0.0) -> _Simple:
        n = len(t0)
        answered = rng.random(n) < answer_rate
        ring = np.where(answered, _lognormal_int(rng, ring_median, 0.5, n, 1, 60),
                        _lognormal_int(rng, unanswered_ring, 0.35, n, 2, 90))
        talk = np.where(answered, _lognormal_int(rng, talk_median, 0.9, n, 3, 3 * 3600), 0)
        hold = np.where(answered & (rng.random(n) < 0.06),
                        np.minimum(talk // 2, _lognormal_int(rng, 40.0, 0.7, n, 5, 900)), 0)
        codes = len(self.config.account_codes)
        account = np.where(rng.random(n) < account_share, rng.integers(0, max(codes, 1), n), -1)
        return _Simple(t0=t0, user=user, other=other, presentation=pres, answered=answered, ring=ring,
                       talk=talk, hold=hold, account=account)

    def _next_business_time(self, rng: np.random.Generator, utc: np.ndarray) -> np.ndarray:
        """Move times outside 08:30–17:30 local or at weekends to the next working morning."""
        local = self.clock.to_local(utc)
        day, tod = local // DAY, local % DAY
        late = tod >= 17 * 3600 + 1800
        early = tod < 8 * 3600 + 1800
        day = day + late
        morning = 9 * 3600 + rng.integers(0, 5400, len(utc))
        tod = np.where(late | early, morning, tod)
        dow = (day + 3) % 7
        day = day + np.where(dow >= 5, 7 - dow, 0)
        tod = np.where(dow >= 5, morning, tod)
        return self.clock.to_utc(day * DAY + tod)

    # ---- one chunk ------------------------------------------------------------------------------
    def chunk(self, index: int) -> pa.Table:
        """The calls starting on the days of ``chunks[index]``: its whole month simulated, then cut."""
        cfg = self.config
        first, end = self.chunks[index]
        month = month_start(first)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([cfg.seed, 3, month.year, month.month])))
        days = np.arange((month - EPOCH).days, (next_month(month) - EPOCH).days)
        end_utc = int(self.clock.to_utc(np.array([days[-1] * DAY + DAY]))[0])
        noise = rng.gamma(60.0, 1.0 / 60.0, len(days))
        counts = rng.poisson(expected_calls(cfg, days) * noise[:, None])

        # Hunt-group calls, then the callers who ring again (two rounds).
        rounds: list[_Ringing] = []
        callbacks_from: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (time, group, caller)
        if self.n_groups:
            t0 = self._arrivals(rng, days, counts[:, HG], KINDS[HG])
            group = np.minimum(np.searchsorted(np.cumsum(self.g_weight), rng.random(len(t0))),
                               self.n_groups - 1)
            caller, pres = self._callers(rng, len(t0))
            current = self._ring(rng, t0, group, caller, pres)
            for rnd in range(3):
                rounds.append(current)
                lost = np.flatnonzero(~current.answered & (current.presentation != WITHHELD))
                lost_end = current.t0[lost] + current.wait[lost]
                retry = rng.random(len(lost)) < (cfg.retry_share if rnd < 2 else 0.0) * (0.6 ** rnd)
                back = ~retry & (rng.random(len(lost)) < cfg.callback_share)
                callbacks_from.append((lost_end[back], current.group[lost[back]], current.caller[lost[back]]))
                again = lost[retry]
                t_again = lost_end[retry] + _lognormal_int(rng, 600.0, 1.0, len(again), 30, 6 * 3600)
                keep = t_again < end_utc
                if not keep.any():
                    break
                again, t_again = again[keep], t_again[keep]
                current = self._ring(rng, t_again, current.group[again], current.caller[again],
                                     current.presentation[again])
        hg = _concat(rounds, _Ringing) if rounds else None

        # Direct-dial incoming, outgoing (plus agents' call-backs), internal.
        t_dd = self._arrivals(rng, days, counts[:, DIRECT], KINDS[DIRECT])
        caller, pres = self._callers(rng, len(t_dd))
        direct = self._simple(rng, t_dd, self._users(rng, len(t_dd)), caller, pres, answer_rate=0.8,
                              ring_median=8.0, unanswered_ring=20.0, talk_median=150.0)

        t_out = self._arrivals(rng, days, counts[:, OUT], KINDS[OUT])
        callee, _ = self._callers(rng, len(t_out))
        dial = np.where(rng.random(len(t_out)) < 0.7, NATIONAL, E164).astype(np.int8)
        outs = [self._simple(rng, t_out, self._users(rng, len(t_out)), callee, dial, answer_rate=0.72,
                             ring_median=9.0, unanswered_ring=25.0, talk_median=130.0,
                             account_share=cfg.account_code_share)]
        if callbacks_from:
            lost_end = np.concatenate([c[0] for c in callbacks_from])
            group = np.concatenate([c[1] for c in callbacks_from])
            callee = np.concatenate([c[2] for c in callbacks_from])
            delay = _lognormal_int(rng, 2400.0, 0.9, len(lost_end), 120, 20 * 3600)
            t_cb = self._next_business_time(rng, lost_end + delay)
            keep = t_cb < end_utc
            group, callee, t_cb = group[keep], callee[keep], t_cb[keep]
            agent = self.members[group, rng.integers(0, self.g_size[group])]
            dial = np.where(rng.random(len(t_cb)) < 0.75, NATIONAL, E164).astype(np.int8)
            outs.append(self._simple(rng, t_cb, agent, callee, dial, answer_rate=0.68, ring_median=9.0,
                                     unanswered_ring=25.0, talk_median=160.0,
                                     account_share=cfg.account_code_share))
        out = _concat(outs, _Simple)

        t_in = self._arrivals(rng, days, counts[:, INTERNAL], KINDS[INTERNAL])
        callee_u = self._users(rng, len(t_in))
        caller_u = (callee_u + rng.integers(1, cfg.users, len(t_in))) % cfg.users
        internal = self._simple(rng, t_in, callee_u, caller_u, np.zeros(len(t_in), np.int8),
                                answer_rate=0.8, ring_median=5.0, unanswered_ring=18.0, talk_median=75.0)

        # Calls in start order (ties: kind, then index) → call ranks and trunk allocation.
        parts: list[tuple[int, _Ringing | _Simple | None]] = [
            (HG, hg), (DIRECT, direct), (OUT, out), (INTERNAL, internal)]
        t_all = np.concatenate([p.t0 for _, p in parts if p is not None])
        kind_all = np.concatenate([np.full(len(p.t0), k, np.int8) for k, p in parts if p is not None])
        len_all = np.concatenate([p.length for _, p in parts if p is not None])
        order = np.lexsort((np.arange(len(t_all)), kind_all, t_all))
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        external = order[kind_all[order] != INTERNAL]
        line = np.full(len(t_all), -1, np.int64)
        self._busy, self._free = [], list(range(self.lines_by_year[month.year]))[::-1]
        line[external] = self._allocate(t_all[external], t_all[external] + len_all[external])
        # The requested days of the month: calls whose start falls on them, by call rank.
        lo, hi = self.clock.to_utc(np.array([(first - EPOCH).days * DAY, (end - EPOCH).days * DAY]))
        in_range = np.empty(len(t_all), bool)
        in_range[rank] = (t_all >= lo) & (t_all < hi)
        offsets = np.cumsum([0] + [len(p.t0) for _, p in parts if p is not None])
        segs = []
        i = 0
        for k, p in parts:
            if p is None:
                continue
            sl = slice(offsets[i], offsets[i + 1])
            i += 1
            segs.append(self._segments(k, p, rank[sl], line[sl]))
        return self._table(month, segs, in_range)

    def _allocate(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Give each external call (in start order) a trunk line, or -1 when every line is busy.

        Sequential by nature, so kept to one heap operation per call: lines never used yet come
        from ``_free``; otherwise the line whose call ends first is reused if that call has ended.
        """
        busy, free = self._busy, self._free
        push, replace = heapq.heappush, heapq.heapreplace
        out: list[int] = []
        append = out.append
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            if free:
                ln = free.pop()
                push(busy, (e, ln))
                append(ln)
            elif busy[0][0] <= s:
                ln = busy[0][1]
                replace(busy, (e, ln))
                append(ln)
            else:
                append(-1)
        return np.array(out, dtype=np.int64)

    # ---- segments -------------------------------------------------------------------------------
    def _build_lookups(self) -> tuple[pa.Array, pa.Array, dict[str, int]]:
        """One string table for numbers and one for names; segments index into them."""
        org = self.org
        p, u, g = len(org.callers_e164), self.config.users, self.n_groups
        numbers = np.concatenate([
            org.callers_e164, org.callers_national, org.user_ddis,
            np.array([x.ddi for x in org.groups], dtype=object), org.user_exts,
            np.array([x.number for x in org.groups], dtype=object),
        ])
        names = np.concatenate([
            org.caller_names, org.user_names, np.array([x.name for x in org.groups], dtype=object),
            np.array(["anonymous", self.config.name], dtype=object),
        ])
        base = {"e164": 0, "national": p, "user_ddi": 2 * p, "group_ddi": 2 * p + u,
                "ext": 2 * p + u + g, "group_num": 2 * p + 2 * u + g,
                "caller_name": 0, "user_name": p, "group_name": p + u, "anonymous": p + u + g,
                "org_name": p + u + g + 1}
        return pa.array(numbers.tolist(), pa.string()), pa.array(names.tolist(), pa.string()), base

    def _caller_cols(self, caller: np.ndarray, pres: np.ndarray) -> dict[str, np.ndarray]:
        """cli/cliName and callUserNum/Name of external callers as presented."""
        _, _, b = self._lookups
        num = np.where(pres == WITHHELD, -1, np.where(pres == NATIONAL, b["national"], b["e164"]) + caller)
        named = self.org.caller_names[caller] != ""
        return {
            "cli": num,
            "cliName": np.where(pres == WITHHELD, b["anonymous"], b["caller_name"] + caller),
            "callUserNum": num,
            "callUserName": np.where((pres != WITHHELD) & named, b["caller_name"] + caller, -1),
        }

    def _segments(self, kind: int, p: object, rank: np.ndarray, line: np.ndarray) -> dict[str, np.ndarray]:
        _, _, b = self._lookups
        if kind == HG:
            assert isinstance(p, _Ringing)
            blocked = line < 0
            n_legs = np.where(blocked, 1, p.n_legs)
            total = int(n_legs.sum())
            rep = np.repeat(np.arange(len(n_legs)), n_legs)
            leg = np.arange(total) - np.repeat(np.cumsum(n_legs) - n_legs, n_legs)
            last = leg == n_legs[rep] - 1
            grp = p.group[rep]
            timeout = self.g_timeout[grp]
            agent = self.members[grp, (p.first_agent[rep] + leg) % self.g_size[grp]]
            blk = blocked[rep]
            answered = p.answered[rep] & ~blk
            ring = np.where(blk, 0, np.where(last, p.last_ring[rep], timeout))
            ans = last & answered
            cols = {
                "call": rank[rep], "leg": leg, "start": p.t0[rep] + leg * timeout,
                "ring": ring, "duration": ring + np.where(ans, p.talk[rep], 0),
                "hold": np.where(ans, p.hold[rep], 0),
                # A call refused at the trunk never reached an agent: the group owns the segment.
                "userName": np.where(blk, b["group_name"] + grp, b["user_name"] + agent),
                "userNum": np.where(blk, b["group_num"] + grp, b["ext"] + agent),
                "hgNum": b["group_num"] + grp, "hgName": b["group_name"] + grp,
                "callType": np.full(total, CALL_TYPE_EXTERNAL), "callDir": np.full(total, DIR_INCOMING),
                "ans": ans, "ref": ~last, "lost": last & ~answered,
                "calledUserNum": b["group_ddi"] + grp, "calledUserName": b["group_name"] + grp,
                "accountCode": np.full(total, -1), "trunk": line[rep],
            }
            cols |= self._caller_cols(p.caller[rep], p.presentation[rep])
            return cols
        assert isinstance(p, _Simple)
        n = len(p.t0)
        blocked = line < 0 if kind != INTERNAL else np.zeros(n, bool)
        answered = p.answered & ~blocked
        ring = np.where(blocked, 0, p.ring)
        cols = {
            "call": rank, "leg": np.zeros(n, np.int64), "start": p.t0, "ring": ring,
            "duration": ring + np.where(answered, p.talk, 0), "hold": np.where(answered, p.hold, 0),
            "userName": b["user_name"] + p.user, "userNum": b["ext"] + p.user,
            "hgNum": np.full(n, -1), "hgName": np.full(n, -1),
            "ans": answered, "ref": np.zeros(n, bool), "accountCode": np.full(n, -1),
            "trunk": line,
        }
        if kind == DIRECT:
            cols |= self._caller_cols(p.other, p.presentation)
            cols |= {"callType": np.full(n, CALL_TYPE_EXTERNAL), "callDir": np.full(n, DIR_INCOMING),
                     "lost": ~answered, "calledUserNum": b["user_ddi"] + p.user,
                     "calledUserName": b["user_name"] + p.user}
        elif kind == OUT:
            # The user dialled the number (mostly in national format); the org presents their DDI.
            named = self.org.caller_names[p.other] != ""
            cols |= {"callType": np.full(n, CALL_TYPE_EXTERNAL), "callDir": np.full(n, DIR_OUTGOING),
                     "lost": np.zeros(n, bool),
                     "cli": b["user_ddi"] + p.user, "cliName": b["user_name"] + p.user,
                     "calledUserNum": np.where(p.presentation == NATIONAL, b["national"], b["e164"]) + p.other,
                     "calledUserName": np.where(named, b["caller_name"] + p.other, -1),
                     "callUserNum": b["ext"] + p.user, "callUserName": b["user_name"] + p.user,
                     "accountCode": p.account}
        else:
            cols |= {"callType": np.full(n, CALL_TYPE_INTERNAL), "callDir": np.full(n, DIR_INTERNAL),
                     "lost": ~answered,
                     "cli": b["ext"] + p.other, "cliName": b["user_name"] + p.other,
                     "calledUserNum": b["ext"] + p.user, "calledUserName": b["user_name"] + p.user,
                     "callUserNum": b["ext"] + p.other, "callUserName": b["user_name"] + p.other}
        return cols

    def _table(self, month: date, segs: list[dict[str, np.ndarray]], in_range: np.ndarray) -> pa.Table:
        """Concatenate, sort by (start, call, leg), assign ids (ranks in the whole month), keep the
        segments of calls ``in_range`` (by call rank) and build the Arrow table."""
        cols = {k: np.concatenate([s[k] for s in segs]) for k in segs[0]}
        order = np.lexsort((cols["leg"], cols["call"], cols["start"]))
        cols = {k: v[order] for k, v in cols.items()}
        cols["doc"] = np.arange(len(order), dtype=np.int64)
        keep = in_range[cols["call"]]
        if not keep.all():
            cols = {k: v[keep] for k, v in cols.items()}
        n = int(keep.sum())
        numbers, names, _ = self._lookups
        doc_prefix, conn_prefix = month_id_prefixes(self.config, month)

        def ids(prefix: str, values: np.ndarray) -> pa.Array:
            padded = pc.utf8_lpad(pc.cast(pa.array(values, pa.int64()), pa.string()), 12, "0")
            return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")

        def lookup(table: pa.Array, idx: np.ndarray) -> pa.Array:
            return table.take(pa.array(idx, pa.int64(), mask=idx < 0))

        trunk_names = pa.array(self.org.trunk_names, pa.string())
        codes = pa.array(list(self.config.account_codes), pa.string())
        arrays = {
            "docId": ids(doc_prefix, cols["doc"]),
            "connId": ids(conn_prefix, cols["call"]),
            "start": pa.array(cols["start"] * 1_000_000, pa.timestamp("us", tz="UTC")),
            "ring": pa.array(cols["ring"].astype(np.float64)),
            "duration": pa.array(cols["duration"].astype(np.float64)),
            "hold": pa.array(cols["hold"].astype(np.float64)),
            "callType": pa.array(cols["callType"].astype(np.int8)),
            "callDir": pa.array(cols["callDir"].astype(np.int8)),
            "ans": pa.array(cols["ans"].astype(np.int8)),
            "ref": pa.array(cols["ref"].astype(np.int8)),
            "lost": pa.array(cols["lost"].astype(np.int8)),
            "accountCode": lookup(codes, cols["accountCode"]) if len(codes) else pa.nulls(n, pa.string()),
            "trunk": lookup(trunk_names, cols["trunk"]),
        }
        for name in ("userNum", "cli", "hgNum", "calledUserNum", "callUserNum"):
            arrays[name] = lookup(numbers, cols[name])
        for name in ("userName", "cliName", "hgName", "calledUserName", "callUserName"):
            arrays[name] = lookup(names, cols[name])
        arrays["extra"] = pa.nulls(n, pa.string())
        return pa.table([arrays[f.name] for f in SEGMENT_SCHEMA], schema=SEGMENT_SCHEMA)


def generate_batches(config: OrgConfig) -> Iterator[pa.Table]:
    """The organisation's segments, one table per calendar month of the period, in time order."""
    sim = ChunkSimulator(config)
    for i in range(len(sim.chunks)):
        yield sim.chunk(i)
