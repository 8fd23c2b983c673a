"""When calls happen: intraday, weekly and yearly patterns, and DST-correct local→UTC conversion.

Calls are placed in the organisation's *local* time (people start work at 08:30 whatever the UTC
offset) and converted to UTC with offsets taken from :mod:`zoneinfo`, vectorised over numpy arrays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from callboard.generate.config import SEGMENTS_PER_CALL, OrgConfig

DAY = 86_400
EPOCH = date(1970, 1, 1)
# Growth is measured from this day whatever period is generated, so a day's expected volume never
# depends on which range it was generated in (``calls_per_user_day`` is the volume on that day).
GROWTH_REFERENCE = date(2025, 1, 1)

# Monday … Sunday relative volume (weekends small, Friday afternoon quieter).
WEEKDAY_FACTORS = np.array([1.08, 1.03, 1.0, 0.98, 0.91, 0.12, 0.05])
# Public-holiday-like days every year (month, day): volume of a Sunday.
CLOSED_DAYS: tuple[tuple[int, int], ...] = ((1, 1), (12, 25), (12, 26))

KINDS = ("hunt_group", "direct", "outgoing", "internal")
# Share of each kind's calls that fall outside business hours (evenings, nights).
_AFTER_HOURS_FLOOR = {"hunt_group": 0.012, "direct": 0.01, "outgoing": 0.004, "internal": 0.002}


def _business_curve(minutes: np.ndarray) -> np.ndarray:
    """Relative call intensity by local minute of day: late-morning and mid-afternoon peaks, a
    lunch dip, soft opening at ~08:30 and closing at ~17:30."""
    h = minutes / 60.0
    morning = 1.0 * np.exp(-0.5 * ((h - 10.9) / 1.25) ** 2)
    afternoon = 0.88 * np.exp(-0.5 * ((h - 14.8) / 1.35) ** 2)
    lunch = 1.0 - 0.3 * np.exp(-0.5 * ((h - 12.8) / 0.45) ** 2)
    opening = 1.0 / (1.0 + np.exp(-(h - 8.4) * 5.0))
    closing = 1.0 / (1.0 + np.exp((h - 17.6) * 4.0))
    return (morning + afternoon) * lunch * opening * closing


def intraday_profile(kind: str) -> np.ndarray:
    """Probability of each local minute of the day (1440 values summing to 1) for a call kind."""
    minutes = np.arange(1440, dtype=float)
    business = _business_curve(minutes)
    if kind == "outgoing":  # people return calls a little later in the day
        business = _business_curve(minutes - 20.0)
    business /= business.sum()
    h = minutes / 60.0
    # Evening traffic decays after closing; the small hours are almost silent.
    night = np.where((h >= 7) & (h < 22), 1.0, 0.15) * (1.0 + (h >= 17) * 1.5)
    night /= night.sum()
    floor = _AFTER_HOURS_FLOOR[kind]
    p = (1.0 - floor) * business + floor * night
    return p / p.sum()


PROFILES: dict[str, np.ndarray] = {k: intraday_profile(k) for k in KINDS}


def day_factors(config: OrgConfig, days: np.ndarray) -> np.ndarray:
    """Relative volume of local days (``days`` as days since 1970-01-01): weekday pattern × mild
    seasonality (August trough, February peak) × growth since :data:`GROWTH_REFERENCE`."""
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    f = WEEKDAY_FACTORS[dow].copy()
    dates = np.array(days, dtype="datetime64[D]")
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    for m, d in CLOSED_DAYS:
        f[(month == m) & (dom == d)] = WEEKDAY_FACTORS[6]
    doy = (dates - dates.astype("datetime64[Y]")).astype(int)
    f *= 1.0 - config.seasonality * np.cos(2 * np.pi * (doy - 220) / 365.25)
    years = (days - (GROWTH_REFERENCE - EPOCH).days) / 365.25
    f *= (1.0 + config.growth_per_year) ** years
    return f


def expected_calls(config: OrgConfig, days: np.ndarray | None = None) -> np.ndarray:
    """Expected calls per (day, kind) before the daily noise; shape (len(days), 4)."""
    if days is None:
        first = (config.start - EPOCH).days
        days = np.arange(first, first + config.days)
    mix = np.asarray(config.mix, dtype=float)
    mix = mix / mix.sum()
    base = config.users * config.calls_per_user_day
    if config.hunt_groups == 0:
        mix = np.array([0.0, mix[0] + mix[1], mix[2], mix[3]])
    return base * day_factors(config, days)[:, None] * mix[None, :]


def expected_segments(config: OrgConfig) -> int:
    """About how many segments ``config`` generates (for progress bars and benchmark sizing)."""
    return int(expected_calls(config).sum() * SEGMENTS_PER_CALL)


def _utc_offset(ts: int, zone: ZoneInfo) -> int:
    """UTC offset in whole seconds of ``zone`` at the epoch instant ``ts``."""
    offset = datetime.fromtimestamp(ts, zone).utcoffset()
    assert offset is not None  # an aware datetime (tz=ZoneInfo) always has an offset
    return int(offset.total_seconds())


class LocalClock:
    """UTC offsets of one time zone on a 15-minute grid, for vectorised local↔UTC conversion.

    The grid spans the generated period with a margin; offsets come from ``zoneinfo`` so DST
    rules (and their history) are the real ones.
    """

    STEP = 900

    def __init__(self, tz: str, first_day: date, last_day: date) -> None:
        zone = ZoneInfo(tz)
        t0 = datetime.combine(first_day - timedelta(days=3), datetime.min.time(), UTC)
        t1 = datetime.combine(last_day + timedelta(days=4), datetime.min.time(), UTC)
        self.grid0 = int(t0.timestamp())
        n = int((t1 - t0).total_seconds()) // self.STEP + 1
        # Offsets change rarely: probe every day, refine only the days whose offset changes.
        daily = [_utc_offset(self.grid0 + d * DAY, zone) for d in range(n // 96 + 2)]
        offsets = np.repeat(np.array(daily[:-1], dtype=np.int64), 96)[:n]
        for d in range(len(daily) - 1):
            if daily[d] != daily[d + 1]:
                for k in range(96):
                    i = d * 96 + k
                    if i < n:
                        ts = self.grid0 + i * self.STEP
                        offsets[i] = _utc_offset(ts, zone)
        self.offsets = offsets

    def offset_at(self, utc: np.ndarray) -> np.ndarray:
        """UTC offset in seconds in force at each UTC instant (epoch seconds)."""
        idx = np.clip((utc - self.grid0) // self.STEP, 0, len(self.offsets) - 1)
        return self.offsets[idx]

    def to_utc(self, local: np.ndarray) -> np.ndarray:
        """Local wall-clock times (naive epoch seconds) → UTC epoch seconds. Times in a DST gap
        move forward by the gap; ambiguous times take the earlier offset's reading."""
        guess = local - self.offset_at(local - self.offset_at(local))
        return local - self.offset_at(guess)

    def to_local(self, utc: np.ndarray) -> np.ndarray:
        """UTC epoch seconds → local wall-clock times (naive epoch seconds)."""
        return utc + self.offset_at(utc)
