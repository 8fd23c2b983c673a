"""Hand-written competitors for the usage, distribution and trunk templates (see benchmarks/competitors/):
``CallDurationDistribution``, ``TrunkUtilisation``, ``CallsByAccountCode``, ``CallingUsage`` and
``CallingDetailedCallHistory`` -- each a DuckDB query and the same query in PostgreSQL 15's dialect,
written from docs/templates.md for the benchmark's request (preset Custom over 2025, default
parameters plus the case's ``params``: no short-call filtering, no ``accountCodeLabels``, no
``countryCode``).
"""

from __future__ import annotations

from math import gcd

from benchmarks.competitors.base import Case, Dialect, Scope, seg_cte

DURATION_BUCKET_SECONDS = 60  # durationGroupPeriodInSeconds (default)
CALL_RATE_PERIOD_MINUTES = 30  # callRatePeriod (default)
TOTAL_TRUNKS = 30  # the request's totalTrunks (the case's params)
US = 1_000_000


# ---- dialect differences ------------------------------------------------------------------------------
def _idiv(d: Dialect, a: str, b: str | int) -> str:
    """Integer division of non-negative integers."""
    return f"(({a}) // ({b}))" if d.name == "duckdb" else f"(({a}) / ({b}))"


def _series(d: Dialect, a: str, b: str) -> str:
    """One row per integer in [a, b] (a set-returning expression in the SELECT list)."""
    return f"unnest(generate_series({a}, {b}))" if d.name == "duckdb" else f"generate_series({a}, {b})"


def _round_int(d: Dialect, x: str) -> str:
    """``x`` rounded half away from zero, as a BIGINT (PostgreSQL's round(double) rounds half to even)."""
    return f"CAST(round({x}) AS BIGINT)" if d.name == "duckdb" else f"CAST(round(CAST({x} AS numeric)) AS BIGINT)"


def _us_plus(d: Dialect, ts: str, secs: str) -> str:
    """Epoch microseconds of ``ts + secs`` (fractional seconds, microsecond precision)."""
    return f"({d.us(ts)} + CAST(round(({secs}) * 1000000) AS BIGINT))"


def _local_us_of_epoch(d: Dialect, secs: str, tz: str) -> str:
    """Local wall time in ``tz`` (as epoch microseconds) of the UTC instant ``secs`` seconds after 1970."""
    return d.us(f"timezone('{tz}', to_timestamp({secs}))")


def _timestamp_of_epoch(d: Dialect, secs: str) -> str:
    """The naive timestamp ``secs`` (integer) seconds after 1970."""
    if d.name == "duckdb":
        return f"make_timestamp(CAST({secs} AS BIGINT) * 1000000)"
    return f"(to_timestamp({secs}) AT TIME ZONE 'UTC')"


def _utc_text(d: Dialect, ts: str) -> str:
    """ISO 8601 UTC with Z, whole seconds (the benchmark's times have no fractions)."""
    if d.name == "duckdb":
        return f"strftime({ts}, '%Y-%m-%dT%H:%M:%SZ')"
    return f"""to_char({ts}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def _offset_minutes_text(d: Dialect, ts: str, tz: str) -> str:
    """``tz``'s UTC offset at the UTC instant ``ts``, in minutes, as text."""
    if d.name == "duckdb":
        return f"CAST((epoch_us({d.local(ts, tz)}) - epoch_us({ts})) // 60000000 AS VARCHAR)"
    return f"CAST(CAST(extract(epoch FROM ({d.local(ts, tz)} - {ts})) AS BIGINT) / 60 AS text)"


# ---- CallDurationDistribution ------------------------------------------------------------------------------
def sql_duration_distribution(d: Dialect, s: Scope) -> str:
    w = DURATION_BUCKET_SECONDS
    return f"""WITH {seg_cte(d, s)},
c AS (SELECT {d.int_(f"floor(greatest(sum(CASE WHEN ans = 1 THEN duration - ring ELSE 0 END), 0) / {w})")} AS b
      FROM seg GROUP BY "connId" HAVING max(ans) = 1),
per AS (SELECT b, count(*) AS calls FROM c GROUP BY b),
tot AS (SELECT sum(calls) AS n, max(b) AS top FROM per),
rows_ AS (SELECT n, {_series(d, "0", "top")} AS b FROM tot)
SELECT {d.int_(f"rows_.b * {w}")} AS "from", {d.int_(f"(rows_.b + 1) * {w}")} AS "upTo",
  {d.int_("coalesce(per.calls, 0)")} AS calls,
  CAST(coalesce(per.calls, 0) AS DOUBLE PRECISION) / nullif(n, 0) AS share
FROM rows_ LEFT JOIN per ON per.b = rows_.b ORDER BY rows_.b"""


# ---- TrunkUtilisation ------------------------------------------------------------------------------------------
def sql_trunks(d: Dialect, s: Scope) -> str:
    """Intervals in epoch µs are cut into UTC slots of gcd(callRatePeriod, 15 min): every zone's
    offset and every offset change is a multiple of 15 minutes, so within one slot the offset, and
    hence the local bucket, is constant. A calendar of the slots over the data's span maps each slot
    to its local bucket (``k`` = local µs // period), which also gives each bucket's real length
    (DST days). Peaks: a sweep of +1 (start) / −1 (end) / 0 (covered slot start) events ordered by
    (time, delta), so intervals are half-open."""
    p = CALL_RATE_PERIOD_MINUTES * 60
    sl = gcd(p, 900)  # slot, seconds
    slu = sl * US
    margin = (p + 86_400) // sl  # slots around the data: a bucket's slots are within a day of it
    end = _us_plus(d, "start", "duration")

    def pieces(src: str, value: str) -> str:
        return f"""SELECT slot, sum(least(eu, (slot + 1) * {slu}) - greatest(su, slot * {slu})) AS {value}
      FROM (SELECT su, eu, {_series(d, _idiv(d, "su", slu), _idiv(d, "eu - 1", slu))} AS slot FROM {src}) x
      GROUP BY slot"""

    return f"""WITH {seg_cte(d, s)},
ext AS (SELECT {d.us("min(start)")} AS su, max({end}) AS eu FROM seg WHERE "callType" = 2 GROUP BY "connId"),
sp AS (SELECT su, eu FROM ext WHERE eu > su),
tk AS (SELECT su, eu FROM (SELECT {_us_plus(d, "start", "ring")} AS su, {end} AS eu FROM seg
                            WHERE "callType" = 2 AND ans = 1) t WHERE eu > su),
occ AS ({pieces("sp", "occ")}),
talk AS ({pieces("tk", "talk")}),
span AS (SELECT {_idiv(d, "min(su)", slu)} - {margin} AS lo, {_idiv(d, "max(eu) - 1", slu)} + {margin} AS hi FROM sp),
cal AS (SELECT slot, {_idiv(d, _local_us_of_epoch(d, f"slot * {sl}", s.tz), p * US)} AS k
        FROM (SELECT {_series(d, "lo", "hi")} AS slot FROM span) c),
ev AS (SELECT slot * {slu} AS t, 0 AS dd FROM occ
       UNION ALL SELECT su, 1 FROM sp
       UNION ALL SELECT eu, -1 FROM sp),
lv AS (SELECT t, dd, sum(dd) OVER (ORDER BY t, dd ROWS UNBOUNDED PRECEDING) AS level FROM ev),
pk AS (SELECT {_idiv(d, "t", slu)} AS slot, max(level) AS peak FROM lv WHERE dd >= 0 GROUP BY 1),
b AS (SELECT cal.k, sum(occ.occ) AS occ, sum(talk.talk) AS talk, max(pk.peak) AS peak
      FROM occ JOIN cal ON cal.slot = occ.slot LEFT JOIN talk ON talk.slot = occ.slot
        LEFT JOIN pk ON pk.slot = occ.slot
      GROUP BY cal.k),
bl AS (SELECT k, CAST(count(*) * {slu} AS DOUBLE PRECISION) AS len FROM cal WHERE k IN (SELECT k FROM b) GROUP BY k)
SELECT {_timestamp_of_epoch(d, f"b.k * {p}")} AS start, {d.int_("coalesce(peak, 0)")} AS "peakConcurrent",
  CAST(occ AS DOUBLE PRECISION) / len AS "avgConcurrent",
  CAST(occ AS DOUBLE PRECISION) / len / {TOTAL_TRUNKS} AS utilisation,
  CAST(coalesce(talk, 0) AS DOUBLE PRECISION) / len AS erlangs,
  CASE WHEN row_number() OVER (ORDER BY occ DESC, b.k) = 1 THEN 1 ELSE 0 END AS "busyHour"
FROM b JOIN bl ON bl.k = b.k ORDER BY b.k"""


# ---- CallsByAccountCode ------------------------------------------------------------------------------------------
def sql_account_codes(d: Dialect, s: Scope) -> str:
    return f"""WITH {seg_cte(d, s)},
pc AS (SELECT "accountCode", "connId", max(ans) AS a, sum(duration) AS duration FROM seg
       GROUP BY "accountCode", "connId")
SELECT "accountCode", CAST(NULL AS VARCHAR) AS label, count(*) AS calls, {d.int_("sum(a)")} AS ans,
  sum(duration) AS duration
FROM pc GROUP BY "accountCode" ORDER BY "accountCode" NULLS LAST"""


# ---- CallingUsage ----------------------------------------------------------------------------------------------
def sql_calling_usage(d: Dialect, s: Scope) -> str:
    def minutes(direction: int) -> str:
        return f"coalesce(sum(talk) FILTER (WHERE \"callDir\" = {direction}), 0) / 60.0"

    return f"""WITH {seg_cte(d, s)},
pc AS (SELECT "userNum", "connId", "callDir", max("userName") AS "userName",
         sum(CASE WHEN ans = 1 THEN duration - ring ELSE 0 END) AS talk
       FROM seg WHERE "userNum" IS NOT NULL GROUP BY "userNum", "connId", "callDir"),
u AS (SELECT "userNum", max("userName") AS "userName",
        count(*) FILTER (WHERE "callDir" = 2) AS incoming, count(*) FILTER (WHERE "callDir" = 3) AS outgoing,
        count(*) FILTER (WHERE "callDir" = 1) AS internal,
        {minutes(2)} AS "incomingMinutes", {minutes(3)} AS "outgoingMinutes", {minutes(1)} AS "internalMinutes"
      FROM pc GROUP BY "userNum")
SELECT "userNum", "userName", incoming, outgoing, internal, "incomingMinutes", "outgoingMinutes",
  "incomingMinutes" + "outgoingMinutes" + "internalMinutes" AS "totalMinutes"
FROM u ORDER BY "userNum" """


# ---- CallingDetailedCallHistory -------------------------------------------------------------------------------------
def sql_webex_history(d: Dialect, s: Scope) -> str:
    """No ``countryCode`` in the request: outgoing external segments are all SIP_NATIONAL."""
    orig = '("callDir" = 3 OR ("callDir" = 1 AND "callUserNum" = "userNum"))'
    end = d.add_seconds("start", "duration")
    return f"""WITH {seg_cte(d, s)},
w AS (SELECT *, {orig} AS orig, max(ans) OVER (PARTITION BY "connId") AS call_ans FROM seg)
SELECT {_utc_text(d, "start")} AS "Start time",
  CASE WHEN ans = 1 THEN {_utc_text(d, d.add_seconds("start", "ring"))} END AS "Answer time",
  {_round_int(d, "CASE WHEN ans = 1 THEN duration - ring ELSE 0 END")} AS "Duration",
  {_round_int(d, "ring")} AS "Ring duration",
  CASE WHEN ans = 1 THEN 'true' ELSE 'false' END AS "Answered",
  CASE WHEN orig THEN 'ORIGINATING' ELSE 'TERMINATING' END AS "Direction",
  CASE WHEN orig THEN coalesce("callUserNum", cli, "userNum") ELSE coalesce("callUserNum", cli) END
    AS "Calling number",
  CASE WHEN orig THEN "calledUserNum" ELSE coalesce("calledUserNum", "userNum") END AS "Called number",
  "userName" AS "User", "userNum" AS "User number",
  CASE WHEN "userNum" IS NULL THEN NULL WHEN "userNum" = "hgNum" THEN 'HuntGroup' ELSE 'User' END AS "User type",
  CASE WHEN "callType" = 1 THEN 'SIP_ENTERPRISE' WHEN "callType" = 2 AND "callDir" = 2 THEN 'SIP_INBOUND'
       WHEN "callType" = 2 THEN 'SIP_NATIONAL' ELSE 'UNKNOWN' END AS "Call type",
  "connId" AS "Correlation ID", "docId" AS "Report ID",
  {_utc_text(d, end)} AS "Release time", {_utc_text(d, end)} AS "Report time",
  {_round_int(d, "hold")} AS "Hold Duration",
  "cliName" AS "Calling line ID", "calledUserName" AS "Called line ID", cli AS "Caller ID number",
  "hgNum" AS "Redirecting number", CASE WHEN "hgNum" IS NOT NULL THEN 'HuntGroup' END AS "Redirect reason",
  CASE WHEN ans = 1 THEN 'Yes' ELSE 'No' END AS "Answer indicator",
  CASE WHEN ref = 1 AND call_ans = 1 THEN 'Yes' END AS "Answered Elsewhere",
  'Success' AS "Call outcome", CASE WHEN ans = 1 THEN 'Normal' ELSE 'NoAnswer' END AS "Call outcome reason",
  "accountCode" AS "Authorization code",
  CASE WHEN "callType" = 2 AND NOT orig THEN trunk END AS "Inbound trunk",
  CASE WHEN "callType" = 2 AND orig THEN trunk END AS "Outbound trunk",
  {_offset_minutes_text(d, "start", s.tz)} AS "Site timezone"
FROM w ORDER BY "docId" """


CASES: dict[str, Case] = {
    "CallDurationDistribution": Case("CallDurationDistribution", "aggregate", sql_duration_distribution, None,
                                     ("from", "upTo", "calls", "share")),
    "TrunkUtilisation": Case("TrunkUtilisation", "aggregate", sql_trunks, None,
                             ("peakConcurrent", "avgConcurrent", "utilisation", "erlangs", "busyHour"),
                             params={"totalTrunks": TOTAL_TRUNKS}),
    "CallsByAccountCode": Case("CallsByAccountCode", "aggregate", sql_account_codes, None,
                               ("calls", "ans", "duration")),
    "CallingUsage": Case("CallingUsage", "aggregate", sql_calling_usage, None,
                         ("incoming", "outgoing", "internal", "incomingMinutes", "outgoingMinutes", "totalMinutes")),
    "CallingDetailedCallHistory": Case("CallingDetailedCallHistory", "list", sql_webex_history, None,
                                       ("Duration", "Ring duration", "Hold Duration"), scopes=("ws",)),
}
