"""The one definition of a call: how segments (SPEC §1) roll up into calls and per-call rows.

Templates aggregate these rows at report time; the DuckDB warehouse keeps the same rows stored
beside the segments (the *stored call rollups*, :data:`STORED`) and reads them instead when the
answer is the same. Both use the functions here, so each definition is written once.

* :func:`segment_view`: stored segments plus the derived fields (``end``, ``talk``, ``startUtc``,
  ``callDirName``, ``callTypeName``);
* :func:`rollup_calls`: one row per call (``CallList``'s definitions, SPEC §3);
* :func:`user_calls` / :func:`code_calls`: one row per call and user / account code;
* :func:`line_spans`: the span a call holds an external line.

Portability (DuckDB and PySpark must give the same answer): timestamps differ through integer
epoch microseconds and "the first segment of a call" is an arg-min over a ``(start, docId)`` struct
key -- both spelled by the engine's :class:`~callboard.calls.functions.EngineFunctions`; adding
float seconds to a timestamp goes through an integer microsecond interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from callboard.calls.functions import EngineFunctions
from callboard.calls.schema import CALL_DIRS, CALL_FIELDS, CALL_TYPE_EXTERNAL, CALL_TYPES

US_PER_SECOND = 1_000_000

CALL_ROLLUPS_TABLE = "call_rollups"
CALL_USERS_TABLE = "call_users"
CALL_CODES_TABLE = "call_codes"
CALL_LINES_TABLE = "call_lines"


def add_seconds(ts: ir.TimestampValue, seconds: ir.NumericValue) -> ir.TimestampValue:
    """``ts + seconds`` for fractional seconds (microsecond precision)."""
    return ts + (seconds * US_PER_SECOND).round().cast("int64").as_interval("us")


def segment_view(t: ir.Table, *, keep: tuple[str, ...] = ()) -> ir.Table:
    """Stored segments plus the derived fields of SPEC §1 (``end``, ``talk``, ``startUtc``,
    ``callDirName``, ``callTypeName``); times stay naive UTC here. ``keep``: storage columns to
    carry along (the workspace, for the stored call rollups)."""
    dir_name = ibis.cases(*[(t.callDir == k, v) for k, v in CALL_DIRS.items()], else_=ibis.null("string"))
    type_name = ibis.cases(*[(t.callType == k, v) for k, v in CALL_TYPES.items()], else_=ibis.null("string"))
    return t.select(
        *keep,
        *[f.name for f in CALL_FIELDS],
        end=add_seconds(t.start, t.duration),
        talk=ibis.cases((t.ans == 1, t.duration - t.ring), else_=0.0),
        startUtc=t.start,
        callDirName=dir_name,
        callTypeName=type_name,
    )


def rollup_calls(segs: ir.Table, fn: EngineFunctions, *, by: tuple[str, ...] = ("connId",),
                 last_start: bool = False) -> ir.Table:
    """One row per call, grouped by ``by`` (which must end with ``connId``; the stored call rollups
    group by workspace too), with ``lastStart`` (the last segment's start) on request:

    * ``start``: the first segment's start; ``end``: the last segment end; ``duration``: end − start;
    * ``cli``/``cliName``/``callType``/``callDir``: the first segment's (ties on start: lowest docId);
    * ``hgNum``/``hgName``: the first hunt group the call visited;
    * ``userName``/``userNum``: the answering user (first segment with ans = 1), else null;
    * ``ans``/``lost``/``ref``: 1 when any segment has the flag;
    * ``ring``: the caller's wait -- first start to the answer (answering segment's start + its
      ring) or, unanswered, to the last segment end;
    * ``talk``: Σ talk of answered segments; ``segments``: how many segments.

    One aggregation per call: the first / first answering / first hunt-group segment's fields are
    picked by ``first_by`` on the ``(start, docId)`` key (three ``row_number()`` windows joined back
    on ``connId`` give the same rows about 2× slower)."""
    key = ibis.struct({"s": segs.start, "d": segs.docId})
    first = ibis.struct({"docId": segs.docId, "cli": segs.cli, "cliName": segs.cliName,
                         "callType": segs.callType, "callDir": segs.callDir})
    answer = ibis.struct({"user": segs.userName, "num": segs.userNum, "at": add_seconds(segs.start, segs.ring)})
    hunt = ibis.struct({"num": segs.hgNum, "name": segs.hgName})
    extra = {"c_last": segs.start.max()} if last_start else {}
    j = segs.group_by(list(by)).aggregate(
        c_start=segs.start.min(),
        c_end=segs.end.max(),
        c_ans=segs.ans.max(),
        c_lost=segs.lost.max(),
        c_ref=segs.ref.max(),
        c_talk=segs.talk.sum(),
        c_hold=segs.hold.sum(),
        c_segments=segs.count(),
        f=fn.first_by(first, key),
        a=fn.first_by(answer, key, where=segs.ans == 1),
        h=fn.first_by(hunt, key, where=segs.hgNum.notnull()),
        **extra,
    )
    waited_until = ibis.coalesce(j.a["at"], j.c_end)
    keys = [k for k in by if k != "connId"]
    return j.select(
        *keys,
        docId=j.connId,
        connId=j.connId,
        start=j.c_start,
        end=j.c_end,
        userName=j.a["user"],
        userNum=j.a["num"],
        cli=j.f["cli"],
        cliName=j.f["cliName"],
        hgNum=j.h["num"],
        hgName=j.h["name"],
        callType=j.f["callType"].cast("int64"),
        callDir=j.f["callDir"].cast("int64"),
        ans=j.c_ans.cast("int64"),
        lost=j.c_lost.cast("int64"),
        ref=j.c_ref.cast("int64"),
        ring=fn.seconds_between(j.c_start, waited_until),
        talk=j.c_talk,
        hold=j.c_hold,
        duration=fn.seconds_between(j.c_start, j.c_end),
        segments=j.c_segments,
        firstDocId=j.f["docId"],
        **({"lastStart": j.c_last} if last_start else {}),
    )


def code_calls(segs: ir.Table, fn: EngineFunctions | None = None, *, by: tuple[str, ...] = ()) -> ir.Table:
    """``CallsByAccountCode``'s per-call step: one row per call and account code (null included)
    with ``a`` (answered on a coded segment), ``d`` (Σ duration) and ``tk`` (Σ talk). ``by``: more
    grouping columns (the stored ``call_codes`` table groups by workspace too)."""
    return segs.group_by([*by, "accountCode", "connId"]).aggregate(
        a=segs.ans.max().cast("int64"), d=segs.duration.sum(), tk=segs.talk.sum())


def user_calls(segs: ir.Table, fn: EngineFunctions | None = None, *, by: tuple[str, ...] = ()) -> ir.Table:
    """``CallingUsage``'s per-call step: one row per call, user and direction (segments without a
    user are not counted) with the user's ``name`` and ``tk`` (Σ talk). ``by`` as in
    :func:`code_calls`."""
    s = segs.filter(segs.userNum.notnull())
    return s.group_by([*by, "userNum", "connId", "callDir"]).aggregate(name=s.userName.max(), tk=s.talk.sum())


def external_segments(segs: ir.Table, fn: EngineFunctions) -> ir.Table:
    """External segments with ``_su``/``_eu``: start and end as integer µs (``end`` is the view's
    start + duration as a timestamp, whose arithmetic costs ~10 % of the whole-table query)."""
    ext = segs.filter(segs.callType == CALL_TYPE_EXTERNAL)
    ext = ext.mutate(_su=fn.epoch_us(ext.start))
    return ext.mutate(_eu=ext._su + (ext.duration * US_PER_SECOND).round().cast("int64"))


def line_spans(segs: ir.Table, fn: EngineFunctions, *, by: tuple[str, ...] = ()) -> ir.Table:
    """``TrunkUtilisation``'s per-call step: the span ``[su, eu)`` (UTC µs) a call holds an external
    line -- first start to last end of its external segments -- one row per call that has any.
    ``by``: more grouping columns (the stored ``call_lines`` table groups by workspace too)."""
    ext = external_segments(segs, fn)
    return ext.group_by([*by, "connId"]).aggregate(su=ext._su.min(), eu=ext._eu.max())


# ---- the stored call rollups ---------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRollup:
    """One stored table: ``rows(segs, fn)`` turns segments (the segment view plus ``workspace``)
    into its rows grouped by workspace, ``connId`` and more; each row gets its call's span."""

    table: str
    rows: Callable[[ir.Table, EngineFunctions], ir.Table]


def _calls(segs: ir.Table, fn: EngineFunctions) -> ir.Table:
    return rollup_calls(segs, fn, by=("workspace", "connId"), last_start=True)


STORED: tuple[StoredRollup, ...] = (
    StoredRollup(CALL_ROLLUPS_TABLE, _calls),
    StoredRollup(CALL_USERS_TABLE, lambda segs, fn: user_calls(segs, fn, by=("workspace",))),
    StoredRollup(CALL_CODES_TABLE, lambda segs, fn: code_calls(segs, fn, by=("workspace",))),
    StoredRollup(CALL_LINES_TABLE, lambda segs, fn: line_spans(segs, fn, by=("workspace",))),
)


def stored_rows(stored: StoredRollup, segments: ir.Table, fn: EngineFunctions, *,
                touched: ir.Table | None = None) -> ir.Table:
    """``stored``'s rows of stored segments (storage columns, ``workspace`` included), each with its
    call's ``start`` and ``lastStart``; with ``touched`` only of the calls whose ``connId`` it lists."""
    if touched is not None:
        segments = segments.semi_join(touched, "connId")
    segs = segment_view(segments, keep=("workspace",))
    rows = stored.rows(segs, fn)
    if "lastStart" in rows.columns:
        return rows
    spans = segs.group_by(["workspace", "connId"]).aggregate(start=segs.start.min(), lastStart=segs.start.max())
    return rows.join(spans, ["workspace", "connId"])
