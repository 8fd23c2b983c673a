"""pandas competitors for the call-centre analytics templates (see benchmarks/competitors/).

Each function gets the scope's segments (every stored column but ``extra`` and ``workspace``, naive
UTC ``start``; for the lost-call templates also those of the call-back window after the period,
``Case.lookahead_hours``) and returns what callboard returns for the benchmark's request: preset Custom over
the scope's year, ReportRequest's default settings overridden by the case's ``params`` (lost.py,
usage.py: ``countryCode`` GB, ``totalTrunks`` 30, the revenue settings) -- the template's default
display columns under the same names, rows in callboard's order (the template key), timestamps local
wall time in ``s.tz`` where callboard shows them so. Written from docs/templates.md (the templates'
code where the docs leave a detail open); nothing here calls callboard or DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
from math import gcd
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.competitors.base import Scope, _local, _us
from benchmarks.competitors.lost import CASES as LOST_CASES
from benchmarks.competitors.usage import CASES as USAGE_CASES

# ---- the request the benchmark runs: ReportRequest's defaults, overridden by the case's params -------------
DEFAULTS = {
    "ringDurationThresholds": (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120),
    "durationGroupPeriodInSeconds": 60,
    "callbackWindowHours": 24.0,
    "incomingEstimatedRevenue": 0.0,
    "incomingCallsPerSale": 1.0,
    "callRatePeriod": 30,  # minutes
    "totalTrunks": 30,  # the benchmark's request param (callboard's default is 0, unknown)
}
# countryCode GB (the benchmark's request param): calling code, trunk prefix, international prefix
CALLING_CODE, TRUNK_PREFIX, IDD_PREFIX = "44", "0", "00"

INTERNAL, EXTERNAL = 1, 2  # callType
DIR_INTERNAL, DIR_INCOMING, DIR_OUTGOING = 1, 2, 3  # callDir
_US = 1_000_000


# ---- helpers ------------------------------------------------------------------------------------------------
def _param(template: str, name: str) -> Any:
    """A request setting as the benchmark sends it: the case's ``params`` (benchmarks/competitors/lost.py,
    usage.py) where it sets one, else the default."""
    case = {**LOST_CASES, **USAGE_CASES}.get(template)
    params = case.params if case is not None else {}
    if params.get("countryCode", "GB") != "GB":
        raise ValueError("the pandas competitors normalise numbers for countryCode GB only")
    return params.get(name, DEFAULTS[name])


def _round(x: pd.Series | np.ndarray) -> np.ndarray:
    """Round half away from zero (SQL ROUND), as int64."""
    v = np.asarray(x, dtype="float64")
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype("int64")


def _plus_seconds(ts: pd.Series, secs: pd.Series) -> pd.Series:
    return ts + pd.to_timedelta(_round(secs * 1e6), unit="us")


def _end(df: pd.DataFrame) -> pd.Series:
    return _plus_seconds(df["start"], df["duration"])


def _talk(df: pd.DataFrame) -> pd.Series:
    return (df["duration"] - df["ring"]).where(df["ans"] == 1, 0.0)


def _with_call(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus ``_call``: the connId as an integer code (grouping on it is several times faster)."""
    return df.assign(_call=pd.factorize(df["connId"])[0])


def _first(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Each call's (``_call``) first row by (start, docId): ``start`` and ``cols``, indexed by ``_call``.
    Ties on start are rare, so only the tied rows are sorted by docId."""
    d = df[["_call", "start", "docId", *cols]]
    earliest = d[d["start"] == d.groupby("_call")["start"].transform("min")]
    tied = earliest["_call"].duplicated(keep=False)
    if tied.any():
        untied = earliest[~tied]
        earliest = pd.concat([untied, earliest[tied].sort_values("docId", kind="stable").drop_duplicates("_call")])
    return earliest.set_index("_call")[["start", *cols]]


def _normal(raw: pd.Series) -> pd.Series:
    """Phone numbers in the normal form of docs/templates.md (E.164 for countryCode GB), computed once
    per distinct value; null when a number has no digits (withheld)."""
    uniq = pd.Series(raw.dropna().unique(), dtype="str")
    s = uniq.str.lower().str.strip(" \t\n")
    digits = s.str.replace(r"[@;].*$|\(0\)", "", regex=True).str.replace(r"[^0-9]", "", regex=True)
    n = digits.str.len()
    plus = s.str.startswith(("+", "tel:+", "sip:+", "sips:+"))
    norm = np.select(
        [n == 0, plus,
         digits.str.startswith(IDD_PREFIX) & (n >= len(IDD_PREFIX) + 6),
         digits.str.startswith(TRUNK_PREFIX) & (n >= len(TRUNK_PREFIX) + 6),
         digits.str.startswith(CALLING_CODE) & (n >= len(CALLING_CODE) + 9),
         n >= 7],
        [None, "+" + digits,
         "+" + digits.str.slice(len(IDD_PREFIX)),
         "+" + CALLING_CODE + digits.str.slice(len(TRUNK_PREFIX)),
         "+" + digits,
         "+" + CALLING_CODE + digits],
        default=digits.to_numpy(dtype=object))
    return raw.map(pd.Series(norm, index=uniq.to_numpy(), dtype="str"))


def _wait_rollup(df: pd.DataFrame) -> pd.DataFrame:
    """Per call: the first segment's callDir, ans, lost and the caller's wait (CallList's ring)."""
    df = _with_call(df).assign(_e=_end(df))
    g = df.groupby("_call").agg(s=("start", "min"), e=("_e", "max"), ans=("ans", "max"), lost=("lost", "max"))
    first = _first(df, ["callDir"])["callDir"]
    answering = _first(df[df["ans"] == 1], ["ring"])
    at = _plus_seconds(answering["start"], answering["ring"])
    calls = g.join(first).join(at.rename("at"))
    calls["ring"] = (_us(calls["at"].fillna(calls["e"])) - _us(calls["s"])) / 1e6
    return calls


# ---- RingTimeDistribution -----------------------------------------------------------------------------------
def pd_ring_time_distribution(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    limits = np.array(sorted({float(t) for t in _param("RingTimeDistribution", "ringDurationThresholds")}))
    c = _wait_rollup(df)
    inc = c[(c["callDir"] == DIR_INCOMING) & ((c["ans"] == 1) | (c["lost"] == 1))]
    bucket = np.searchsorted(limits, inc["ring"].to_numpy(), side="left") + 1  # first limit >= wait
    answered = inc["ans"].to_numpy() == 1
    n = len(limits) + 1
    out = pd.DataFrame({
        "upTo": np.append(limits, np.nan),
        "answered": np.bincount(bucket[answered], minlength=n + 1)[1:],
        "lost": np.bincount(bucket[~answered], minlength=n + 1)[1:],
    })
    out["cumulativeAnswered"] = out["answered"].cumsum()
    offered = len(inc)
    out["serviceLevel"] = out["cumulativeAnswered"] / offered if offered else np.nan
    return out


# ---- CallDurationDistribution -------------------------------------------------------------------------------
def pd_call_duration_distribution(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    width = int(_param("CallDurationDistribution", "durationGroupPeriodInSeconds"))
    calls = df.assign(_talk=_talk(df)).groupby("connId").agg(ans=("ans", "max"), talk=("_talk", "sum"))
    talk = calls.loc[calls["ans"] == 1, "talk"]
    if talk.empty:
        return pd.DataFrame({"from": pd.Series(dtype="int64"), "upTo": pd.Series(dtype="int64"),
                             "calls": pd.Series(dtype="int64"), "share": pd.Series(dtype="float64")})
    b = np.floor(talk.clip(lower=0.0) / width).astype("int64")
    n = np.bincount(b)
    k = np.arange(len(n))
    return pd.DataFrame({"from": k * width, "upTo": (k + 1) * width, "calls": n,
                         "share": n / len(talk)})


# ---- lost calls ---------------------------------------------------------------------------------------------
def _answered_incoming(df: pd.DataFrame) -> pd.DataFrame:
    """The answered incoming calls of ``df`` (with ``_call``) rolled up over its rows: (cli, start)."""
    flags = df.groupby("_call")["ans"].max()
    calls = _first(df, ["cli", "callDir"]).join(flags)
    return calls[(calls["callDir"] == DIR_INCOMING) & (calls["ans"] == 1)]


def _lost_calls(df: pd.DataFrame, s: Scope, template: str) -> pd.DataFrame:
    """One row per lost incoming call (connId, start, cli, cliName, hgNum, hgName, number), in (start,
    connId) order, with isLast (the caller's latest lost call; every withheld call is its own caller),
    returned and returnedAt (of that latest call).

    ``df`` may run past the period (``s.hi``) by the call-back window (the case's ``lookahead_hours``):
    those later rows are contacts only -- their outgoing segments, and their incoming calls rolled up on
    their own (a call that began in the period contributes its later segments as a separate call)."""
    df = _with_call(df)
    out = df[df["callDir"] == DIR_OUTGOING]
    after = df["start"] >= pd.Timestamp(s.hi)
    later = df[after]
    if len(later):
        df = df[~after]
    flags = df.groupby("_call").agg(connId=("connId", "first"), ans=("ans", "max"), lost=("lost", "max"))
    first = _first(df, ["cli", "cliName", "callDir"])
    hunt = _first(df[df["hgNum"].notna()], ["hgNum", "hgName"])[["hgNum", "hgName"]]
    calls = first.join(flags)
    incoming = calls[calls["callDir"] == DIR_INCOMING]
    lost = incoming[(incoming["ans"] == 0) & (incoming["lost"] == 1)].join(hunt).reset_index(drop=True)
    lost = lost.sort_values(["start", "connId"], kind="stable", ignore_index=True)
    lost["number"] = _normal(lost["cli"])
    lost["isLast"] = lost["number"].isna() | ~lost["number"].duplicated(keep="last")

    # contacts: answered incoming calls from a number, outgoing segments dialling it (in the period, and
    # in the window after it, whose calls are rolled up on their own)
    answered = pd.concat([incoming.loc[incoming["ans"] == 1, ["cli", "start"]],
                          _answered_incoming(later)[["cli", "start"]]], ignore_index=True)
    contacts = pd.concat([pd.DataFrame({"number": _normal(answered["cli"]), "t": answered["start"]}),
                          pd.DataFrame({"number": _normal(out["calledUserNum"]), "t": out["start"]})],
                         ignore_index=True).dropna(subset=["number"]).sort_values("t", kind="stable")
    last = lost.loc[lost["isLast"] & lost["number"].notna(), ["connId", "number", "start"]]
    hit = pd.merge_asof(last, contacts, left_on="start", right_on="t", by="number", direction="forward",
                        allow_exact_matches=False)  # the first contact after the lost call
    window = round(float(_param(template, "callbackWindowHours")) * 3600 * _US)
    within = _us(hit["t"].fillna(hit["start"])) - _us(hit["start"]) <= window
    hit["returnedAt"] = hit["t"].where(within & hit["t"].notna())
    lost = lost.merge(hit[["connId", "returnedAt"]], on="connId", how="left")
    lost["returned"] = lost["returnedAt"].notna()
    return lost


def pd_unreturned_lost_calls(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    lost = _lost_calls(df, s, "UnreturnedLostCalls")
    lost["_k"] = lost["number"].fillna("")
    per = lost.groupby("_k").agg(attempts=("connId", "size"), firstAttempt=("start", "min"),
                                 lastAttempt=("start", "max"))
    latest = lost.drop_duplicates("_k", keep="last").set_index("_k")  # rows are in (start, connId) order
    r = per.join(latest[["number", "cliName", "hgNum", "hgName", "returned", "returnedAt"]])
    r = r[~r["returned"] | r["number"].isna()]  # unreturned callers only (includeReturnedCalls off); withheld: never
    withheld = r["number"].isna()
    returned_at = r["returnedAt"].where(~withheld)
    out = pd.DataFrame({
        "cli": r["number"], "cliName": r["cliName"], "withheld": withheld.astype("int64"),
        "attempts": r["attempts"].astype("int64"), "firstAttempt": _local(r["firstAttempt"], s.tz),
        "lastAttempt": _local(r["lastAttempt"], s.tz), "returned": (r["returned"] & ~withheld).astype("int64"),
        "returnedAt": _local(returned_at, s.tz),
        "timeToReturn": (returned_at - r["lastAttempt"]) / pd.Timedelta(seconds=1),
        "hgNum": r["hgNum"], "hgName": r["hgName"]})
    return out.sort_values(["withheld", "cli"], kind="stable", ignore_index=True)


def pd_lost_call_revenue(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    lost = _lost_calls(df, s, "LostCallRevenue")
    lost["_caller"] = lost["isLast"].astype("int64")
    lost["_unret"] = (lost["isLast"] & ~lost["returned"]).astype("int64")
    measures = {"lostCalls": ("connId", "size"), "callers": ("_caller", "sum"), "unreturned": ("_unret", "sum")}
    groups = lost.groupby("hgNum", dropna=False).agg(hgName=("hgName", "max"), **measures).reset_index()
    groups["total"] = 0
    groups = groups.sort_values(["hgNum"], na_position="last", kind="stable")  # named groups, then no group
    total = pd.DataFrame({"hgNum": [None], "hgName": [None], "lostCalls": [len(lost)],
                          "callers": [lost["_caller"].sum()], "unreturned": [lost["_unret"].sum()], "total": [1]})
    out = pd.concat([groups, total], ignore_index=True)
    out = out.astype({"hgNum": "str", "hgName": "str", "total": "int64", "lostCalls": "int64", "callers": "int64",
                      "unreturned": "int64"})
    out["estimatedRevenueLost"] = out["unreturned"] * (
        float(_param("LostCallRevenue", "incomingEstimatedRevenue"))
        / float(_param("LostCallRevenue", "incomingCallsPerSale")))
    return out[["hgNum", "hgName", "total", "lostCalls", "callers", "unreturned", "estimatedRevenueLost"]]


# ---- TrunkUtilisation -----------------------------------------------------------------------------------------
def _bucket_pieces(lo_us: int, hi_us: int, tz: str, period_us: int) -> tuple[np.ndarray, np.ndarray]:
    """UTC µs boundaries of the pieces of local-time buckets over [lo, hi) (a piece: one bucket within
    one UTC-offset run; the autumn-DST bucket that happens twice has two) and each piece's local bucket
    number (local µs // period)."""
    step = gcd(period_us, 15 * 60 * _US)  # offsets and their changes fall on quarter hours
    day = 86_400 * _US
    grid = np.arange((lo_us // day - 1) * day, (hi_us // day + 2) * day, step)
    local = _us(_local(pd.Series(pd.to_datetime(grid, unit="us")), tz)).to_numpy()
    off = local - grid
    cut = (local % period_us == 0) | np.r_[True, off[1:] != off[:-1]]
    return grid[cut], local[cut] // period_us


def _split(su: np.ndarray, eu: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals [su, eu) split at ``bounds``: for each piece the interval's row, the bound index and
    the µs of the interval inside it."""
    i0 = np.searchsorted(bounds, su, side="right") - 1
    i1 = np.searchsorted(bounds, eu - 1, side="right") - 1
    n = i1 - i0 + 1
    row = np.repeat(np.arange(len(su)), n)
    idx = i0[row] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    ov = np.minimum(eu[row], bounds[idx + 1]) - np.maximum(su[row], bounds[idx])
    return row, idx, ov


def pd_trunk_utilisation(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    period = int(_param("TrunkUtilisation", "callRatePeriod")) * 60 * _US
    trunks = int(_param("TrunkUtilisation", "totalTrunks"))
    ext = df[df["callType"] == EXTERNAL]
    ext_end = _us(_end(ext))
    spans = pd.DataFrame({"connId": ext["connId"], "su": _us(ext["start"]), "eu": ext_end}).groupby("connId").agg(
        su=("su", "min"), eu=("eu", "max"))
    spans = spans[spans["eu"] > spans["su"]]
    talking = ext["ans"] == 1
    tsu = _us(ext.loc[talking, "start"]).to_numpy() + _round(ext.loc[talking, "ring"] * _US)
    teu = ext_end[talking].to_numpy()
    keep = teu > tsu
    tsu, teu = tsu[keep], teu[keep]
    su, eu = spans["su"].to_numpy(), spans["eu"].to_numpy()
    if len(su) == 0:
        return pd.DataFrame({"start": pd.Series(dtype="datetime64[us]"),
                             **{c: pd.Series(dtype="int64" if c in ("peakConcurrent", "busyHour") else "float64")
                                for c in ("peakConcurrent", "avgConcurrent", "utilisation", "erlangs", "busyHour")}})

    bounds, bucket = _bucket_pieces(int(su.min()), int(eu.max()), s.tz, period)
    length = pd.Series(np.diff(bounds), index=bucket[:-1]).groupby(level=0).sum()

    row, idx, ov = _split(su, eu, bounds)
    occupied = pd.Series(ov).groupby(bucket[idx]).sum()
    _, tidx, tov = _split(tsu, teu, bounds)
    talked = pd.Series(tov).groupby(bucket[tidx]).sum()

    # peaks: a sweep over +1 at a call's start, -1 at its end and a 0 marker where each covered bucket
    # piece begins, ordered by (time, delta): ends before markers before starts (half-open intervals)
    piece_start = np.maximum(su[row], bounds[idx])
    markers = pd.DataFrame({"k": bucket[idx], "t": piece_start, "d": 0}).drop_duplicates()
    first = idx == np.searchsorted(bounds, su, side="right")[row] - 1
    starts = pd.DataFrame({"k": bucket[idx[first]], "t": su[row[first]], "d": 1})
    ends = pd.DataFrame({"k": -1, "t": eu, "d": -1})
    ev = pd.concat([markers, starts, ends], ignore_index=True).sort_values(["t", "d"], kind="stable")
    ev["level"] = ev["d"].cumsum()
    peak = ev[ev["d"] >= 0].groupby("k")["level"].max()

    out = pd.DataFrame({"occ": occupied})
    out["talk"] = talked.reindex(out.index).fillna(0)
    out["peak"] = peak.reindex(out.index).fillna(0).astype("int64")
    sec = length.reindex(out.index).astype("float64")
    out = out.sort_index()
    avg = out["occ"] / sec
    busy = np.zeros(len(out), dtype="int64")
    busy[np.argmax(out["occ"].to_numpy())] = 1  # the first (earliest) of the largest
    return pd.DataFrame({
        "start": pd.to_datetime(out.index.to_numpy() * period, unit="us").astype("datetime64[us]"),
        "peakConcurrent": out["peak"].to_numpy(),
        "avgConcurrent": avg.to_numpy(),
        "utilisation": (avg / trunks).to_numpy() if trunks else np.nan,
        "erlangs": (out["talk"] / sec).to_numpy(),
        "busyHour": busy,
    })


# ---- usage ----------------------------------------------------------------------------------------------------
def pd_calls_by_account_code(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    per_call = df.assign(_talk=_talk(df)).groupby(["accountCode", "connId"], dropna=False).agg(
        a=("ans", "max"), d=("duration", "sum"), tk=("_talk", "sum"))
    agg = per_call.groupby(level="accountCode", dropna=False).agg(
        calls=("a", "size"), ans=("a", "sum"), duration=("d", "sum")).reset_index()
    agg["label"] = pd.Series(dtype="str")  # accountCodeLabels: none given
    agg = agg.sort_values("accountCode", na_position="last", kind="stable", ignore_index=True)
    agg = agg.astype({"calls": "int64", "ans": "int64", "label": "str"})
    return agg[["accountCode", "label", "calls", "ans", "duration"]]


def pd_calling_usage(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    seg = df[df["userNum"].notna()]
    per_call = seg.assign(_talk=_talk(seg)).groupby(["userNum", "connId", "callDir"]).agg(
        name=("userName", "max"), tk=("_talk", "sum")).reset_index()
    d = per_call["callDir"]
    w = per_call.assign(
        incoming=(d == DIR_INCOMING).astype("int64"), outgoing=(d == DIR_OUTGOING).astype("int64"),
        internal=(d == DIR_INTERNAL).astype("int64"),
        incomingMinutes=per_call["tk"].where(d == DIR_INCOMING, 0.0) / 60.0,
        outgoingMinutes=per_call["tk"].where(d == DIR_OUTGOING, 0.0) / 60.0,
        internalMinutes=per_call["tk"].where(d == DIR_INTERNAL, 0.0) / 60.0)
    out = w.groupby("userNum").agg(
        userName=("name", "max"), incoming=("incoming", "sum"), outgoing=("outgoing", "sum"),
        internal=("internal", "sum"), incomingMinutes=("incomingMinutes", "sum"),
        outgoingMinutes=("outgoingMinutes", "sum"), internalMinutes=("internalMinutes", "sum")).reset_index()
    out["totalMinutes"] = out["incomingMinutes"] + out["outgoingMinutes"] + out["internalMinutes"]
    return out.drop(columns="internalMinutes").sort_values("userNum", kind="stable", ignore_index=True)


# ---- CallingDetailedCallHistory -------------------------------------------------------------------------------
def _utc_text(ts: pd.Series) -> pd.Series:
    """Naive-UTC times as ISO 8601 with Z: whole seconds unless a value has a fraction (then ms)."""
    frac = (ts.dropna() != ts.dropna().dt.floor("s")).any()
    unit = "ms" if frac else "s"
    text = np.datetime_as_string(ts.to_numpy().astype(f"datetime64[{unit}]"), unit=unit)
    return pd.Series(np.char.add(text, "Z"), index=ts.index, dtype="str").where(ts.notna())


def pd_calling_detailed_call_history(df: pd.DataFrame, s: Scope) -> pd.DataFrame:
    df = df.sort_values("docId", kind="stable", ignore_index=True)
    ans = df["ans"] == 1
    ctype, cdir = df["callType"], df["callDir"]
    # SQL three-valued logic: an internal segment with no callUserNum is neither originating nor not
    same_user = df["callUserNum"] == df["userNum"]
    unknown = (cdir == DIR_INTERNAL) & df["callUserNum"].isna()
    originating = (cdir == DIR_OUTGOING) | ((cdir == DIR_INTERNAL) & same_user)
    external = ctype == EXTERNAL
    dialled = _normal(df["calledUserNum"])
    international = (cdir == DIR_OUTGOING) & dialled.str.startswith("+").fillna(False) & \
        ~dialled.str.startswith("+" + CALLING_CODE).fillna(True)
    call_type = np.select([ctype == INTERNAL, external & (cdir == DIR_INCOMING), external & international, external],
                          ["SIP_ENTERPRISE", "SIP_INBOUND", "SIP_INTERNATIONAL", "SIP_NATIONAL"], "UNKNOWN")
    incoming_ext = external & ~originating & ~unknown
    outgoing_ext = external & originating
    end = _end(df)
    hg = df["hgNum"].notna()
    call_answered = df.groupby("connId")["ans"].transform("max") == 1
    start_local = _local(df["start"], s.tz)
    tz_minutes = ((_us(start_local) - _us(df["start"])) // (60 * _US)).astype("str")
    text = _utc_text(end)
    na = pd.Series(pd.NA, index=df.index, dtype="str")

    def pick(cond: pd.Series, yes: str | pd.Series, no: str | pd.Series | None = None) -> pd.Series:
        yes_s = yes if isinstance(yes, pd.Series) else pd.Series(yes, index=df.index, dtype="str")
        return yes_s.where(cond, na if no is None else no)

    return pd.DataFrame({
        "Start time": _utc_text(df["start"]),
        "Answer time": _utc_text(_plus_seconds(df["start"], df["ring"]).where(ans)),
        "Duration": _round(_talk(df)),
        "Ring duration": _round(df["ring"]),
        "Answered": pick(ans, "true", "false"),
        "Direction": pick(originating, "ORIGINATING", "TERMINATING"),
        "Calling number": pick(originating, df["callUserNum"].fillna(df["cli"]).fillna(df["userNum"]),
                               df["callUserNum"].fillna(df["cli"])),
        "Called number": pick(originating, df["calledUserNum"], df["calledUserNum"].fillna(df["userNum"])),
        "User": df["userName"],
        "User number": df["userNum"],
        "User type": pick(df["userNum"].notna(), pick(hg & (df["userNum"] == df["hgNum"]), "HuntGroup", "User")),
        "Call type": pd.Series(call_type, index=df.index, dtype="str"),
        "Correlation ID": df["connId"],
        "Report ID": df["docId"],
        "Release time": text,
        "Report time": text,
        "Hold Duration": _round(df["hold"]),
        "Calling line ID": df["cliName"],
        "Called line ID": df["calledUserName"],
        "Caller ID number": df["cli"],
        "Redirecting number": df["hgNum"],
        "Redirect reason": pick(hg, "HuntGroup"),
        "Answer indicator": pick(ans, "Yes", "No"),
        "Answered Elsewhere": pick((df["ref"] == 1) & call_answered, "Yes"),
        "Call outcome": pick(pd.Series(True, index=df.index), "Success"),
        "Call outcome reason": pick(ans, "Normal", "NoAnswer"),
        "Authorization code": df["accountCode"],
        "Inbound trunk": df["trunk"].where(incoming_ext),
        "Outbound trunk": df["trunk"].where(outgoing_ext),
        "Site timezone": tz_minutes,
    })


PANDAS: dict[str, Callable[[pd.DataFrame, Scope], pd.DataFrame]] = {
    "RingTimeDistribution": pd_ring_time_distribution,
    "CallDurationDistribution": pd_call_duration_distribution,
    "UnreturnedLostCalls": pd_unreturned_lost_calls,
    "LostCallRevenue": pd_lost_call_revenue,
    "TrunkUtilisation": pd_trunk_utilisation,
    "CallsByAccountCode": pd_calls_by_account_code,
    "CallingUsage": pd_calling_usage,
    "CallingDetailedCallHistory": pd_calling_detailed_call_history,
}
