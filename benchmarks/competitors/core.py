"""The competitors of the core templates (the call lists, the summaries by user and hunt group, the
four by-time templates): a hand-written DuckDB SQL query, the same query for PostgreSQL 15 (its
dialect) and a pandas script each. Conventions: :mod:`benchmarks.competitors.base`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.competitors.base import Case, Dialect, Scope, _local, _us, seg_cte

SERVICE_LEVEL_SECONDS = 10.0  # the first ringDurationThresholds value (default [10, 20, …])


# ---- call rollup (CallList's definitions) ------------------------------------------------------------
def rollup_ctes(d: Dialect) -> str:
    """``calls``: one row per connId with s, e, ans, lost, ref, talk, segments, ring (wait), duration,
    and the first / answering / first-hunt-group segment's fields."""
    end = d.add_seconds("start", "duration")
    if d.name == "duckdb":
        at = d.add_seconds("start", "ring")
        return f"""
agg AS (
  SELECT "connId", min(start) AS s, max({end}) AS e,
    min_by({{'cli': cli, 'cliName': "cliName", 'callType': "callType", 'callDir': "callDir"}},
           (start, "docId")) AS f,
    min_by({{'u': "userName", 'n': "userNum", 'at': {at}}}, (start, "docId")) FILTER (WHERE ans = 1) AS a,
    min_by({{'n': "hgNum", 'm': "hgName"}}, (start, "docId")) FILTER (WHERE "hgNum" IS NOT NULL) AS h,
    max(ans) AS ans, max(lost) AS lost, max(ref) AS ref,
    sum(CASE WHEN ans = 1 THEN duration - ring ELSE 0 END) AS talk, count(*) AS segments
  FROM seg GROUP BY "connId"),
calls AS (
  SELECT "connId", s, e, f.cli AS cli, f."cliName" AS "cliName", f."callType" AS "callType",
    f."callDir" AS "callDir", a.u AS "userName", a.n AS "userNum", h.n AS "hgNum", h.m AS "hgName",
    ans, lost, ref, talk, segments,
    (epoch_us(coalesce(a.at, e)) - epoch_us(s)) / 1e6 AS ring, (epoch_us(e) - epoch_us(s)) / 1e6 AS duration
  FROM agg)"""
    return f"""
agg AS (
  SELECT "connId", min(start) AS s, max({end}) AS e, max(ans) AS ans, max(lost) AS lost, max(ref) AS ref,
    sum(CASE WHEN ans = 1 THEN duration - ring ELSE 0 END) AS talk, count(*) AS segments
  FROM seg GROUP BY "connId"),
f AS (SELECT DISTINCT ON ("connId") "connId", cli, "cliName", "callType", "callDir" FROM seg
      ORDER BY "connId", start, "docId"),
a AS (SELECT DISTINCT ON ("connId") "connId", "userName", "userNum", {d.add_seconds("start", "ring")} AS at
      FROM seg WHERE ans = 1 ORDER BY "connId", start, "docId"),
h AS (SELECT DISTINCT ON ("connId") "connId", "hgNum", "hgName" FROM seg WHERE "hgNum" IS NOT NULL
      ORDER BY "connId", start, "docId"),
calls AS (
  SELECT agg."connId", s, e, f.cli, f."cliName", f."callType", f."callDir", a."userName", a."userNum",
    h."hgNum", h."hgName", ans, lost, ref, talk, segments,
    ({d.us("coalesce(a.at, e)")} - {d.us("s")}) / 1e6 AS ring, ({d.us("e")} - {d.us("s")}) / 1e6 AS duration
  FROM agg LEFT JOIN f USING ("connId") LEFT JOIN a USING ("connId") LEFT JOIN h USING ("connId"))"""


# ---- the templates --------------------------------------------------------------------------------------
SEGMENT_COLUMNS = ("connId", "start", "userName", "userNum", "cli", "cliName", "hgNum", "callType", "callDir",
                   "ans", "ref", "lost", "ring", "duration", "calledUserNum", "calledUserName", "callUserName",
                   "callUserNum", "hgName", "docId")
_INTS = {"callType", "callDir", "ans", "ref", "lost"}


def sql_segmented(d: Dialect, s: Scope) -> str:
    cols = []
    for c in SEGMENT_COLUMNS:
        if c == "start":
            cols.append(f"{d.local('start', s.tz)} AS start")
        elif c in _INTS:
            cols.append(f'{d.int_(chr(34) + c + chr(34))} AS "{c}"')
        else:
            cols.append(f'"{c}"')
    return f"WITH {seg_cte(d, s)} SELECT {', '.join(cols)} FROM seg ORDER BY \"docId\""


def sql_call_list(d: Dialect, s: Scope) -> str:
    return f"""WITH {seg_cte(d, s)}, {rollup_ctes(d)}
SELECT "connId", {d.local("s", s.tz)} AS start, "userName", "userNum", cli, "cliName", "hgNum", "hgName",
  {d.int_('"callType"')} AS "callType", {d.int_('"callDir"')} AS "callDir", {d.int_("ans")} AS ans,
  {d.int_("lost")} AS lost, ring, duration, segments, "connId" AS "docId"
FROM calls ORDER BY "docId" """


def _measures(d: Dialect) -> str:
    return f"""sum(ring) AS ring, avg(ring) FILTER (WHERE ans = 1) AS "avgRing", max(ring) AS "maxRing",
  sum(CASE WHEN ans = 1 THEN duration - ring ELSE 0 END) AS talk,
  avg(duration - ring) FILTER (WHERE ans = 1) AS "avgTalk", sum(duration) AS duration,
  count(*) FILTER (WHERE ans = 1 AND ring <= {SERVICE_LEVEL_SECONDS}) AS fast,
  count(*) FILTER (WHERE ans = 1 OR lost = 1) AS offered"""


def sql_by_user(d: Dialect, s: Scope) -> str:
    """Segments per user; ``answerRate`` leaves out the user's refused segments of calls that a segment of
    another user (another userNum, or none) answered: per (call, user) the user's answers and refusals, the
    call's answers in all, and a refusal is "answered elsewhere" when the call has more answers than the
    user's own."""
    return f"""WITH {seg_cte(d, s)},
u AS (SELECT "userNum", max("userName") AS "userName", count(*) AS calls, {d.int_("sum(ans)")} AS ans,
        {d.int_("sum(ref)")} AS ref, {d.int_("sum(lost)")} AS lost, {_measures(d)}
      FROM seg GROUP BY "userNum"),
cu AS (SELECT "connId", "userNum", count(*) FILTER (WHERE ans = 1) AS own, count(*) FILTER (WHERE ref = 1) AS refs
       FROM seg GROUP BY "connId", "userNum"),
cc AS (SELECT "connId", sum(own) AS total FROM cu GROUP BY "connId"),
e AS (SELECT "userNum", sum(CASE WHEN cc.total > cu.own THEN cu.refs ELSE 0 END) AS elsewhere
      FROM cu JOIN cc USING ("connId") GROUP BY "userNum")
SELECT u."userNum", "userName", calls, ans, ref, lost, ring, "avgRing", "maxRing", talk, "avgTalk", duration,
  CAST(ans AS DOUBLE PRECISION) / nullif(ans + lost + ref - e.elsewhere, 0) AS "answerRate",
  CAST(fast AS DOUBLE PRECISION) / nullif(offered, 0) AS "serviceLevel"
FROM u JOIN e ON u."userNum" IS NOT DISTINCT FROM e."userNum" ORDER BY u."userNum" """


def _group_calls(d: Dialect) -> str:
    """``pc``: one row per hunt group and call with its outcome there (a, lo, r) and ``wait``, the caller's
    wait in the group: from the call's first segment in the group to the answer there (the first answering
    segment's start + ring, by (start, docId)), or unanswered there to the end of its last segment there."""
    end = d.add_seconds("start", "duration")
    at = d.add_seconds("start", "ring")
    wait = f'({d.us("coalesce(ans_at, e)")} - {d.us("s")}) / 1e6'
    if d.name == "duckdb":
        return f"""
pa AS (SELECT "hgNum", "connId", max(ans) AS a, max(lost) AS lo, max(ref) AS r, min(start) AS s, max({end}) AS e,
         arg_min({at}, (start, "docId")) FILTER (WHERE ans = 1) AS ans_at
       FROM g GROUP BY "hgNum", "connId"),
pc AS (SELECT "hgNum", "connId", a, lo, r, {wait} AS wait FROM pa)"""
    return f"""
pa AS (SELECT "hgNum", "connId", max(ans) AS a, max(lost) AS lo, max(ref) AS r, min(start) AS s, max({end}) AS e
       FROM g GROUP BY "hgNum", "connId"),
fa AS (SELECT DISTINCT ON ("hgNum", "connId") "hgNum", "connId", {at} AS ans_at FROM g WHERE ans = 1
       ORDER BY "hgNum", "connId", start, "docId"),
pc AS (SELECT "hgNum", "connId", a, lo, r, {wait} AS wait FROM pa LEFT JOIN fa USING ("hgNum", "connId"))"""


def sql_by_group(d: Dialect, s: Scope) -> str:
    """Calls per hunt group; the ring figures and the service level are per call (the wait in the group)."""
    return f"""WITH {seg_cte(d, s)},
g AS (SELECT * FROM seg WHERE "hgNum" IS NOT NULL),{_group_calls(d)},
c AS (SELECT "hgNum", count(*) AS calls, count(*) FILTER (WHERE a = 1) AS ans,
        count(*) FILTER (WHERE lo = 1) AS lost, count(*) FILTER (WHERE r = 1 AND a = 0 AND lo = 0) AS ref,
        sum(wait) AS ring, avg(wait) FILTER (WHERE a = 1) AS "avgRing", max(wait) AS "maxRing",
        count(*) FILTER (WHERE a = 1 AND wait <= {SERVICE_LEVEL_SECONDS}) AS fast,
        count(*) FILTER (WHERE a = 1 OR lo = 1) AS offered
      FROM pc GROUP BY "hgNum"),
m AS (SELECT "hgNum", max("hgName") AS "hgName", sum(CASE WHEN ans = 1 THEN duration - ring ELSE 0 END) AS talk,
        avg(duration - ring) FILTER (WHERE ans = 1) AS "avgTalk", sum(duration) AS duration
      FROM g GROUP BY "hgNum")
SELECT "hgNum", "hgName", calls, ans, ref, lost, ring, "avgRing", "maxRing", talk, "avgTalk", duration,
  CAST(ans AS DOUBLE PRECISION) / nullif(calls, 0) AS "answerRate",
  CAST(fast AS DOUBLE PRECISION) / nullif(offered, 0) AS "serviceLevel"
FROM c JOIN m USING ("hgNum") ORDER BY "hgNum" """


@dataclass(frozen=True)
class TimeKey:
    """How a by-time template keys a local timestamp, and the bucket occurrence ('instance') it is in."""

    keys: Callable[[Dialect, str], list[tuple[str, str]]]
    instance: Callable[[Dialect, str], str]


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _dayname(d: Dialect, x: str) -> str:
    whens = " ".join(f"WHEN {i + 1} THEN '{n}'" for i, n in enumerate(_DAY_NAMES))
    return f"CASE {d.isodow(x)} {whens} END"


TIME_KEYS: dict[str, TimeKey] = {
    "CallsByStartTime": TimeKey(lambda d, x: [("start", d.bucket(x, 30))], lambda d, x: d.bucket(x, 30)),
    "CallsByHourOfDay": TimeKey(lambda d, x: [("hour", d.hour(x))], lambda d, x: f"date_trunc('hour', {x})"),
    "CallsByDayOfWeek": TimeKey(lambda d, x: [("dayOfWeek", d.isodow(x)), ("dayName", _dayname(d, x))],
                                lambda d, x: f"date_trunc('day', {x})"),
    "CallsByDate": TimeKey(lambda d, x: [("date", f"CAST({x} AS DATE)")], lambda d, x: f"date_trunc('day', {x})"),
}


def sql_by_time(template: str) -> Callable[[Dialect, Scope], str]:
    tk = TIME_KEYS[template]

    def build(d: Dialect, s: Scope) -> str:
        loc = d.local
        keys_c = tk.keys(d, "l")
        names = [n for n, _ in keys_c]
        qn = ", ".join(f'"{n}"' for n in names)
        end = d.add_seconds("start", "duration")

        def keyed(x: str) -> str:
            return ", ".join(f'{e} AS "{n}"' for n, e in tk.keys(d, x))

        return f"""WITH {seg_cte(d, s)}, {rollup_ctes(d)},
lc AS (SELECT *, {loc("s", s.tz)} AS l FROM calls),
agg2 AS (SELECT {", ".join(f'{e} AS "{n}"' for n, e in keys_c)}, count(*) AS calls,
           sum(segments) AS segments, {d.int_("sum(ans)")} AS ans, {d.int_("sum(lost)")} AS lost,
           sum(ring) AS ring, sum(talk) AS talk
         FROM lc GROUP BY {", ".join(str(i + 1) for i in range(len(names)))}),
spans AS (SELECT "connId", min(start) AS s, max({end}) AS e FROM seg WHERE "callType" = 2 GROUP BY "connId"),
ev AS (
  SELECT {tk.instance(d, "l")} AS inst, min({d.us("s")} - ({d.us("l")} - {d.us(tk.instance(d, "l"))})) AS t,
    0 AS dd FROM lc GROUP BY 1
  UNION ALL SELECT {tk.instance(d, loc("s", s.tz))}, {d.us("s")}, 1 FROM spans
  UNION ALL SELECT {tk.instance(d, loc("e", s.tz))}, {d.us("e")}, -1 FROM spans),
lv AS (SELECT inst, dd, sum(dd) OVER (ORDER BY t, dd ROWS UNBOUNDED PRECEDING) AS level FROM ev),
pk AS (SELECT inst, max(level) AS peak FROM lv WHERE dd >= 0 GROUP BY inst),
pk2 AS (SELECT {keyed("inst")}, max(peak) AS "peakConcurrent" FROM pk GROUP BY {
            ", ".join(str(i + 1) for i in range(len(names)))})
SELECT {qn}, calls, segments, ans, lost, ring, talk, {d.int_('coalesce("peakConcurrent", 0)')} AS "peakConcurrent"
FROM agg2 LEFT JOIN pk2 USING ({qn}) ORDER BY {qn}"""

    return build


# ---- pandas ----------------------------------------------------------------------------------------------
def pd_segmented(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    out = df[list(SEGMENT_COLUMNS)].copy()
    out["start"] = _local(out["start"], s.tz)
    for c in _INTS:
        out[c] = out[c].astype("int64")
    return out.sort_values("docId", kind="stable").reset_index(drop=True)



def pd_rollup(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["connId", "start", "docId"], kind="stable")
    end = df["start"] + pd.to_timedelta((df["duration"] * 1e6).round().astype("int64"), unit="us")
    talk = np.where(df["ans"] == 1, df["duration"] - df["ring"], 0.0)
    work = df.assign(_e=end, _talk=talk)
    g = work.groupby("connId", sort=True)
    calls = g.agg(s=("start", "min"), e=("_e", "max"), ans=("ans", "max"), lost=("lost", "max"),
                  ref=("ref", "max"), talk=("_talk", "sum"), segments=("docId", "size"))
    first = work.drop_duplicates("connId").set_index("connId")[["cli", "cliName", "callType", "callDir"]]
    answered = work[work["ans"] == 1].drop_duplicates("connId").set_index("connId")
    at = answered["start"] + pd.to_timedelta((answered["ring"] * 1e6).round().astype("int64"), unit="us")
    ans_cols = pd.DataFrame({"userName": answered["userName"], "userNum": answered["userNum"], "at": at})
    hunt = work[work["hgNum"].notna()].drop_duplicates("connId").set_index("connId")[["hgNum", "hgName"]]
    calls = calls.join(first).join(ans_cols).join(hunt)
    waited = calls["at"].fillna(calls["e"])
    calls["ring"] = (_us(waited) - _us(calls["s"])) / 1e6
    calls["duration"] = (_us(calls["e"]) - _us(calls["s"])) / 1e6
    return calls.reset_index()


def pd_call_list(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    c = pd_rollup(df)
    out = pd.DataFrame({
        "connId": c["connId"], "start": _local(c["s"], s.tz), "userName": c["userName"], "userNum": c["userNum"],
        "cli": c["cli"], "cliName": c["cliName"], "hgNum": c["hgNum"], "hgName": c["hgName"],
        "callType": c["callType"].astype("int64"), "callDir": c["callDir"].astype("int64"),
        "ans": c["ans"].astype("int64"), "lost": c["lost"].astype("int64"), "ring": c["ring"],
        "duration": c["duration"], "segments": c["segments"].astype("int64"), "docId": c["connId"]})
    return out.sort_values("docId", kind="stable").reset_index(drop=True)


def _pd_measures(df: pd.DataFrame, key: str) -> pd.DataFrame:
    ans = df["ans"] == 1
    talk = np.where(ans, df["duration"] - df["ring"], 0.0)
    w = df.assign(_talk=talk, _aring=df["ring"].where(ans), _atalk=pd.Series(talk, index=df.index).where(ans),
                  _fast=(ans & (df["ring"] <= SERVICE_LEVEL_SECONDS)).astype("int64"),
                  _off=(ans | (df["lost"] == 1)).astype("int64"))
    return w.groupby(key, dropna=False).agg(
        ring=("ring", "sum"), avgRing=("_aring", "mean"), maxRing=("ring", "max"), talk=("_talk", "sum"),
        avgTalk=("_atalk", "mean"), duration=("duration", "sum"), _fast=("_fast", "sum"), _off=("_off", "sum"))


def pd_by_user(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    g = df.groupby("userNum", dropna=False)
    base = g.agg(userName=("userName", "max"), calls=("docId", "size"), ans=("ans", "sum"), ref=("ref", "sum"),
                 lost=("lost", "sum"))
    m = base.join(_pd_measures(df, "userNum"))
    for c in ("ans", "ref", "lost"):
        m[c] = m[c].astype("int64")
    # refusals answered elsewhere: per (call, user) the user's answers and refusals; the call's answers in all
    cu = df.assign(_own=df["ans"].astype("int64"), _refs=df["ref"].astype("int64")).groupby(
        ["connId", "userNum"], dropna=False).agg(own=("_own", "sum"), refs=("_refs", "sum")).reset_index()
    total = cu.groupby("connId")["own"].transform("sum")
    cu["_else"] = cu["refs"].where(total > cu["own"], 0)
    m["_else"] = cu.groupby("userNum", dropna=False)["_else"].sum()
    den = (m["ans"] + m["lost"] + m["ref"] - m["_else"]).replace(0, np.nan)
    m["answerRate"] = m["ans"] / den
    m["serviceLevel"] = m["_fast"] / m["_off"].replace(0, np.nan)
    return m.drop(columns=["_fast", "_off", "_else"]).reset_index().sort_values("userNum").reset_index(drop=True)


def pd_by_group(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    g = df[df["hgNum"].notna()].sort_values(["hgNum", "connId", "start", "docId"], kind="stable")
    end = g["start"] + pd.to_timedelta((g["duration"] * 1e6).round().astype("int64"), unit="us")
    work = g.assign(_e=end)
    per = work.groupby(["hgNum", "connId"]).agg(a=("ans", "max"), lo=("lost", "max"), r=("ref", "max"),
                                                s=("start", "min"), e=("_e", "max"))
    # the first answering segment in the group of each call (rows are in (start, docId) order)
    answering = work[work["ans"] == 1].drop_duplicates(["hgNum", "connId"]).set_index(["hgNum", "connId"])
    at = answering["start"] + pd.to_timedelta((answering["ring"] * 1e6).round().astype("int64"), unit="us")
    per = per.join(at.rename("at"))
    per["wait"] = (_us(per["at"].fillna(per["e"])) - _us(per["s"])) / 1e6
    answered = per["a"] == 1
    per = per.assign(_a=answered.astype("int64"), _l=(per["lo"] == 1).astype("int64"),
                     _r=((per["r"] == 1) & ~answered & (per["lo"] == 0)).astype("int64"),
                     _await=per["wait"].where(answered),
                     _fast=(answered & (per["wait"] <= SERVICE_LEVEL_SECONDS)).astype("int64"),
                     _off=(answered | (per["lo"] == 1)).astype("int64")).reset_index()
    c = per.groupby("hgNum").agg(calls=("connId", "size"), ans=("_a", "sum"), ref=("_r", "sum"), lost=("_l", "sum"),
                                 ring=("wait", "sum"), avgRing=("_await", "mean"), maxRing=("wait", "max"),
                                 _fast=("_fast", "sum"), _off=("_off", "sum"))
    seg = _pd_measures(g, "hgNum")[["talk", "avgTalk", "duration"]]
    m = c.join(g.groupby("hgNum").agg(hgName=("hgName", "max"))).join(seg)
    m["answerRate"] = m["ans"] / m["calls"].replace(0, np.nan)
    m["serviceLevel"] = m["_fast"] / m["_off"].replace(0, np.nan)
    cols = ["hgName", "calls", "ans", "ref", "lost", "ring", "avgRing", "maxRing", "talk", "avgTalk", "duration",
            "answerRate", "serviceLevel"]
    return m[cols].reset_index().sort_values("hgNum").reset_index(drop=True)


def pd_by_time(template: str) -> Callable[[pd.DataFrame, Scope], pd.DataFrame]:
    def keys(local: pd.Series) -> dict[str, pd.Series]:
        if template == "CallsByStartTime":
            return {"start": local.dt.floor("30min")}
        if template == "CallsByHourOfDay":
            return {"hour": local.dt.hour.astype("int64")}
        if template == "CallsByDayOfWeek":
            dow = local.dt.dayofweek
            return {"dayOfWeek": (dow + 1).astype("int64"), "dayName": dow.map(dict(enumerate(_DAY_NAMES)))}
        return {"date": local.dt.date}

    def instance(local: pd.Series) -> pd.Series:
        if template == "CallsByStartTime":
            return local.dt.floor("30min")
        if template == "CallsByHourOfDay":
            return local.dt.floor("h")
        return local.dt.floor("D")

    def build(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
        c = pd_rollup(df)
        local = _local(c["s"], s.tz)
        k = pd.DataFrame(keys(local))
        names = list(k.columns)
        agg = pd.concat([k, c[["segments", "ans", "lost", "ring", "talk"]]], axis=1).groupby(names).agg(
            calls=("segments", "size"), segments=("segments", "sum"), ans=("ans", "sum"), lost=("lost", "sum"),
            ring=("ring", "sum"), talk=("talk", "sum"))
        inst = instance(local)
        marker_t = (_us(c["s"]) - (_us(local) - _us(inst)))
        markers = pd.DataFrame({"inst": inst, "t": marker_t}).groupby("inst", as_index=False)["t"].min()
        markers["d"] = 0
        ext = df[df["callType"] == 2]
        e_end = ext["start"] + pd.to_timedelta((ext["duration"] * 1e6).round().astype("int64"), unit="us")
        spans = ext.assign(_e=e_end).groupby("connId").agg(s=("start", "min"), e=("_e", "max"))
        starts = pd.DataFrame({"inst": instance(_local(spans["s"], s.tz)), "t": _us(spans["s"]), "d": 1})
        ends = pd.DataFrame({"inst": instance(_local(spans["e"], s.tz)), "t": _us(spans["e"]), "d": -1})
        ev = pd.concat([markers, starts, ends], ignore_index=True).sort_values(["t", "d"], kind="stable")
        ev["level"] = ev["d"].cumsum()
        pk = ev[ev["d"] >= 0].groupby("inst")["level"].max()
        pk_keys = pd.DataFrame(keys(pd.Series(pk.index)))
        pk_keys["peakConcurrent"] = pk.to_numpy()
        peak = pk_keys.groupby(names)["peakConcurrent"].max()
        out = agg.join(peak)
        out["peakConcurrent"] = out["peakConcurrent"].fillna(0).astype("int64")
        for col in ("ans", "lost"):
            out[col] = out[col].astype("int64")
        return out.reset_index().sort_values(names).reset_index(drop=True)

    return build




# ---- the core cases ------------------------------------------------------------------------------------
_TIME_CHECKS = ("calls", "segments", "ans", "lost", "ring", "talk", "peakConcurrent")
CASES: dict[str, Case] = {
    "CallListByUserSegmented": Case("CallListByUserSegmented", "list", sql_segmented, pd_segmented,
                                    ("ans", "ref", "lost", "ring", "duration"), scopes=("ws",)),
    "CallList": Case("CallList", "list", sql_call_list, pd_call_list,
                     ("ans", "lost", "ring", "duration", "segments"), scopes=("ws",)),
    "CallSummaryByUser": Case("CallSummaryByUser", "aggregate", sql_by_user, pd_by_user,
                              ("calls", "ans", "ref", "lost", "ring", "talk", "duration", "maxRing", "answerRate",
                               "serviceLevel")),
    "CallSummaryByHuntGroup": Case("CallSummaryByHuntGroup", "aggregate", sql_by_group, pd_by_group,
                                   ("calls", "ans", "ref", "lost", "ring", "talk", "duration", "maxRing", "avgRing",
                                    "answerRate", "serviceLevel")),
    # the whole-table scope for one of the four (they share the call rollup and the sweep): time
    **{name: Case(name, "aggregate", sql_by_time(name), pd_by_time(name), _TIME_CHECKS,
                  scopes=("ws", "all") if name == "CallsByDate" else ("ws",)) for name in TIME_KEYS},
}

