"""Report periods: resolve ``metadata.dateFilter`` into a half-open UTC interval.

A report request names its period as a preset (``ThisYear``) or as a ``presetFilterObject``
(``units``/``offset``/``length``/``roundingMode``/``daysOfWeek``). Periods are laid out in the local
wall time of the request's ``timeZoneId`` -- a "day" is a local calendar day, 23 or 25 real hours
across a DST change -- and then converted to UTC, because the warehouse stores UTC instants.

Two rules make every conversion total and monotonic, which is what lets consecutive periods tile
time with no gaps or overlaps:

* a local wall time that does not exist (skipped by a spring-forward) maps to the first instant
  after the gap, i.e. the transition itself (02:30 in New York on 2025-03-09 -> 03:00 EDT);
* a local wall time that occurs twice (fall-back) maps to its first occurrence.

See docs/dates.md for the presets and worked examples.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "PRESETS",
    "UNITS",
    "DateFilterError",
    "PresetFilter",
    "ResolvedPeriod",
    "load_zone",
    "parse_timestamp",
    "resolve_period",
    "utc_offset_intervals",
    "week_start_for_locale",
    "weekday_numbers",
]

UNITS: dict[int, str] = {0: "minute", 1: "hour", 2: "day", 3: "week", 4: "month", 5: "quarter", 6: "year"}
MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR = range(7)
ROUNDING_MODES: dict[int, str] = {0: "rolling", 1: "calendar-aligned"}
ALL_DAYS = 127

_PART = "metadata.dateFilter"
_PFO = f"{_PART}.presetFilterObject"


class DateFilterError(ValueError):
    """A date filter the server refuses; ``part`` names the offending request field for the 400."""

    def __init__(self, message: str, part: str, choices: Iterable[str] | None = None) -> None:
        super().__init__(message)
        self.part = part
        self.choices: list[str] | None = list(choices) if choices is not None else None


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Validate one presetFilterObject field (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DateFilterError(f"{name} must be an integer, got {value!r}", f"{_PFO}.{name}")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        choices = None
        if name == "units":
            choices = [f"{k} ({v})" for k, v in UNITS.items()]
        elif name == "roundingMode":
            choices = [f"{k} ({v})" for k, v in ROUNDING_MODES.items()]
        raise DateFilterError(f"{name} must be {bounds}, got {value}", f"{_PFO}.{name}", choices)
    return value


@dataclass(frozen=True)
class PresetFilter:
    """The seed's ``presetFilterObject``; validated on construction so a bad one never resolves."""

    units: int
    offset: int
    length: int
    roundingMode: int
    daysOfWeek: int = ALL_DAYS

    def __post_init__(self) -> None:
        _check_int("units", self.units, 0, 6)
        _check_int("offset", self.offset, 0)
        _check_int("length", self.length, 1)
        _check_int("roundingMode", self.roundingMode, 0, 1)
        _check_int("daysOfWeek", self.daysOfWeek, 1, 127)

    def as_dict(self) -> dict[str, int]:
        """The wire form echoed in the resolved request."""
        return {
            "units": self.units,
            "offset": self.offset,
            "length": self.length,
            "roundingMode": self.roundingMode,
            "daysOfWeek": self.daysOfWeek,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PresetFilter:
        """Build from a request's ``presetFilterObject``; missing fields get the documented defaults."""
        if not isinstance(data, dict):
            raise DateFilterError(f"presetFilterObject must be an object, got {data!r}", _PFO)
        known = {"units", "offset", "length", "roundingMode", "daysOfWeek"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DateFilterError(f"unknown presetFilterObject field {unknown[0]!r}", f"{_PFO}.{unknown[0]}",
                                  sorted(known))
        if "units" not in data:
            raise DateFilterError("presetFilterObject.units is required", f"{_PFO}.units",
                                  [f"{k} ({v})" for k, v in UNITS.items()])
        return cls(
            units=data["units"],  # type: ignore[arg-type]
            offset=data.get("offset", 0),  # type: ignore[arg-type]
            length=data.get("length", 1),  # type: ignore[arg-type]
            roundingMode=data.get("roundingMode", 1),  # type: ignore[arg-type]
            daysOfWeek=data.get("daysOfWeek", ALL_DAYS),  # type: ignore[arg-type]
        )


# Window semantics: the window's *last* unit is the one ``offset`` units before the current one and
# it covers ``length`` units ending there.  So ``LastNDays`` = the N whole local days before today
# (today is still filling up and would skew daily averages), ``Last12Months`` = the 12 whole calendar
# months before the current month.
PRESETS: dict[str, PresetFilter | None] = {
    "Today": PresetFilter(DAY, 0, 1, 1),
    "Yesterday": PresetFilter(DAY, 1, 1, 1),
    "ThisWeek": PresetFilter(WEEK, 0, 1, 1),
    "LastWeek": PresetFilter(WEEK, 1, 1, 1),
    "ThisMonth": PresetFilter(MONTH, 0, 1, 1),
    "LastMonth": PresetFilter(MONTH, 1, 1, 1),
    "ThisQuarter": PresetFilter(QUARTER, 0, 1, 1),
    "LastQuarter": PresetFilter(QUARTER, 1, 1, 1),
    "ThisYear": PresetFilter(YEAR, 0, 1, 1),
    "LastYear": PresetFilter(YEAR, 1, 1, 1),
    "Last7Days": PresetFilter(DAY, 1, 7, 1),
    "Last30Days": PresetFilter(DAY, 1, 30, 1),
    "Last90Days": PresetFilter(DAY, 1, 90, 1),
    "Last12Months": PresetFilter(MONTH, 1, 12, 1),
    "Custom": None,
}


# --------------------------------------------------------------------------------------------------
# time zones


# The one gate for time-zone names: report periods load zones through it, and the service layer checks
# every zone name it is given with it (``service.tenancy.check_time_zone``: workspaces, ingest
# ``?timeZone=``, the Webex ``timeZone``). zoneinfo turns a name into a path below its zone folders, so
# a name is refused unless it is shaped like an IANA name -- ASCII letters, digits, ``_ + -`` in
# components that start with a letter, joined by single ``/`` -- before the filesystem is touched:
# no ``..``, absolute path, NUL or overlong name reaches ``open()``. What passes the shape can still
# be a folder (``Europe``), a missing file or a file that is not a zone (``leapseconds``); zoneinfo
# raises ZoneInfoNotFoundError, IsADirectoryError/OSError or ValueError for those, all caught here.
ZONE_NAME_MAX = 64  # the longest IANA name has 32 characters; names are stored in 64
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z][A-Za-z0-9_+-]*)*\Z")


def load_zone(name: object, part: str = "timeZoneId") -> ZoneInfo:
    """The IANA zone ``name`` (surrounding blanks ignored), or :class:`DateFilterError` naming
    ``part`` -- the request field that carried it -- with close names as ``choices``."""
    example = "IANA names such as UTC or Europe/London"
    if not isinstance(name, str):
        raise DateFilterError(f"{part} must be a string naming a time zone ({example}), got {_shown(name)}", part)
    key = name.strip()
    if not key:
        raise DateFilterError(f"{part} must name a time zone ({example}), got an empty string", part)
    if len(key) > ZONE_NAME_MAX or not _ZONE_NAME.match(key):
        raise DateFilterError(f"{part} {_shown(name)} is not a time zone name: {part} takes {example} "
                              f"(letters, digits, _ + - and /, at most {ZONE_NAME_MAX} characters)", part)
    try:
        return _load_zone(key)
    except (ZoneInfoNotFoundError, OSError, ValueError):  # OSError: IsADirectoryError, NotADirectoryError, ...
        pass
    inside = sorted(z for z in _zone_names() if z.startswith(key + "/"))
    if inside:  # a region folder such as Europe or America/Argentina
        raise DateFilterError(f"{part} {key!r} is a region, not a time zone: name a zone in it such as "
                              f"{inside[0]} ({example})", part, inside[:10])
    close = [z for z in _zone_names() if z.lower() == key.lower()]
    close += difflib.get_close_matches(key, sorted(_zone_names()), n=5, cutoff=0.6)
    raise DateFilterError(f"unknown time zone {key!r} ({part} takes {example})", part,
                          list(dict.fromkeys(close)))


def _shown(value: object) -> str:
    """A refused value as quoted in a message: its repr, cut short (a hostile value can be huge)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"… ({len(text)} characters)"


@lru_cache(maxsize=512)
def _load_zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    """Every zone name zoneinfo knows (a walk of the zone folders: done once, not per refused name)."""
    return frozenset(available_timezones())


def _zone(tz: str) -> ZoneInfo:
    """Load the request's ``timeZoneId`` (see :func:`load_zone`)."""
    return load_zone(tz)


def _offset_at(zone: tzinfo, instant: datetime) -> timedelta:
    """UTC offset of ``zone`` at an aware instant."""
    off = instant.astimezone(zone).utcoffset()
    assert off is not None
    return off


def _first_change(zone: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """First instant in (lo, hi] whose offset differs from the offset at lo (one must exist)."""
    base = _offset_at(zone, lo)
    lo_us, hi_us = 0, int((hi - lo) / timedelta(microseconds=1))
    while hi_us - lo_us > 1:
        mid = (lo_us + hi_us) // 2
        if _offset_at(zone, lo + timedelta(microseconds=mid)) == base:
            lo_us = mid
        else:
            hi_us = mid
    return lo + timedelta(microseconds=hi_us)


# Probe step when hunting offset changes; no zone changes offset twice within 12 hours and back.
_SCAN_STEP = timedelta(hours=12)


def utc_offset_intervals(
    tz: str, start_utc: datetime, end_utc: datetime
) -> list[tuple[datetime, datetime, int]]:
    """Split [start, end) into runs of constant UTC offset (seconds).

    Engines bucket by local time with one ``CASE`` branch per run (``ts + offset``) instead of
    converting every row; a year in a DST zone is 3 runs.
    """
    zone = _zone(tz)
    start, end = _as_utc(start_utc, "start_utc"), _as_utc(end_utc, "end_utc")
    if end <= start:
        return []
    runs: list[tuple[datetime, datetime, int]] = []
    cur = start
    while cur < end:
        off = _offset_at(zone, cur)
        probe = cur
        nxt = end
        while probe < end:
            step_to = min(probe + _SCAN_STEP, end)
            if step_to == end:
                # the last probe must look at an instant inside [cur, end)
                last = end - timedelta(microseconds=1)
                if last > probe and _offset_at(zone, last) != off:
                    nxt = _first_change(zone, probe, last)
                break
            if _offset_at(zone, step_to) != off:
                nxt = _first_change(zone, probe, step_to)
                break
            probe = step_to
        runs.append((cur, nxt, int(off.total_seconds())))
        cur = nxt
    return runs


def _local(zone: tzinfo, instant: datetime) -> datetime:
    """Naive local wall time of an aware instant."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _wall_to_utc(zone: tzinfo, wall: datetime) -> datetime:
    """The first instant whose local wall time is >= ``wall`` (gap -> transition, fold -> first)."""
    wall = wall.replace(tzinfo=None, fold=0)
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: earlier offset
    if _local(zone, first) == wall:
        return first  # exists; fold=0 is its first occurrence
    # Nonexistent: fold=0 applied the pre-gap offset and landed after the gap; fold=1 applies the
    # post-gap offset and lands before it. The transition lies between.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(before, first), max(before, first)
    if lo == hi:  # pragma: no cover - defensive: zoneinfo always gives distinct instants for a gap
        return first
    return _first_change(zone, lo, hi)


# --------------------------------------------------------------------------------------------------
# parsing

_ISO = re.compile(
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
    r"\s*(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)


def _parse_iso(value: datetime | str, zone: tzinfo, what: str, part: str) -> tuple[datetime, int]:
    """Parse ISO 8601 to (aware UTC, 100-ns digit below microseconds) -- .NET clients send 7 digits."""
    if isinstance(value, datetime):
        return _aware_or_local(value, zone), 0
    if not isinstance(value, str):
        raise DateFilterError(f"{what} must be an ISO 8601 timestamp string, got {value!r}", part)
    m = _ISO.match(value)
    if not m:
        raise DateFilterError(f"{what} {value!r} is not an ISO 8601 timestamp "
                              "(e.g. 2025-09-22T15:27:40Z or 2025-09-22T16:27:40)", part)
    frac = (m["frac"] or "") + "0000000"
    try:
        d = date.fromisoformat(m["date"])
        naive = datetime(d.year, d.month, d.day, int(m["h"] or 0), int(m["m"] or 0), int(m["s"] or 0),
                         int(frac[:6]))
    except ValueError as exc:
        raise DateFilterError(f"{what} {value!r} is not a valid timestamp: {exc}", part) from None
    sub = int(frac[6])
    offset = m["tz"]
    if offset is None:
        return _wall_to_utc(zone, naive), sub
    if offset in ("Z", "z"):
        return naive.replace(tzinfo=UTC), sub
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise DateFilterError(f"{what} {value!r} has an invalid UTC offset", part)
    delta = timedelta(hours=hours, minutes=minutes) * (1 if offset[0] == "+" else -1)
    return (naive - delta).replace(tzinfo=UTC), sub


def _aware_or_local(value: datetime, zone: tzinfo) -> datetime:
    """An aware datetime is an instant; a naive one is local wall time in ``zone``."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return _wall_to_utc(zone, value)


def parse_timestamp(value: str, tz: str, *, part: str = "value") -> datetime:
    """Parse a filter timestamp to aware UTC.

    An explicit offset or ``Z`` is honoured; without one the value is wall time in ``tz`` (spec §2),
    with nonexistent times moved to the end of the DST gap and ambiguous ones taking the first
    occurrence. A date alone means local midnight.
    """
    return _parse_iso(value, _zone(tz), "timestamp", part)[0]


def _as_utc(value: datetime, name: str) -> datetime:
    """Normalise an instant argument; a naive one is taken as UTC (server clocks run in UTC)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# weeks and locales

# CLDR weekData firstDay by region (everything else starts on Monday).
_SUNDAY_REGIONS = frozenset(
    {
        "AG", "AS", "BD", "BR", "BS", "BT", "BW", "BZ", "CA", "CO", "DM", "DO", "ET", "GT", "GU", "HK",
        "HN", "ID", "IL", "IN", "JM", "JP", "KE", "KH", "KR", "LA", "MH", "MM", "MO", "MT", "MX", "MZ",
        "NI", "NP", "PA", "PE", "PH", "PK", "PR", "PT", "PY", "SA", "SG", "SV", "TH", "TT", "TW", "UM",
        "US", "VE", "VI", "WS", "YE", "ZA", "ZW",
    }
)
_SATURDAY_REGIONS = frozenset(
    {
        "AE", "AF", "BH", "DJ", "DZ", "EG", "IQ", "IR", "JO", "KW", "LY", "OM", "QA", "SD", "SY",
    }
)
_FRIDAY_REGIONS = frozenset({"MV"})
# Likely region for a bare language tag (CLDR likelySubtags), only where it changes the answer.
_LANGUAGE_REGION = {"en": "US", "ja": "JP", "he": "IL", "iw": "IL", "pt": "BR", "ko": "KR", "th": "TH",
                    "hi": "IN", "id": "ID", "fil": "PH", "ar": "EG", "fa": "IR", "dv": "MV"}
_FW = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def week_start_for_locale(locale: str | None) -> int:
    """First day of the week for a locale (Python weekday: 0 Monday ... 6 Sunday).

    ``en-US`` weeks start on Sunday, ``en-GB`` on Monday; a ``-u-fw-xxx`` extension overrides.
    Unknown or missing locales get Monday (ISO 8601).
    """
    if not locale or not isinstance(locale, str):
        return 0
    tag = re.split(r"[.@]", locale.strip())[0]
    parts = [p for p in re.split(r"[-_]", tag) if p]
    if not parts:
        return 0
    lowered = [p.lower() for p in parts]
    if "u" in lowered:
        ext = lowered[lowered.index("u") + 1:]
        for i, key in enumerate(ext[:-1]):
            if key == "fw" and ext[i + 1] in _FW:
                return _FW[ext[i + 1]]
        parts = parts[:lowered.index("u")]
    region = next((p.upper() for p in parts[1:] if re.fullmatch(r"[A-Za-z]{2}|\d{3}", p)), None)
    if region is None:
        region = _LANGUAGE_REGION.get(parts[0].lower())
    if region in _SUNDAY_REGIONS:
        return 6
    if region in _SATURDAY_REGIONS:
        return 5
    if region in _FRIDAY_REGIONS:
        return 4
    return 0


def weekday_numbers(mask: int) -> list[int]:
    """ISO weekdays (1 Monday ... 7 Sunday) a ``daysOfWeek`` mask keeps (Sunday = 1 ... Saturday = 64)."""
    _check_int("daysOfWeek", mask, 1, 127)
    # bit i is day i of a Sunday-first week; ISO weekday of bit 0 (Sunday) is 7
    return sorted(7 if bit == 0 else bit for bit in range(7) if mask & (1 << bit))


# --------------------------------------------------------------------------------------------------
# abbreviations

# tzdata writes numeric abbreviations ("+0530", "+11") for zones without an established English
# one; reports show the name people use.  (standard, daylight)
_ABBREVIATIONS: dict[str, tuple[str, str]] = {
    "Asia/Colombo": ("IST", "IST"),
    "Australia/Lord_Howe": ("LHST", "LHDT"),
    "Asia/Dubai": ("GST", "GST"),
    "Asia/Muscat": ("GST", "GST"),
    "Asia/Singapore": ("SGT", "SGT"),
    "Asia/Kuala_Lumpur": ("MYT", "MYT"),
    "Asia/Bangkok": ("ICT", "ICT"),
    "Asia/Ho_Chi_Minh": ("ICT", "ICT"),
    "Asia/Kathmandu": ("NPT", "NPT"),
    "Asia/Dhaka": ("BST", "BST"),
    "Asia/Kabul": ("AFT", "AFT"),
    "Asia/Tehran": ("IRST", "IRDT"),
    "Asia/Yangon": ("MMT", "MMT"),
    "Asia/Riyadh": ("AST", "AST"),
    "Asia/Qatar": ("AST", "AST"),
    "Asia/Tbilisi": ("GET", "GET"),
    "Asia/Baku": ("AZT", "AZT"),
    "Asia/Yerevan": ("AMT", "AMT"),
    "Asia/Tashkent": ("UZT", "UZT"),
    "Asia/Almaty": ("ALMT", "ALMT"),
    "Europe/Istanbul": ("TRT", "TRT"),
    "Europe/Samara": ("SAMT", "SAMT"),
    "America/Sao_Paulo": ("BRT", "BRST"),
    "America/Argentina/Buenos_Aires": ("ART", "ARST"),
    "America/Buenos_Aires": ("ART", "ARST"),
    "America/Bogota": ("COT", "COST"),
    "America/Lima": ("PET", "PEST"),
    "America/Caracas": ("VET", "VET"),
    "America/Santiago": ("CLT", "CLST"),
    "America/Montevideo": ("UYT", "UYST"),
    "Pacific/Chatham": ("CHAST", "CHADT"),
    "Pacific/Fiji": ("FJT", "FJST"),
    "Pacific/Tongatapu": ("TOT", "TOST"),
    "Atlantic/Azores": ("AZOT", "AZOST"),
    "Atlantic/Cape_Verde": ("CVT", "CVT"),
}


def _abbreviation(zone: ZoneInfo, instant: datetime) -> str:
    """Zone abbreviation at an instant; falls back to tzdata's numeric form (e.g. ``+0545``)."""
    local = instant.astimezone(zone)
    name = local.tzname() or "UTC"
    if name[:1] in "+-":
        known = _ABBREVIATIONS.get(zone.key)
        if known:
            return known[1] if local.dst() else known[0]
    return name


# --------------------------------------------------------------------------------------------------
# period arithmetic


def _add_months(wall: datetime, months: int) -> datetime:
    """Shift a wall time by calendar months, clamping the day (31 March - 1 month = 28/29 Feb)."""
    total = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise DateFilterError("date filter reaches outside the supported calendar (years 1-9999)", _PART)
    day = min(wall.day, calendar.monthrange(year, month)[1])
    return wall.replace(year=year, month=month, day=day)


def _shift(wall: datetime, unit: int, n: int) -> datetime:
    """Move a local wall time by ``n`` units in calendar arithmetic (days keep the clock time)."""
    try:
        if unit == HOUR:
            return wall + timedelta(hours=n)
        if unit == DAY:
            return wall + timedelta(days=n)
        if unit == WEEK:
            return wall + timedelta(weeks=n)
    except OverflowError:
        raise DateFilterError("date filter reaches outside the supported calendar (years 1-9999)",
                              _PART) from None
    if unit == MONTH:
        return _add_months(wall, n)
    if unit == QUARTER:
        return _add_months(wall, 3 * n)
    if unit == YEAR:
        return _add_months(wall, 12 * n)
    raise AssertionError(unit)  # pragma: no cover - minutes never go through wall arithmetic


def _floor_wall(wall: datetime, unit: int, week_start: int) -> datetime:
    """Start (local wall time) of the calendar unit containing ``wall``."""
    if unit == HOUR:
        return wall.replace(minute=0, second=0, microsecond=0)
    day = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == DAY:
        return day
    if unit == WEEK:
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if unit == MONTH:
        return day.replace(day=1)
    if unit == QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if unit == YEAR:
        return day.replace(month=1, day=1)
    raise AssertionError(unit)  # pragma: no cover


def _aligned_bounds(zone: ZoneInfo, ref: datetime, preset: PresetFilter, week_start: int
                    ) -> tuple[datetime, datetime]:
    """[start, end) in UTC for a calendar-aligned window (before the settle lag)."""
    unit, first, last = preset.units, -(preset.offset + preset.length - 1), 1 - preset.offset
    if unit == MINUTE:
        # Minutes are real minutes: offsets are whole minutes, so local and UTC minutes coincide;
        # using UTC avoids 61-minute "minutes" in a repeated hour.
        local = ref.astimezone(zone)
        anchor = ref - timedelta(seconds=local.second, microseconds=local.microsecond)
        return anchor + timedelta(minutes=first), anchor + timedelta(minutes=last)
    wall = _floor_wall(_local(zone, ref), unit, week_start)
    # The unit containing ref is the last boundary at or before it; after a fall-back the wall clock
    # can read an earlier unit than the one ref is in, so step forward if needed.
    while _wall_to_utc(zone, _shift(wall, unit, 1)) <= ref:
        wall = _shift(wall, unit, 1)
    return _wall_to_utc(zone, _shift(wall, unit, first)), _wall_to_utc(zone, _shift(wall, unit, last))


def _rolling_bounds(zone: ZoneInfo, ref: datetime, preset: PresetFilter) -> tuple[datetime, datetime]:
    """[start, end) in UTC for a rolling window ending ``offset`` units before the reference."""
    unit, back_end, back_start = preset.units, preset.offset, preset.offset + preset.length
    if unit in (MINUTE, HOUR):
        step = timedelta(minutes=1) if unit == MINUTE else timedelta(hours=1)
        return ref - step * back_start, ref - step * back_end
    wall = _local(zone, ref)
    end = ref if back_end == 0 else _wall_to_utc(zone, _shift(wall, unit, -back_end))
    return _wall_to_utc(zone, _shift(wall, unit, -back_start)), end


# --------------------------------------------------------------------------------------------------
# result


def _iso_seconds(wall: datetime) -> str:
    """Local wall time as the seed prints it: no offset, whole seconds."""
    return wall.replace(microsecond=0).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ResolvedPeriod:
    """A resolved date filter: the UTC half-open interval engines filter on, plus what to echo."""

    start_utc: datetime
    end_utc: datetime
    local_start: datetime
    local_end: datetime
    reference_utc: datetime
    reference_local: datetime
    abbreviation: str
    days_of_week: int
    # Extra context for echoing the resolved request; defaults keep the constructor compatible.
    reference_100ns: int = 0  # digit below microseconds of a 7-digit (.NET) reference timestamp
    preset_name: str | None = None
    preset: PresetFilter | None = None
    tz: str = "UTC"
    settle_lag_applied: bool = False

    @property
    def weekdays(self) -> list[int]:
        """ISO weekdays included by ``days_of_week``."""
        return weekday_numbers(self.days_of_week)

    def reference_iso(self) -> str:
        """The reference instant with 7 fractional digits and +00:00, as the seed writes it."""
        ref = self.reference_utc
        return (f"{ref.strftime('%Y-%m-%dT%H:%M:%S')}.{ref.microsecond:06d}{self.reference_100ns:d}+00:00")

    def metadata(self) -> dict[str, str]:
        """The ``metadata`` fields of the seed document that echo the resolution."""
        return {
            "referenceDate": self.reference_iso(),
            "timeZoneReferenceDate": _iso_seconds(self.reference_local),
            "timezoneDateFrom": _iso_seconds(self.local_start),
            "timezoneDateTo": _iso_seconds(self.local_end),
            "timeZoneAbbreviation": self.abbreviation,
        }

    def date_filter(self) -> dict[str, object]:
        """The resolved ``metadata.dateFilter`` block (preset name, filter object, mask)."""
        return {
            "presetName": self.preset_name,
            "presetFilterObject": self.preset.as_dict() if self.preset else None,
            "daysOfWeek": self.days_of_week,
        }


def _lookup_preset(name: str) -> tuple[str, PresetFilter | None]:
    """Find a preset by name (case-insensitive), or refuse listing the valid names."""
    if name in PRESETS:
        return name, PRESETS[name]
    folded = {k.lower(): k for k in PRESETS}
    key = folded.get(name.strip().lower()) if isinstance(name, str) else None
    if key is None:
        raise DateFilterError(f"unknown date preset {name!r}", f"{_PART}.presetName", list(PRESETS))
    return key, PRESETS[key]


def resolve_period(
    preset_name: str | None,
    preset: PresetFilter | None,
    tz: str,
    reference: datetime | str,
    *,
    settle_lag: timedelta = timedelta(minutes=15),
    week_start: int = 0,
    custom_start: datetime | str | None = None,
    custom_end: datetime | str | None = None,
    days_of_week: int | None = None,
) -> ResolvedPeriod:
    """Resolve a date filter at ``reference`` ("now") into UTC and local bounds.

    An explicit ``preset`` wins over the name (any name is accepted with it); ``Custom`` (or no name
    and no preset but custom bounds) uses ``custom_start``/``custom_end`` -- aware values are
    instants, naive ones local wall time in ``tz``. A period reaching past the reference ends at
    reference - ``settle_lag`` (floored to the second, so the echoed ``timezoneDateTo`` is the exact
    bound), since the last minutes' calls may not have been imported yet.
    """
    zone = _zone(tz)
    if isinstance(reference, str):
        ref, sub = _parse_iso(reference, UTC, "referenceDate", "referenceDate")
    else:
        ref, sub = _as_utc(reference, "reference"), 0
    if not isinstance(settle_lag, timedelta) or settle_lag < timedelta(0):
        raise DateFilterError(f"settle lag must be a non-negative duration, got {settle_lag!r}", "settleLag")
    if isinstance(week_start, bool) or not isinstance(week_start, int) or not 0 <= week_start <= 6:
        raise DateFilterError(f"week start must be a weekday 0 (Monday)..6 (Sunday), got {week_start!r}",
                              "locale")
    if days_of_week is not None:
        _check_int("daysOfWeek", days_of_week, 1, 127)

    name = preset_name
    custom = custom_start is not None or custom_end is not None
    if preset is None:
        if name is None or (isinstance(name, str) and not name.strip()):
            if not custom:
                raise DateFilterError("a date filter needs a presetName, a presetFilterObject or "
                                      "custom start/end", f"{_PART}.presetName", list(PRESETS))
            name = "Custom"
        else:
            name, preset = _lookup_preset(name)
    elif not isinstance(preset, PresetFilter):
        raise TypeError(f"preset must be a PresetFilter, got {type(preset).__name__}")
    elif isinstance(name, str) and name.strip().lower() == "custom" and custom:
        preset = None  # Custom with explicit bounds: the bounds win over a stray filter object

    reached_now = False
    if preset is None:
        start, end = _custom_bounds(zone, custom_start, custom_end)
        reached_now = end > ref
        mask = days_of_week if days_of_week is not None else ALL_DAYS
    else:
        if preset.roundingMode == 1:
            start, end = _aligned_bounds(zone, ref, preset, week_start)
            reached_now = end > ref
        else:
            start, end = _rolling_bounds(zone, ref, preset)
            reached_now = end >= ref
        mask = days_of_week if days_of_week is not None else preset.daysOfWeek
    if reached_now:
        settled = ref - settle_lag
        end = max(start, settled - timedelta(microseconds=settled.microsecond))

    return ResolvedPeriod(
        start_utc=start,
        end_utc=end,
        local_start=_local(zone, start),
        local_end=_local(zone, end),
        reference_utc=ref,
        reference_local=_local(zone, ref),
        abbreviation=_abbreviation(zone, ref),
        days_of_week=mask,
        reference_100ns=sub,
        preset_name=name,
        preset=preset,
        tz=zone.key,
        settle_lag_applied=reached_now,
    )


def _custom_bounds(zone: ZoneInfo, start: datetime | str | None, end: datetime | str | None
                   ) -> tuple[datetime, datetime]:
    """Validate a Custom range: both bounds present and end after start."""
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise DateFilterError(f"a Custom date filter needs both start and end ({missing} is missing)",
                              f"{_PART}.{missing}")
    s = _parse_iso(start, zone, "start", f"{_PART}.start")[0]
    e = _parse_iso(end, zone, "end", f"{_PART}.end")[0]
    if e <= s:
        raise DateFilterError(f"Custom date range ends ({e.isoformat()}) at or before it starts "
                              f"({s.isoformat()})", _PART)
    return s, e
