"""3CX CDR lines → canonical segments.

3CX writes one comma-separated line per call, with no header, in the field order the admin picked
under "CDR output fields"; the import therefore takes that order as ``options["fields"]`` (default:
all 27 documented fields in documented order). v20 quirks handled: the literal ``Call `` prefix on the
first field, durations as ``HH:MM:SS``, times as ``YYYY/MM/DD HH:MM:SS`` (UTC unless a time zone is
given) and the chain as ``Chain: a;b;c;``. One 3CX record is one call, so it becomes one segment; the
mapping is documented in ``docs/formats/3cx.md``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    check_no_errors,
    finish_segments,
    read_bytes,
)

# The 27 CDR fields 3CX documents, in the documented (and default v20) order.
FIELDS: tuple[str, ...] = (
    "historyid", "callid", "duration", "time-start", "time-answered", "time-end", "reason-terminated",
    "from-no", "to-no", "from-dn", "to-dn", "dial-no", "reason-changed", "final-number", "final-dn",
    "bill-code", "bill-rate", "bill-cost", "bill-name", "chain", "from-type", "to-type", "final-type",
    "from-dispname", "to-dispname", "final-dispname", "missed-queue-calls",
)
REQUIRED_FIELDS = ("time-start",)
# Fields whose value lands in a canonical field; the others are kept in ``extra``.
MAPPED_FIELDS = frozenset({
    "historyid", "callid", "duration", "time-start", "time-answered", "time-end", "from-no", "to-no",
    "from-dn", "to-dn", "dial-no", "final-number", "final-dn", "bill-code", "from-type", "to-type",
    "final-type", "from-dispname", "to-dispname", "final-dispname",
})
# Party types (``from-type``, ``to-type``, ``final-type``), compared by :func:`party_type`: 3CX versions
# and configurations spell them differently (``ExternalLine``/``External``, ``RingGroup``/``Ring Group``).
# An external side is the outside party, reached through a trunk, so its DN is the trunk, never a user;
# every other type (``Extension``, ``Internal``, queues, IVR, voicemail …) is a party of this PBX.
EXTERNAL_TYPES = frozenset({"line", "externalline", "external"})
GROUP_TYPES = frozenset({"queue", "ringgroup"})
# Unanswered and ended by the destination = turned down there; any other end = nobody answered.
REFUSED_REASONS = frozenset({"TerminatedByDst"})

_DURATION = re.compile(r"^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def parse_duration(text: str) -> float:
    """``HH:MM:SS`` (hours may exceed 24, seconds may carry a fraction) → seconds."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration HH:MM:SS: {text!r}")
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def format_duration(seconds: int) -> str:
    """Seconds → 3CX ``HH:MM:SS`` (the inverse of :func:`parse_duration` for whole seconds)."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def parse_time(text: str, zone: ZoneInfo | None) -> datetime:
    """A 3CX stamp (``YYYY/MM/DD HH:MM:SS``; the socket output uses dashes) in UTC or ``zone``."""
    text = text.strip()
    for fmt in _TIME_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=UTC) if zone is None else naive.replace(tzinfo=zone).astimezone(UTC)
    raise ValueError(f"not a time YYYY/MM/DD HH:MM:SS: {text!r}")


def field_order(options: dict[str, str] | None, source: str) -> list[str]:
    """The configured field order, checked against the documented names (a typo must not shift data)."""
    spec = (options or {}).get("fields")
    if not spec:
        return list(FIELDS)
    names = [n.strip().lower() for n in spec.split(",")]
    errors = [RowError(None, "fields", f"unknown 3CX CDR field {n!r}") for n in names if n not in FIELDS]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            errors.append(RowError(None, "fields", f"field {n!r} listed twice"))
        seen.add(n)
    errors += [RowError(None, "fields", f"the field list must include {r!r}")
               for r in REQUIRED_FIELDS if r not in names]
    if errors:
        raise SourceError(source, errors)
    return names


def _zone(time_zone: str | None, source: str) -> ZoneInfo | None:
    if not time_zone or time_zone.upper() == "UTC":
        return None
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SourceError(source, [RowError(None, None, f"unknown time zone {time_zone!r}")]) from exc


def party_type(value: str | None) -> str | None:
    """A 3CX party type folded for comparison: lower case, spaces dropped (``Ring Group`` → ``ringgroup``)."""
    if value is None:
        return None
    return "".join(value.split()).lower() or None


def _number(value: str | None) -> str | None:
    """3CX writes extensions as ``Ext.101``; the number is what follows."""
    if value is None:
        return None
    return value[4:] if value.startswith("Ext.") else value


def read(
    data: Input,
    *,
    source: str,
    time_zone: str | None = None,
    options: dict[str, str] | None = None,
    content_type: str | None = None,
) -> pa.Table:
    """3CX CDR lines → canonical segments (one per call); any bad line refuses the whole file."""
    names = field_order(options, source)
    zone = _zone(time_zone, source)
    try:
        text = read_bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(source, [RowError(None, None, f"not UTF-8 text: {exc}")]) from exc
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != len(names):
            errors.append(RowError(number, None, f"expected {len(names)} fields, found {len(cells)}"))
        else:
            row = _parse_row(number, dict(zip(names, cells, strict=True)), zone, errors)
            if row is not None:
                rows.append(row)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    check_no_errors(source, errors)
    return finish_segments(_columns(rows))


def _parse_row(number: int, raw: dict[str, str], zone: ZoneInfo | None,
               errors: list[RowError]) -> dict[str, Any] | None:
    values: dict[str, str | None] = {k: (v.strip() or None) for k, v in raw.items()}
    first = next(iter(raw))
    head = values[first]
    if head and head.startswith("Call "):  # v20 prefixes the record with "Call "
        values[first] = head[5:].strip() or None
    chain = values.get("chain")
    if chain:
        values["chain"] = chain.removeprefix("Chain:").strip() or None
    before = len(errors)

    def time_of(name: str) -> datetime | None:
        text = values.get(name)
        if text is None:
            return None
        try:
            return parse_time(text, zone)
        except ValueError as exc:
            errors.append(RowError(number, name, str(exc)))
            return None

    start, answered, end = time_of("time-start"), time_of("time-answered"), time_of("time-end")
    if values.get("time-start") is None:
        errors.append(RowError(number, "time-start", "missing value"))
    talk = None
    duration_text = values.get("duration")
    if duration_text is not None:
        try:
            talk = parse_duration(duration_text)
        except ValueError as exc:
            errors.append(RowError(number, "duration", str(exc)))
    for name, stamp in (("time-answered", answered), ("time-end", end)):
        if start is not None and stamp is not None and stamp < start:
            errors.append(RowError(number, name, "earlier than time-start"))
    if len(errors) > before or start is None:
        return None
    if answered is not None:
        ring = max((answered - start).total_seconds(), 0.0)
    else:
        ring = max((end - start).total_seconds(), 0.0) if end else 0.0
    duration = max((end - start).total_seconds(), ring) if end is not None else ring + (talk or 0.0)
    return {"values": values, "start": start, "ring": ring, "duration": duration, "ans": answered is not None}


def _columns(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {n: [] for n in (
        "docId", "connId", "start", "ring", "duration", "userName", "userNum", "cli", "cliName", "hgNum",
        "hgName", "callType", "callDir", "ans", "ref", "lost", "calledUserNum", "calledUserName",
        "callUserNum", "callUserName", "accountCode", "trunk", "extra")}
    for row in rows:
        v: dict[str, str | None] = row["values"]
        from_type, to_type = party_type(v.get("from-type")), party_type(v.get("to-type"))
        given_final = party_type(v.get("final-type"))
        final_type = given_final or to_type  # the destination the call ended with
        ctype: int | None
        cdir: int | None
        if from_type in EXTERNAL_TYPES:  # from outside (also trunk-to-trunk forwards): an incoming call
            ctype, cdir, trunk = CALL_TYPE_EXTERNAL, DIR_INCOMING, v.get("from-dn")
        elif final_type in EXTERNAL_TYPES:
            ctype, cdir = CALL_TYPE_EXTERNAL, DIR_OUTGOING
            trunk = v.get("final-dn") if given_final is not None else v.get("to-dn")
        elif from_type is None and to_type is None:
            ctype = cdir = trunk = None
        else:
            ctype, cdir, trunk = CALL_TYPE_INTERNAL, DIR_INTERNAL, None
        # owner: the caller for outgoing calls, else the party the call ended with
        if cdir == DIR_OUTGOING:
            user_num, user_name = v.get("from-dn"), v.get("from-dispname")
        else:
            user_num = v.get("final-dn") or v.get("to-dn")
            user_name = v.get("final-dispname") or v.get("to-dispname")
        if to_type in GROUP_TYPES:
            hg_num, hg_name = v.get("to-dn"), v.get("to-dispname")
        elif given_final in GROUP_TYPES:
            hg_num, hg_name = v.get("final-dn"), v.get("final-dispname")
        else:
            hg_num = hg_name = None
        ans = int(row["ans"])
        offered = not ans and cdir != DIR_OUTGOING
        refused = offered and v.get("reason-terminated") in REFUSED_REASONS
        history, call = v.get("historyid"), v.get("callid")
        extra: dict[str, Any] = {k: x for k, x in v.items() if k not in MAPPED_FIELDS and x is not None}
        if "chain" in extra:
            extra["chain"] = [p.strip() for p in extra["chain"].split(";") if p.strip()]

        cols["docId"].append(f"{history}:{call}" if history and call else (history or call))
        cols["connId"].append(history)
        cols["start"].append(row["start"])
        cols["ring"].append(row["ring"])
        cols["duration"].append(row["duration"])
        cols["userName"].append(user_name)
        cols["userNum"].append(_number(user_num))
        cols["cli"].append(_number(v.get("from-no")))
        cols["cliName"].append(v.get("from-dispname"))
        cols["hgNum"].append(hg_num)
        cols["hgName"].append(hg_name)
        cols["callType"].append(ctype)
        cols["callDir"].append(cdir)
        cols["ans"].append(ans)
        cols["ref"].append(int(refused))
        cols["lost"].append(int(offered and not refused))
        cols["calledUserNum"].append(_number(v.get("to-no")) or v.get("dial-no"))
        cols["calledUserName"].append(v.get("to-dispname"))
        cols["callUserNum"].append(_number(v.get("from-no")))
        cols["callUserName"].append(v.get("from-dispname"))
        cols["accountCode"].append(v.get("bill-code"))
        cols["trunk"].append(trunk)
        cols["extra"].append(json.dumps(extra, ensure_ascii=False) if extra else None)
    return cols
