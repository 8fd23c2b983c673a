"""Report period resolution (callboard.reports.dates): the seed example, worked DST cases, properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from callboard.reports.dates import (
    PRESETS,
    UNITS,
    DateFilterError,
    PresetFilter,
    ResolvedPeriod,
    parse_timestamp,
    resolve_period,
    utc_offset_intervals,
    week_start_for_locale,
    weekday_numbers,
)

NY = "America/New_York"
LONDON = "Europe/London"
KOLKATA = "Asia/Kolkata"
LORD_HOWE = "Australia/Lord_Howe"
ZONES = [LONDON, NY, LORD_HOWE, KOLKATA]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def resolve(name: str | None, tz: str, ref: datetime | str, **kw: object) -> ResolvedPeriod:
    return resolve_period(name, None, tz, ref, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# the seed document


def test_seed_this_year_in_london_matches_the_seed_metadata() -> None:
    period = resolve("ThisYear", LONDON, "2025-09-22T15:27:40.1423161Z")
    assert period.metadata() == {
        "referenceDate": "2025-09-22T15:27:40.1423161+00:00",
        "timeZoneReferenceDate": "2025-09-22T16:27:40",
        "timezoneDateFrom": "2025-01-01T00:00:00",
        "timezoneDateTo": "2025-09-22T16:12:40",
        "timeZoneAbbreviation": "BST",
    }
    assert period.start_utc == utc(2025, 1, 1)  # GMT in January
    assert period.end_utc == utc(2025, 9, 22, 15, 12, 40)
    assert period.settle_lag_applied
    assert period.date_filter() == {
        "presetName": "ThisYear",
        "presetFilterObject": {"units": 6, "offset": 0, "length": 1, "roundingMode": 1, "daysOfWeek": 127},
        "daysOfWeek": 127,
    }


def test_seed_preset_object_is_this_year() -> None:
    assert PRESETS["ThisYear"] == PresetFilter(6, 0, 1, 1, 127)
    this_year = PRESETS["ThisYear"]
    assert this_year is not None
    assert PresetFilter.from_dict(this_year.as_dict()) == this_year


def test_datetime_reference_prints_seven_fractional_digits() -> None:
    period = resolve("Today", LONDON, datetime(2025, 9, 22, 15, 27, 40, 142316, tzinfo=UTC))
    assert period.metadata()["referenceDate"] == "2025-09-22T15:27:40.1423160+00:00"
    # same instant given with an explicit offset
    same = resolve("Today", LONDON, "2025-09-22T16:27:40.1423161+01:00")
    assert same.reference_utc == period.reference_utc


# ------------------------------------------------------------------------------------------------
# worked examples


def test_yesterday_in_new_york_is_the_25_hour_fall_back_day() -> None:
    period = resolve("Yesterday", NY, utc(2025, 11, 3, 15))  # 10:00 EST on Monday 3 November
    assert period.start_utc == utc(2025, 11, 2, 4)  # 00:00 EDT
    assert period.end_utc == utc(2025, 11, 3, 5)  # 00:00 EST
    assert period.end_utc - period.start_utc == timedelta(hours=25)
    assert period.local_start == datetime(2025, 11, 2)
    assert period.local_end == datetime(2025, 11, 3)
    assert period.abbreviation == "EST"
    assert not period.settle_lag_applied


def test_spring_forward_day_is_23_hours() -> None:
    period = resolve("Yesterday", NY, utc(2025, 3, 10, 15))
    assert period.end_utc - period.start_utc == timedelta(hours=23)
    assert period.abbreviation == "EDT"


def test_last_week_follows_the_locale_week_start() -> None:
    ref = utc(2025, 9, 24, 15)  # Wednesday 24 September, 11:00 EDT
    monday = resolve("LastWeek", NY, ref, week_start=week_start_for_locale("en-GB"))
    assert (monday.local_start, monday.local_end) == (datetime(2025, 9, 15), datetime(2025, 9, 22))
    sunday = resolve("LastWeek", NY, ref, week_start=week_start_for_locale("en-US"))
    assert (sunday.local_start, sunday.local_end) == (datetime(2025, 9, 14), datetime(2025, 9, 21))
    assert sunday.start_utc == utc(2025, 9, 14, 4)
    this_week = resolve("ThisWeek", NY, ref, week_start=6)
    assert this_week.local_start == datetime(2025, 9, 21)
    assert this_week.end_utc == ref - timedelta(minutes=15)


def test_last_week_on_the_week_start_day_itself() -> None:
    # Sunday 21 September with Sunday-start weeks: "this week" began today.
    period = resolve("LastWeek", NY, utc(2025, 9, 21, 16), week_start=6)
    assert (period.local_start, period.local_end) == (datetime(2025, 9, 14), datetime(2025, 9, 21))


def test_this_quarter_and_last_quarter() -> None:
    ref = utc(2025, 9, 22, 15, 27, 40)
    this_q = resolve("ThisQuarter", LONDON, ref)
    assert this_q.local_start == datetime(2025, 7, 1)
    assert this_q.start_utc == utc(2025, 6, 30, 23)  # midnight BST
    assert this_q.end_utc == utc(2025, 9, 22, 15, 12, 40)
    last_q = resolve("LastQuarter", LONDON, ref)
    assert (last_q.local_start, last_q.local_end) == (datetime(2025, 4, 1), datetime(2025, 7, 1))
    q1 = resolve("LastQuarter", LONDON, utc(2026, 2, 14, 9))
    assert (q1.local_start, q1.local_end) == (datetime(2025, 10, 1), datetime(2026, 1, 1))


def test_last_month_and_last_year_across_the_year_boundary() -> None:
    ref = utc(2026, 1, 10, 9)
    last_month = resolve("LastMonth", LONDON, ref)
    assert (last_month.local_start, last_month.local_end) == (datetime(2025, 12, 1), datetime(2026, 1, 1))
    assert last_month.start_utc == utc(2025, 12, 1) and last_month.end_utc == utc(2026, 1, 1)
    last_year = resolve("LastYear", NY, ref)
    assert (last_year.local_start, last_year.local_end) == (datetime(2025, 1, 1), datetime(2026, 1, 1))
    assert last_year.start_utc == utc(2025, 1, 1, 5)
    twelve = resolve("Last12Months", LONDON, ref)
    assert (twelve.local_start, twelve.local_end) == (datetime(2025, 1, 1), datetime(2026, 1, 1))


def test_today_in_kolkata_uses_the_half_hour_offset() -> None:
    ref = utc(2025, 9, 22, 20)  # 01:30 IST on the 23rd
    period = resolve("Today", KOLKATA, ref)
    assert period.local_start == datetime(2025, 9, 23)
    assert period.start_utc == utc(2025, 9, 22, 18, 30)
    assert period.local_end == datetime(2025, 9, 23, 1, 15)
    assert period.abbreviation == "IST"
    assert period.metadata()["timeZoneReferenceDate"] == "2025-09-23T01:30:00"


def test_lord_howe_half_hour_dst_shift() -> None:
    # 2025-10-05 02:00 +10:30 -> 02:30 +11: the day is 23.5 hours long.
    spring = resolve("Yesterday", LORD_HOWE, utc(2025, 10, 6, 2))
    assert spring.local_start == datetime(2025, 10, 5)
    assert spring.start_utc == utc(2025, 10, 4, 13, 30)
    assert spring.end_utc == utc(2025, 10, 5, 13)
    assert spring.end_utc - spring.start_utc == timedelta(hours=23, minutes=30)
    assert spring.abbreviation == "LHDT"
    # 2025-04-06 02:00 +11 -> 01:30 +10:30: the day is 24.5 hours long.
    autumn = resolve("Yesterday", LORD_HOWE, utc(2025, 4, 7, 2))
    assert autumn.end_utc - autumn.start_utc == timedelta(hours=24, minutes=30)
    assert autumn.abbreviation == "LHST"
    # The local hour 02:00-03:00 on the spring day only exists from 02:30: it starts at the transition.
    hour = resolve_period("x", PresetFilter(1, 1, 1, 1), LORD_HOWE, utc(2025, 10, 4, 16, 10))  # 03:10 +11
    assert hour.start_utc == utc(2025, 10, 4, 15, 30)
    assert hour.local_start == datetime(2025, 10, 5, 2, 30)
    assert hour.local_end == datetime(2025, 10, 5, 3)


def test_last_7_days_is_seven_whole_days_before_today() -> None:
    period = resolve("Last7Days", NY, utc(2025, 11, 3, 15))
    assert (period.local_start, period.local_end) == (datetime(2025, 10, 27), datetime(2025, 11, 3))
    assert period.end_utc - period.start_utc == timedelta(days=7, hours=1)  # includes the fall-back
    assert not period.settle_lag_applied
    assert resolve("Last30Days", NY, utc(2025, 11, 3, 15)).local_start == datetime(2025, 10, 4)
    assert resolve("Last90Days", NY, utc(2025, 11, 3, 15)).local_start == datetime(2025, 8, 5)


def test_rolling_window_keeps_the_wall_clock_time() -> None:
    ref = utc(2025, 11, 3, 15)  # 10:00 EST
    period = resolve_period("Rolling7", PresetFilter(2, 0, 7, 0), NY, ref, settle_lag=timedelta(0))
    assert period.local_start == datetime(2025, 10, 27, 10)  # 10:00 EDT a week earlier
    assert period.end_utc == ref
    hours = resolve_period(None, PresetFilter(1, 0, 24, 0), NY, ref)
    assert hours.start_utc == ref - timedelta(hours=24)
    assert hours.end_utc == ref - timedelta(minutes=15)
    earlier = resolve_period(None, PresetFilter(4, 1, 1, 0), NY, utc(2025, 3, 31, 16))
    assert earlier.local_start == datetime(2025, 1, 31, 12)  # clamped month arithmetic
    assert earlier.local_end == datetime(2025, 2, 28, 12)


def test_minutes_are_real_minutes() -> None:
    ref = utc(2025, 11, 2, 6, 30, 20)  # 01:30:20 EST, the second 01:30
    period = resolve_period(None, PresetFilter(0, 1, 1, 1), NY, ref)
    assert (period.start_utc, period.end_utc) == (utc(2025, 11, 2, 6, 29), utc(2025, 11, 2, 6, 30))


def test_settle_lag_applies_only_when_the_period_reaches_now() -> None:
    ref = utc(2025, 9, 22, 0, 5)  # 01:05 BST
    yesterday = resolve("Yesterday", LONDON, ref)
    assert yesterday.local_end == datetime(2025, 9, 22) and not yesterday.settle_lag_applied
    today = resolve("Today", LONDON, ref)
    assert today.local_end == datetime(2025, 9, 22, 0, 50) and today.settle_lag_applied
    no_lag = resolve("Today", LONDON, ref, settle_lag=timedelta(0))
    assert no_lag.end_utc == ref
    long_lag = resolve("Today", LONDON, ref, settle_lag=timedelta(hours=2))
    assert long_lag.end_utc == long_lag.start_utc  # nothing settled yet: empty, never inverted
    past = resolve("Custom", LONDON, ref, custom_start="2025-09-01", custom_end="2025-09-02T12:00:00")
    assert (past.local_start, past.local_end) == (datetime(2025, 9, 1), datetime(2025, 9, 2, 12))
    assert not past.settle_lag_applied
    future = resolve("Custom", LONDON, ref, custom_start="2025-09-21", custom_end="2025-09-30")
    assert future.local_end == datetime(2025, 9, 22, 0, 50) and future.settle_lag_applied


def test_custom_range_accepts_instants_and_local_times() -> None:
    ref = utc(2025, 9, 22, 12)
    period = resolve(
        "Custom", NY, ref, custom_start=utc(2025, 9, 1, 4), custom_end=datetime(2025, 9, 2)
    )
    assert period.start_utc == utc(2025, 9, 1, 4) and period.end_utc == utc(2025, 9, 2, 4)
    implied = resolve_period(None, None, NY, ref, custom_start="2025-09-01T00:00:00Z",
                             custom_end="2025-09-02T00:00:00Z")
    assert implied.preset_name == "Custom" and implied.days_of_week == 127


def test_explicit_preset_object_with_any_name_and_days_of_week() -> None:
    ref = utc(2025, 9, 22, 12)
    weekdays = PresetFilter(2, 1, 7, 1, daysOfWeek=62)
    period = resolve_period("My working week", weekdays, LONDON, ref)
    assert period.days_of_week == 62 and period.weekdays == [1, 2, 3, 4, 5]
    assert period.local_start == datetime(2025, 9, 15)
    assert resolve_period(None, weekdays, LONDON, ref).start_utc == period.start_utc
    assert resolve("thisyear", LONDON, ref).preset_name == "ThisYear"


# ------------------------------------------------------------------------------------------------
# refusals


def test_unknown_preset_lists_the_valid_names() -> None:
    with pytest.raises(DateFilterError) as err:
        resolve("Fortnight", LONDON, utc(2025, 1, 1))
    assert err.value.part == "metadata.dateFilter.presetName"
    assert err.value.choices is not None
    assert "Last7Days" in err.value.choices and "Custom" in err.value.choices


def test_unknown_time_zone_names_time_zone_id() -> None:
    with pytest.raises(DateFilterError) as err:
        resolve("Today", "Europe/Londn", utc(2025, 1, 1))
    assert err.value.part == "timeZoneId"
    assert err.value.choices and "Europe/London" in err.value.choices
    with pytest.raises(DateFilterError):
        utc_offset_intervals("Mars/Olympus", utc(2025, 1, 1), utc(2025, 2, 1))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"units": 7}, "units"),
        ({"units": -1}, "units"),
        ({"roundingMode": 2}, "roundingMode"),
        ({"length": 0}, "length"),
        ({"offset": -1}, "offset"),
        ({"daysOfWeek": 0}, "daysOfWeek"),
        ({"daysOfWeek": 128}, "daysOfWeek"),
        ({"units": True}, "units"),
        ({"length": "1"}, "length"),
    ],
)
def test_bad_preset_fields_are_named(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"units": 2, "offset": 0, "length": 1, "roundingMode": 1, **kwargs}
    with pytest.raises(DateFilterError) as err:
        PresetFilter(**values)  # type: ignore[arg-type]
    assert err.value.part == f"metadata.dateFilter.presetFilterObject.{field}"
    with pytest.raises(DateFilterError):
        PresetFilter.from_dict(values)


def test_from_dict_defaults_and_unknown_fields() -> None:
    assert PresetFilter.from_dict({"units": 4}) == PresetFilter(4, 0, 1, 1, 127)
    with pytest.raises(DateFilterError) as err:
        PresetFilter.from_dict({"units": 4, "lenght": 2})
    assert err.value.part.endswith("lenght")


def test_custom_range_must_end_after_it_starts() -> None:
    with pytest.raises(DateFilterError) as err:
        resolve("Custom", LONDON, utc(2025, 9, 22), custom_start="2025-09-02", custom_end="2025-09-01")
    assert err.value.part == "metadata.dateFilter"
    with pytest.raises(DateFilterError) as err:
        resolve("Custom", LONDON, utc(2025, 9, 22), custom_start="2025-09-02")
    assert err.value.part == "metadata.dateFilter.end"
    with pytest.raises(DateFilterError) as err:
        resolve(None, LONDON, utc(2025, 9, 22))
    assert err.value.part == "metadata.dateFilter.presetName"


def test_parse_timestamp_names_a_bad_value() -> None:
    with pytest.raises(ValueError, match="yesterday-ish"):
        parse_timestamp("yesterday-ish", LONDON)
    with pytest.raises(DateFilterError, match="2025-02-30"):
        parse_timestamp("2025-02-30T10:00:00", LONDON)


# ------------------------------------------------------------------------------------------------
# parsing, locales, masks, offsets


def test_parse_timestamp_offsets_and_local_times() -> None:
    assert parse_timestamp("2025-09-22T15:27:40Z", NY) == utc(2025, 9, 22, 15, 27, 40)
    assert parse_timestamp("2025-09-22T15:27:40+05:30", NY) == utc(2025, 9, 22, 9, 57, 40)
    assert parse_timestamp("2025-09-22T15:27:40-0400", LONDON) == utc(2025, 9, 22, 19, 27, 40)
    assert parse_timestamp("2025-09-22 11:27:40", NY) == utc(2025, 9, 22, 15, 27, 40)
    assert parse_timestamp("2025-09-22", KOLKATA) == utc(2025, 9, 21, 18, 30)
    # nonexistent local time: moved to the end of the gap
    assert parse_timestamp("2025-03-09T02:30:00", NY) == utc(2025, 3, 9, 7)
    # ambiguous local time: the first (EDT) occurrence
    assert parse_timestamp("2025-11-02T01:30:00", NY) == utc(2025, 11, 2, 5, 30)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (None, 0), ("", 0), ("en-GB", 0), ("de-DE", 0), ("fr", 0), ("en-US", 6), ("en_US.UTF-8", 6),
        ("en", 6), ("en-CA", 6), ("ja-JP", 6), ("he-IL", 6), ("pt-BR", 6), ("zh-Hant-TW", 6),
        ("ar-EG", 5), ("en-GB-u-fw-sun", 6), ("en-US-u-fw-mon", 0), ("xx-YY", 0),
    ],
)
def test_week_start_for_locale(locale: str | None, expected: int) -> None:
    assert week_start_for_locale(locale) == expected


def test_weekday_numbers() -> None:
    assert weekday_numbers(127) == [1, 2, 3, 4, 5, 6, 7]
    assert weekday_numbers(1) == [7]  # Sunday
    assert weekday_numbers(64) == [6]  # Saturday
    assert weekday_numbers(62) == [1, 2, 3, 4, 5]
    assert weekday_numbers(65) == [6, 7]
    with pytest.raises(DateFilterError):
        weekday_numbers(0)


def test_utc_offset_intervals_for_a_london_year() -> None:
    runs = utc_offset_intervals(LONDON, utc(2025, 1, 1), utc(2026, 1, 1))
    assert runs == [
        (utc(2025, 1, 1), utc(2025, 3, 30, 1), 0),
        (utc(2025, 3, 30, 1), utc(2025, 10, 26, 1), 3600),
        (utc(2025, 10, 26, 1), utc(2026, 1, 1), 0),
    ]
    assert utc_offset_intervals(KOLKATA, utc(2025, 1, 1), utc(2025, 1, 2)) == [
        (utc(2025, 1, 1), utc(2025, 1, 2), 19800)
    ]
    assert utc_offset_intervals(LONDON, utc(2025, 1, 2), utc(2025, 1, 1)) == []


def test_units_table() -> None:
    assert UNITS == {0: "minute", 1: "hour", 2: "day", 3: "week", 4: "month", 5: "quarter", 6: "year"}
    assert set(PRESETS) == {
        "Today", "Yesterday", "ThisWeek", "LastWeek", "ThisMonth", "LastMonth", "ThisQuarter", "LastQuarter",
        "ThisYear", "LastYear", "Last7Days", "Last30Days", "Last90Days", "Last12Months", "Custom",
    }


# ------------------------------------------------------------------------------------------------
# properties

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
zones = st.sampled_from(ZONES)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(zone=zones, ref=instants, unit=st.sampled_from(list(UNITS)), k=st.integers(0, 40),
       week_start=st.sampled_from([0, 6]), rounding=st.sampled_from([0, 1]))
def test_consecutive_periods_tile(zone: str, ref: datetime, unit: int, k: int, week_start: int,
                                  rounding: int) -> None:
    # no settle lag: it trims only the newest period and would blur "union of the two" below
    kw = {"week_start": week_start, "settle_lag": timedelta(0)}
    older = resolve_period(None, PresetFilter(unit, k + 1, 1, rounding), zone, ref, **kw)
    newer = resolve_period(None, PresetFilter(unit, k, 1, rounding), zone, ref, **kw)
    assert older.end_utc == newer.start_utc
    assert older.start_utc <= older.end_utc
    if unit >= 2:  # no zone skips a whole day
        assert older.start_utc < older.end_utc
    # a window of length 2 is exactly the union of the two
    both = resolve_period(None, PresetFilter(unit, k, 2, rounding), zone, ref, **kw)
    assert both.start_utc == older.start_utc and both.end_utc == newer.end_utc


@PROPS
@given(zone=zones, ref=instants, unit=st.sampled_from(list(UNITS)), week_start=st.sampled_from([0, 6]))
def test_current_aligned_period_contains_the_reference(zone: str, ref: datetime, unit: int,
                                                       week_start: int) -> None:
    current = resolve_period(None, PresetFilter(unit, 0, 1, 1), zone, ref, week_start=week_start,
                             settle_lag=timedelta(0))
    assert current.start_utc <= ref
    assert current.end_utc == ref.replace(microsecond=0)
    assert current.settle_lag_applied


@PROPS
@given(zone=zones, ref=instants, unit=st.sampled_from([2, 3, 4, 5, 6]), k=st.integers(0, 30),
       week_start=st.sampled_from([0, 6]))
def test_calendar_periods_start_at_local_midnight(zone: str, ref: datetime, unit: int, k: int,
                                                  week_start: int) -> None:
    period = resolve_period(None, PresetFilter(unit, k, 1, 1), zone, ref, week_start=week_start)
    start = period.local_start
    assert start.time() == datetime.min.time()
    assert period.start_utc.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == start
    if unit == 3:
        assert start.weekday() == week_start
    if unit >= 4:
        assert start.day == 1
    if unit == 5:
        assert start.month in (1, 4, 7, 10)
    if unit == 6:
        assert start.month == 1
    if k > 0:
        end = period.local_end
        assert end.time() == datetime.min.time() and end > start


@PROPS
@given(zone=zones, start=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1200)),
       probes=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=5))
def test_utc_offset_intervals_tile_and_match_zoneinfo(zone: str, start: datetime, span: timedelta,
                                                      probes: list[float]) -> None:
    end = start + span
    runs = utc_offset_intervals(zone, start, end)
    if span == timedelta(0):
        assert runs == []
        return
    assert runs[0][0] == start and runs[-1][1] == end
    info = ZoneInfo(zone)
    for (a, b, off), nxt in zip(runs, [*runs[1:], None], strict=True):
        assert a < b
        if nxt is not None:
            assert nxt[0] == b and nxt[2] != off  # maximal runs
        for edge in (a, b - timedelta(microseconds=1)):
            assert edge.astimezone(info).utcoffset() == timedelta(seconds=off)
        for p in probes:
            inside = min(a + (b - a) * p, b - timedelta(microseconds=1))  # float rounding can reach b
            assert inside.astimezone(info).utcoffset() == timedelta(seconds=off)


@PROPS
@given(zone=zones, wall=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)))
def test_parse_timestamp_round_trips_existing_local_times(zone: str, wall: datetime) -> None:
    info = ZoneInfo(zone)
    wall = wall.replace(microsecond=0)
    exists = wall.replace(tzinfo=info).astimezone(UTC).astimezone(info).replace(tzinfo=None) == wall
    parsed = parse_timestamp(wall.isoformat(), zone)
    local = parsed.astimezone(info).replace(tzinfo=None)
    if exists:
        assert local == wall
        assert parsed == wall.replace(tzinfo=info, fold=0).astimezone(UTC)  # first occurrence
    else:
        assert local > wall  # moved forward to the end of the gap
        just_before = parsed - timedelta(seconds=1)
        assert parsed.astimezone(info).utcoffset() != just_before.astimezone(info).utcoffset()
    # an explicit offset round-trips exactly
    aware = parsed.astimezone(info)
    assert parse_timestamp(aware.isoformat(), LONDON) == parsed


@PROPS
@given(zone=zones, a=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)),
       b=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)))
def test_local_time_conversion_is_monotonic(zone: str, a: datetime, b: datetime) -> None:
    assume(a != b)
    lo, hi = sorted((a, b))
    assert parse_timestamp(lo.isoformat(), zone) <= parse_timestamp(hi.isoformat(), zone)
