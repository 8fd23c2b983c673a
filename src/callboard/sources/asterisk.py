"""Asterisk ``cdr_csv`` Master.csv (oss-and-formats §2.1) → canonical segments.

Master.csv has no header and its width depends on ``cdr.conf``: 16 columns (base), 18 (+uniqueid,
userfield) or 21 (+peeraccount, linkedid, sequence). We detect the layout from the column count, or
take an explicit ``columns=`` list for the ambiguous widths (17, 19, 20) and ``cdr_custom`` orders.
Stamps are server-local wall times, converted with the source's time zone (see
:func:`callboard.sources.canonical.local_to_utc` for ambiguous/skipped hours). The mapping rules are
documented in ``docs/formats/asterisk.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from typing import Any

import pyarrow as pa

from callboard.calls.schema import (
    CALL_TYPE_EXTERNAL,
    CALL_TYPE_INTERNAL,
    DIR_INCOMING,
    DIR_INTERNAL,
    DIR_OUTGOING,
)
from callboard.sources.base import (
    MAX_REPORTED_ERRORS,
    Input,
    RowError,
    SourceError,
    finish_segments,
    read_bytes,
    source_label,
)
from callboard.sources.canonical import check_time_zone, local_to_utc

BASE_COLUMNS: tuple[str, ...] = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
    "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)
LAYOUTS: dict[int, tuple[str, ...]] = {
    16: BASE_COLUMNS,
    18: (*BASE_COLUMNS, "uniqueid", "userfield"),
    21: (*BASE_COLUMNS, "uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}
KNOWN_COLUMNS = frozenset(LAYOUTS[21])
DISPOSITIONS = frozenset({"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "CANCEL"})
# Offered but not taken: these legs get ref (or lost when the call ended there unanswered).
OFFERED_UNANSWERED = frozenset({"NO ANSWER", "BUSY", "CANCEL"})
DEFAULT_INTERNAL_PATTERN = r"\d{2,6}"
_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_CLID_RE = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<num>[^>]*)>\s*$')


def parse_columns_option(value: str) -> tuple[str, ...]:
    """``columns=accountcode,src,...``: an explicit layout (names as in cdr_csv / the cdr table)."""
    names = tuple(n.strip().lower() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in KNOWN_COLUMNS]
    if unknown:
        raise ValueError(f"unknown Asterisk column(s) {', '.join(unknown)}; known: {', '.join(LAYOUTS[21])}")
    missing = [n for n in ("start", "disposition") if n not in names]
    if missing:
        raise ValueError(f"columns= must include {', '.join(missing)}")
    return names


def channel_resource(channel: str | None) -> str | None:
    """``PJSIP/1001-0000002a`` → ``1001``; ``SIP/trunk-voipms-0000004`` → ``trunk-voipms``;
    ``Local/1001@from-internal-0000;1`` → ``1001``. Empty channel → None."""
    if not channel:
        return None
    rest = channel.split("/", 1)[1] if "/" in channel else channel
    rest = rest.split(";", 1)[0]
    if "-" in rest:
        head, tail = rest.rsplit("-", 1)
        if re.fullmatch(r"[0-9a-fA-F]+", tail):  # the channel's sequence suffix
            rest = head
    return rest.split("@", 1)[0] or None


def split_clid(clid: str | None) -> tuple[str | None, str | None]:
    """``"Alice" <1000>`` → (``Alice``, ``1000``)."""
    if not clid:
        return None, None
    m = _CLID_RE.match(clid)
    if not m:
        return clid.strip('" ') or None, None
    return (m.group("name").strip() or None), (m.group("num").strip() or None)


def _nz(value: str | None) -> str | None:
    return value if value else None


def read(data: Input, *, source: str | None = None, time_zone: str | None = None,
         options: dict[str, str] | None = None, content_type: str | None = None) -> pa.Table:
    """Read a Master.csv file into canonical segments (all-or-nothing)."""
    source = source or source_label(data)
    options = options or {}
    tz = check_time_zone(source, time_zone)
    try:
        internal = re.compile(options.get("internal_pattern") or DEFAULT_INTERNAL_PATTERN)
        layout = parse_columns_option(options["columns"]) if options.get("columns") else None
    except (re.error, ValueError) as exc:
        raise SourceError(source, [RowError(None, None, f"bad option: {exc}")]) from None

    text = read_bytes(data).decode("utf-8", errors="replace").removeprefix("\ufeff")
    errors: list[RowError] = []
    records: list[dict[str, str]] = []
    rows: list[int] = []
    for row_no, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if layout is None:
            if len(fields) not in LAYOUTS:
                errors.append(RowError(row_no, None, f"expected 16, 18 or 21 columns, got {len(fields)} "
                                                     "(set the columns= option for other cdr.conf layouts)"))
                continue
            layout = LAYOUTS[len(fields)]
        if len(fields) != len(layout):
            errors.append(RowError(row_no, None, f"expected {len(layout)} columns, got {len(fields)}"))
            continue
        rec = dict(zip(layout, fields, strict=True))
        rec["_raw"] = "\x1f".join(fields)
        _check_record(rec, row_no, errors)
        records.append(rec)
        rows.append(row_no)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    if errors:
        raise SourceError(source, errors[:MAX_REPORTED_ERRORS])
    return _segments(records, tz, internal)


def _check_record(rec: dict[str, str], row_no: int, errors: list[RowError]) -> None:
    for col in ("start", "end"):
        if col in rec and not _TIME_RE.fullmatch(rec[col]):
            errors.append(RowError(row_no, col, f"expected YYYY-MM-DD HH:MM:SS, got {rec[col]!r}"))
    if rec.get("answer") and not _TIME_RE.fullmatch(rec["answer"]):
        errors.append(RowError(row_no, "answer", f"expected YYYY-MM-DD HH:MM:SS or empty, got {rec['answer']!r}"))
    for col in ("duration", "billsec", "sequence"):
        value = rec.get(col)
        if value is not None and not (value.isdigit() or (col == "sequence" and value == "")):
            errors.append(RowError(row_no, col, f"expected a whole number ≥ 0, got {value!r}"))
    if rec["disposition"] not in DISPOSITIONS:
        errors.append(RowError(row_no, "disposition",
                               f"unknown disposition {rec['disposition']!r}; expected one of "
                               f"{', '.join(sorted(DISPOSITIONS))}"))
    if rec["disposition"] == "ANSWERED" and "answer" in rec and not rec["answer"]:
        errors.append(RowError(row_no, "answer", "disposition ANSWERED but no answer time"))


def _to_utc(values: list[str | None], tz: str) -> list[Any]:
    arr = pa.array(values, pa.string()).cast(pa.timestamp("us"))
    return local_to_utc(arr, tz).to_pylist()


def _segments(records: list[dict[str, str]], tz: str, internal: re.Pattern[str]) -> pa.Table:
    if not records:
        return finish_segments({"start": pa.array([], pa.timestamp("us", tz="UTC"))})
    starts = _to_utc([r["start"] for r in records], tz)
    answers = _to_utc([r.get("answer") or None for r in records], tz)
    ends = _to_utc([r.get("end") or None for r in records], tz)

    def is_internal(party: str | None) -> bool:
        return bool(party) and internal.fullmatch(party) is not None

    cols: dict[str, list[Any]] = defaultdict(list)
    for i, r in enumerate(records):
        seq = r.get("sequence")
        uid = r.get("uniqueid") or None
        doc = f"{uid}:{seq}" if uid and seq else "ast:" + hashlib.sha1(r["_raw"].encode()).hexdigest()
        conn = r.get("linkedid") or uid or doc
        a_res, b_res = channel_resource(r.get("channel")), channel_resource(r.get("dstchannel"))
        cli_name, cli_num = split_clid(r.get("clid"))
        src = r.get("src") or cli_num
        dst = r.get("dst") or None
        a_internal = is_internal(a_res) if a_res else is_internal(src)
        b_internal = is_internal(b_res) if b_res else is_internal(dst)
        if a_internal and b_internal:
            call_type, call_dir = CALL_TYPE_INTERNAL, DIR_INTERNAL
            user = b_res or dst
        elif a_internal:
            call_type, call_dir = CALL_TYPE_EXTERNAL, DIR_OUTGOING
            user = a_res or src
        else:  # from a trunk: incoming (trunk-to-trunk forwards count as incoming too)
            call_type, call_dir = CALL_TYPE_EXTERNAL, DIR_INCOMING
            user = b_res if b_internal and b_res else (dst if b_internal else None)
        trunk = None
        if call_type == CALL_TYPE_EXTERNAL:
            trunk = a_res if not a_internal else (b_res if not b_internal else None)
        answered = r["disposition"] == "ANSWERED"
        start, answer, end = starts[i], answers[i], ends[i]
        duration = float(r["duration"]) if r.get("duration") else (
            (end - start).total_seconds() if end else 0.0)
        if answered and answer is not None:
            ring = max((answer - start).total_seconds(), 0.0)
        elif answered:
            ring = max(duration - float(r.get("billsec") or 0), 0.0)
        else:
            ring = duration
        queue = r.get("lastapp", "").lower() == "queue"
        cols["docId"].append(doc)
        cols["connId"].append(conn)
        cols["start"].append(start)
        cols["ring"].append(min(ring, duration) if duration else ring)
        cols["duration"].append(duration)
        cols["userNum"].append(user)
        cols["userName"].append(cli_name if call_dir == DIR_OUTGOING else None)
        cols["cli"].append(src)
        cols["cliName"].append(cli_name)
        cols["hgNum"].append(dst if queue else None)
        cols["hgName"].append((r.get("lastdata") or "").split(",", 1)[0] or None if queue else None)
        cols["callType"].append(call_type)
        cols["callDir"].append(call_dir)
        cols["ans"].append(1 if answered else 0)
        cols["calledUserNum"].append(dst)
        cols["callUserNum"].append(src)
        cols["callUserName"].append(cli_name)
        cols["accountCode"].append(_nz(r.get("accountcode")))
        cols["trunk"].append(trunk)
        cols["_end"].append(end or start)
        cols["_seq"].append(int(seq) if seq else 0)
        cols["_disp"].append(r["disposition"])
    offered = [d in OFFERED_UNANSWERED for d in cols["_disp"]]
    ref, lost = assign_ref_lost(cols["connId"], cols["ans"], offered, cols["_end"], cols["_seq"])
    cols["ref"], cols["lost"] = ref, lost
    out: dict[str, Any] = {k: v for k, v in cols.items() if not k.startswith("_")}
    out["start"] = pa.array(cols["start"], pa.timestamp("us", tz="UTC"))
    table = finish_segments(out)
    return table.sort_by([("start", "ascending"), ("docId", "ascending")]) if table.num_rows > 1 else table


def assign_ref_lost(conn: list[str], ans: list[int], offered: list[bool], end: list[Any],
                    seq: list[int]) -> tuple[list[int], list[int]]:
    """Per call (connId): if any leg answered, every offered-but-unanswered leg is ``ref``; otherwise
    the last offered leg (latest end, then sequence, then file order) is ``lost`` and earlier ones ``ref``.
    Legs that were never offered (Asterisk FAILED/CONGESTION, FreeSWITCH routing failures) get neither."""
    ref = [0] * len(conn)
    lost = [0] * len(conn)
    calls: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(conn):
        calls[c].append(i)
    for legs in calls.values():
        rang = [i for i in legs if not ans[i] and offered[i]]
        if not rang:
            continue
        answered = any(ans[i] for i in legs)
        last = None if answered else max(rang, key=lambda i: (end[i], seq[i], i))
        for i in rang:
            if i == last:
                lost[i] = 1
            else:
                ref[i] = 1
    return ref, lost


__all__ = ["LAYOUTS", "assign_ref_lost", "channel_resource", "read", "split_clid"]
