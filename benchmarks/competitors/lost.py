"""Hand-written competitors for the lost-call templates (see benchmarks/competitors/):
``UnreturnedLostCalls``, ``LostCallRevenue`` (docs/templates.md) and ``RingTimeDistribution``.

Written from the documented definitions, for the benchmark request (preset Custom over 2025, default
template parameters plus ``params``):

* a call is its ``connId``: answered when a segment has ans = 1, lost when none has but one has
  lost = 1; its direction and caller (``cli``/``cliName``) are its first segment's (ties on start:
  lowest docId), its hunt group the first one it visited;
* a lost call is an incoming (``callDir`` 2), unanswered, lost call; callers are compared by their
  number in normal form (:func:`_normal`, countryCode GB); a number without digits is withheld;
* a caller's last lost call is returned when a contact with the number comes after its start and
  within 24 h (``callbackWindowHours``): an outgoing segment dialling it, or an answered incoming call
  from it. Lost calls, attempts, callers and every other figure come from the period's segments only;
  the contacts are also looked for in the window after the period's end ([hi, hi + 24 h), the scope's
  workspace filter too): its outgoing segments, and its incoming calls rolled up on their own (grouped
  by connId over those segments alone: a call that began in the period contributes its later segments
  as a separate contact, timed at the first of them); those segments never make a lost call;
* ``UnreturnedLostCalls`` lists the callers whose last lost call was not returned (``includeReturnedCalls``
  is off by default); the withheld row, never returned, is always listed;
* ``ignoreAbandonedCalls`` / ``ignoreShortAnsweredCalls`` are off by default: no segment is dropped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from benchmarks.competitors.base import Case, Dialect, Scope, seg_cte

CALLBACK_WINDOW_HOURS = 24  # callbackWindowHours, default 24
RING_THRESHOLDS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)  # ringDurationThresholds default
REVENUE, CALLS_PER_SALE = 250.0, 4.0  # incomingEstimatedRevenue, incomingCallsPerSale (set in params)

# countryCode GB: calling code, trunk prefix, international prefixes (longest first)
CALLING_CODE, TRUNK_PREFIX, IDD_PREFIXES = "44", "0", ("00",)
MIN_NATIONAL, MIN_AFTER_CODE = 6, 9  # digits after a trunk / IDD prefix; after the calling code

LOST_PARAMS = {"countryCode": "GB"}


# ---- dialect helpers ---------------------------------------------------------------------------------------
def _trim(d: Dialect, x: str) -> str:
    ws = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"
    return f"trim({x}, {ws})" if d.name == "duckdb" else f"btrim({x}, {ws})"


def _normal(d: Dialect, source: str) -> str:
    """A query of (raw, num) for the distinct non-null ``raw`` values of ``source``: ``num`` is the number in
    normal form ('+' E.164 digits, or the bare digits of a short number; null without digits), docs/templates.md.
    Two regular expressions per value (the same in both dialects): host/parameters and '(0)', then non-digits."""
    s = f"lower({_trim(d, 'raw')})"
    dg = "regexp_replace(regexp_replace(s, '[@;].*$|\\(0\\)', '', 'g'), '[^0-9]', '', 'g')"
    plus = " OR ".join(f"s LIKE '{p}+%'" for p in ("", "tel:", "sip:", "sips:"))
    whens = ["WHEN dg = '' THEN NULL", f"WHEN {plus} THEN '+' || dg"]
    whens += [f"WHEN dg LIKE '{p}%' AND length(dg) >= {len(p) + MIN_NATIONAL} THEN '+' || substr(dg, {len(p) + 1})"
              for p in IDD_PREFIXES]
    whens.append(f"WHEN dg LIKE '{TRUNK_PREFIX}%' AND length(dg) >= {len(TRUNK_PREFIX) + MIN_NATIONAL} "
                 f"THEN '+{CALLING_CODE}' || substr(dg, {len(TRUNK_PREFIX) + 1})")
    whens.append(f"WHEN dg LIKE '{CALLING_CODE}%' AND length(dg) >= {len(CALLING_CODE) + MIN_AFTER_CODE} "
                 f"THEN '+' || dg")
    whens.append(f"WHEN length(dg) >= {MIN_NATIONAL + 1} THEN '+{CALLING_CODE}' || dg")
    return f"""(SELECT raw, CASE {" ".join(whens)} ELSE dg END AS num
   FROM (SELECT raw, s, {dg} AS dg
         FROM (SELECT raw, {s} AS s FROM (SELECT DISTINCT raw FROM {source} WHERE raw IS NOT NULL) r) l) x)"""


def _seg(d: Dialect, s: Scope) -> str:
    """``seg`` (base.seg_cte), inlined where it is read: the lost-call queries read it twice (calls, and
    outgoing segments); materialised, DuckDB would copy the scope's segments first and PostgreSQL would
    plan the steps after it without statistics (row estimates of 200 groups, nested loops)."""
    return seg_cte(d, s).replace("seg AS (", "seg AS NOT MATERIALIZED (", 1)


def _later(d: Dialect, s: Scope) -> str:
    """``later``: the scope's segments (same workspace filter) in the call-back window after the period,
    [hi, hi + callbackWindowHours); contacts only (outgoing segments, answered incoming calls)."""
    after = replace(s, lo=s.hi, hi=s.hi + timedelta(hours=CALLBACK_WINDOW_HOURS))
    return seg_cte(d, after).replace("seg AS (", "later AS NOT MATERIALIZED (", 1)


def _seconds(d: Dialect, a: str, b: str) -> str:
    return f"({d.us(b)} - {d.us(a)}) / 1e6"


# ---- lost calls and their callers ----------------------------------------------------------------------------
def _lost_ctes(d: Dialect, s: Scope) -> str:
    """CTEs ``lost`` (one row per lost call: connId, s, cliName, hgNum, hgName, num) and ``who`` (one row per
    normal number, null = every withheld call: attempts, f_at, l_at, the last lost call's cliName, hgNum,
    hgName, and back_at: the first contact after the caller's last lost call, within the window)."""
    if d.name == "duckdb":
        calls = """
c AS (
  SELECT "connId", min(start) AS s, max(ans) AS ans, max(lost) AS lost,
    arg_min({'dir': "callDir", 'cli': cli, 'name': "cliName"}, (start, "docId")) AS f,
    arg_min({'n': "hgNum", 'm': "hgName"}, (start, "docId")) FILTER (WHERE "hgNum" IS NOT NULL) AS h
  FROM seg GROUP BY "connId"),
inc AS (SELECT "connId", s, ans, f.cli AS cli, f.name AS "cliName", h.n AS "hgNum", h.m AS "hgName"
        FROM c WHERE f.dir = 2 AND (ans = 1 OR lost = 1)),
lc AS (SELECT * EXCLUDE (ans) FROM inc WHERE ans = 0),
c2 AS (
  SELECT min(start) AS s, max(ans) AS ans, arg_min({'dir': "callDir", 'cli': cli}, (start, "docId")) AS f
  FROM later GROUP BY "connId"),
raws AS (SELECT cli AS raw, s AS t FROM inc WHERE ans = 1
         UNION ALL SELECT f.cli, s FROM c2 WHERE f.dir = 2 AND ans = 1
         UNION ALL SELECT "calledUserNum", start FROM seg WHERE "callDir" = 3
         UNION ALL SELECT "calledUserNum", start FROM later WHERE "callDir" = 3),"""
        callers = """
callers AS (
  SELECT num, attempts, f_at, l_at, l.name AS "cliName", l.n AS "hgNum", l.m AS "hgName"
  FROM (SELECT num, count(*) AS attempts, min(s) AS f_at, max(s) AS l_at,
          arg_max({'name': "cliName", 'n': "hgNum", 'm': "hgName"}, (s, "connId")) AS l
        FROM lost GROUP BY num) x),"""
    else:
        # one sort of the segments by (connId, start, docId): the first row of each call (DISTINCT ON) carries
        # the whole-call aggregates and the first hunt group (over the call's ordered window)
        calls = """
inc AS (
  SELECT * FROM (
    SELECT DISTINCT ON ("connId") "connId", start AS s, "callDir" AS dir, cli, "cliName",
      max(ans) OVER w AS ans, max(lost) OVER w AS lost,
      (array_agg("hgNum") FILTER (WHERE "hgNum" IS NOT NULL) OVER w)[1] AS "hgNum",
      (array_agg("hgName") FILTER (WHERE "hgNum" IS NOT NULL) OVER w)[1] AS "hgName"
    FROM seg
    WINDOW w AS (PARTITION BY "connId" ORDER BY start, "docId" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ORDER BY "connId", start, "docId") c
  WHERE dir = 2 AND (ans = 1 OR lost = 1)),
lc AS (SELECT "connId", s, cli, "cliName", "hgNum", "hgName" FROM inc WHERE ans = 0),
c2 AS (
  SELECT DISTINCT ON ("connId") start AS s, "callDir" AS dir, cli, max(ans) OVER w AS ans
  FROM later
  WINDOW w AS (PARTITION BY "connId" ORDER BY start, "docId" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  ORDER BY "connId", start, "docId"),
raws AS (SELECT cli AS raw, s AS t FROM inc WHERE ans = 1
         UNION ALL SELECT cli, s FROM c2 WHERE dir = 2 AND ans = 1
         UNION ALL SELECT "calledUserNum", start FROM seg WHERE "callDir" = 3
         UNION ALL SELECT "calledUserNum", start FROM later WHERE "callDir" = 3),"""
        callers = """
callers AS (
  SELECT DISTINCT ON (num) num, count(*) OVER w AS attempts, min(s) OVER w AS f_at, max(s) OVER w AS l_at,
    "cliName", "hgNum", "hgName"
  FROM lost WINDOW w AS (PARTITION BY num) ORDER BY num, s DESC, "connId" DESC),"""
    return f"""{_seg(d, s)},
{_later(d, s)},{calls}
norm AS {_normal(d, "(SELECT raw FROM raws UNION ALL SELECT cli FROM lc) u")},
lost AS (SELECT lc.*, norm.num FROM lc LEFT JOIN norm ON norm.raw = lc.cli),{callers}
ct AS (SELECT norm.num, raws.t FROM raws JOIN norm USING (raw)),
who AS (
  SELECT cl.num, cl.attempts, cl.f_at, cl.l_at, cl."cliName", cl."hgNum", cl."hgName", min(ct.t) AS back_at
  FROM callers cl LEFT JOIN ct
    ON ct.num = cl.num AND ct.t > cl.l_at AND ct.t <= cl.l_at + INTERVAL '{CALLBACK_WINDOW_HOURS} hours'
  GROUP BY cl.num, cl.attempts, cl.f_at, cl.l_at, cl."cliName", cl."hgNum", cl."hgName")"""


def sql_unreturned(d: Dialect, s: Scope) -> str:
    return f"""WITH {_lost_ctes(d, s)}
SELECT num AS cli, "cliName", {d.int_("CASE WHEN num IS NULL THEN 1 ELSE 0 END")} AS withheld,
  {d.int_("attempts")} AS attempts, {d.local("f_at", s.tz)} AS "firstAttempt",
  {d.local("l_at", s.tz)} AS "lastAttempt", {d.int_("CASE WHEN back_at IS NULL THEN 0 ELSE 1 END")} AS returned,
  {d.local("back_at", s.tz)} AS "returnedAt", {_seconds(d, "l_at", "back_at")} AS "timeToReturn", "hgNum", "hgName"
FROM who WHERE back_at IS NULL ORDER BY withheld, cli"""


def sql_revenue(d: Dialect, s: Scope) -> str:
    """Every lost call counts in its group; each numbered caller counts once, in its last lost call's group;
    each withheld lost call is a caller of its own, never returned."""
    return f"""WITH {_lost_ctes(d, s)},
parts AS (
  SELECT "hgNum", "hgName", 1 AS lc, CASE WHEN num IS NULL THEN 1 ELSE 0 END AS caller,
    CASE WHEN num IS NULL THEN 1 ELSE 0 END AS unret FROM lost
  UNION ALL
  SELECT "hgNum", NULL, 0, 1, CASE WHEN back_at IS NULL THEN 1 ELSE 0 END FROM who WHERE num IS NOT NULL),
g AS (
  SELECT "hgNum", CASE WHEN grouping("hgNum") = 1 THEN NULL ELSE max("hgName") END AS "hgName",
    grouping("hgNum") AS total, sum(lc) AS "lostCalls", sum(caller) AS callers, sum(unret) AS unreturned
  FROM parts GROUP BY ROLLUP ("hgNum"))
SELECT "hgNum", "hgName", {d.int_("total")} AS total, {d.int_('"lostCalls"')} AS "lostCalls",
  {d.int_("callers")} AS callers, {d.int_("unreturned")} AS unreturned,
  unreturned * {REVENUE / CALLS_PER_SALE!r} AS "estimatedRevenueLost"
FROM g ORDER BY total, "hgNum" IS NULL, "hgNum"
"""


# ---- ring time distribution ----------------------------------------------------------------------------------
def sql_ring(d: Dialect, s: Scope) -> str:
    limits = sorted({float(t) for t in RING_THRESHOLDS})
    n = len(limits)
    end = d.add_seconds("start", "duration")
    answer_at = d.add_seconds("start", "ring")
    if d.name == "duckdb":
        calls = f"""
c AS (
  SELECT min(start) AS s, max({end}) AS e, max(ans) AS ans, max(lost) AS lost,
    arg_min_null("callDir", (start, "docId")) AS dir,
    arg_min_null({answer_at}, (start, "docId")) FILTER (WHERE ans = 1) AS ans_at
  FROM seg GROUP BY "connId"),"""
    else:
        # as in _lost_ctes: one sort, the first row of each call carrying the call's window aggregates
        calls = f"""
c AS (
  SELECT DISTINCT ON ("connId") start AS s, "callDir" AS dir, max({end}) OVER w AS e, max(ans) OVER w AS ans,
    max(lost) OVER w AS lost, (array_agg({answer_at}) FILTER (WHERE ans = 1) OVER w)[1] AS ans_at
  FROM seg
  WINDOW w AS (PARTITION BY "connId" ORDER BY start, "docId" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  ORDER BY "connId", start, "docId"),"""
    case = " ".join(f"WHEN wait <= {t!r} THEN {i + 1}" for i, t in enumerate(limits))
    values = ", ".join(f"({i + 1}, CAST({t!r} AS DOUBLE PRECISION))" for i, t in enumerate(limits))
    values += f", ({n + 1}, CAST(NULL AS DOUBLE PRECISION))"
    return f"""WITH {seg_cte(d, s)},{calls}
inc AS (SELECT ans, {_seconds(d, "s", "coalesce(ans_at, e)")} AS wait FROM c WHERE dir = 2 AND (ans = 1 OR lost = 1)),
per AS (SELECT CASE {case} ELSE {n + 1} END AS bucket, count(*) FILTER (WHERE ans = 1) AS answered,
          count(*) FILTER (WHERE ans = 0) AS lost, count(*) AS offered
        FROM inc GROUP BY 1),
b AS (SELECT v.bucket, v."upTo", coalesce(per.answered, 0) AS answered, coalesce(per.lost, 0) AS lost,
        sum(coalesce(per.answered, 0)) OVER (ORDER BY v.bucket ROWS UNBOUNDED PRECEDING) AS cum,
        sum(coalesce(per.offered, 0)) OVER () AS offered
      FROM (VALUES {values}) v(bucket, "upTo") LEFT JOIN per USING (bucket))
SELECT {d.int_("bucket")} AS bucket, "upTo", {d.int_("answered")} AS answered, {d.int_("lost")} AS lost,
  {d.int_("cum")} AS "cumulativeAnswered", CAST(cum AS DOUBLE PRECISION) / nullif(offered, 0) AS "serviceLevel"
FROM b ORDER BY bucket"""


CASES: dict[str, Case] = {
    "UnreturnedLostCalls": Case("UnreturnedLostCalls", "aggregate", sql_unreturned, None,
                                ("withheld", "attempts", "returned", "timeToReturn"), params=LOST_PARAMS,
                                lookahead_hours=CALLBACK_WINDOW_HOURS),
    "LostCallRevenue": Case("LostCallRevenue", "aggregate", sql_revenue, None,
                            ("total", "lostCalls", "callers", "unreturned", "estimatedRevenueLost"),
                            params={**LOST_PARAMS, "incomingEstimatedRevenue": REVENUE,
                                    "incomingCallsPerSale": CALLS_PER_SALE}, lookahead_hours=CALLBACK_WINDOW_HOURS),
    "RingTimeDistribution": Case("RingTimeDistribution", "aggregate", sql_ring, None,
                                 ("upTo", "answered", "lost", "cumulativeAnswered", "serviceLevel")),
}
