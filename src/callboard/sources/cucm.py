"""Cisco CUCM CDR flat files → canonical segments.

A CUCM ``cdr_<cluster>_<node>_<YYYYMMDDHHMM>_<seq>`` file has the quoted field names on line 1, their
types (``INTEGER``, ``VARCHAR(50)``…) on line 2, then one row per call leg. Columns are matched by name
because every release adds some; those without a canonical home are kept in ``extra``. Only CDR rows
(``cdrRecordType`` 1) become segments: CMR rows (2) carry voice quality, not calls. Times are UTC epoch
seconds. The mapping, including the trunk heuristic, is documented in ``docs/formats/cucm.md``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
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
    check_no_errors,
    finish_segments,
    read_bytes,
)

REQUIRED_COLUMNS = ("cdrRecordType", "dateTimeOrigination")
CDR_RECORD = 1
MAPPED_COLUMNS = frozenset({
    "cdrRecordType", "globalCallID_callManagerId", "globalCallID_callId", "dateTimeOrigination",
    "dateTimeConnect", "dateTimeDisconnect", "duration", "pkid", "callingPartyNumber",
    "callingPartyUnicodeLoginUserID", "originalCalledPartyNumber", "finalCalledPartyNumber",
    "finalCalledPartyUnicodeLoginUserID", "huntPilotDN", "authCodeDescription", "clientMatterCode",
    "origDeviceName", "destDeviceName",
})
_TYPE = re.compile(r"^(INTEGER|BIGINT|SMALLINT|UNIQUEIDENTIFIER|TEXT|N?(VAR)?CHAR\(\d+\))$", re.IGNORECASE)
# Phones and soft clients are named by model prefix + MAC (SEP001122334455, CSFJSMITH…).
_PHONE = re.compile(r"^(SEP|CSF|BOT|TCT|TAB|ATA|CIPC)[0-9A-Za-z]", re.IGNORECASE)
# Default trunk/gateway name patterns when ``options["trunks"]`` is not given.
DEFAULT_TRUNK_PATTERNS = ("*@*", "*trunk*", "*sip_tr*", "*gw*", "*gateway*", "*pstn*", "*cube*", "*sbc*",
                          "*h323*")
# Q.850 causes meaning the destination turned the call down or let it ring out.
REFUSED_CAUSES = frozenset({17, 18, 19, 21})
# Q.850 causes meaning the dialled number could not be routed, whichever side reports it: the call was
# never offered to anyone, even when a trunk was seized to try (1 unallocated number, 2 no route to the
# transit network, 3 no route to destination, 4 special information tone, 5 misdialled trunk prefix,
# 22 number changed, 25 exchange routing error, 28 invalid number format).
UNROUTED_CAUSES = frozenset({1, 2, 3, 4, 5, 22, 25, 28})
# Q.850 causes meaning the destination side could not be reached (20 subscriber absent, 27 destination out
# of order, 34 no circuit, 38 network out of order, 41 temporary failure, 42 congestion, 44 channel not
# available, 47 resource unavailable, 58/65 bearer capability, 63/79 service not available/implemented,
# 69 facility not implemented, 88 incompatible destination, 102 timer expiry, 111 protocol error,
# 127 interworking). Only ``destCause_value`` counts: the same cause on the caller's side means the
# caller's network dropped a call that may well have been ringing a phone.
UNREACHABLE_CAUSES = frozenset({20, 27, 34, 38, 41, 42, 44, 47, 58, 63, 65, 69, 79, 88, 102, 111, 127})


def epoch_to_utc(seconds: int) -> datetime:
    """CUCM epoch seconds (UTC) → an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def _trunk_patterns(options: dict[str, str] | None) -> tuple[str, ...]:
    spec = (options or {}).get("trunks")
    if not spec:
        return DEFAULT_TRUNK_PATTERNS
    return tuple(p.strip().lower() for p in spec.split(",") if p.strip())


def is_trunk(device: str | None, patterns: Sequence[str] = DEFAULT_TRUNK_PATTERNS) -> bool:
    """Whether a device name is a trunk or gateway (``options["trunks"]`` globs, else name heuristics)."""
    if not device:
        return False
    if patterns is DEFAULT_TRUNK_PATTERNS and _PHONE.match(device):
        return False
    name = device.lower()
    return any(fnmatchcase(name, p) for p in patterns)


def _is_type_line(cells: list[str]) -> bool:
    return bool(cells) and all(_TYPE.match(c.strip()) for c in cells if c.strip())


def read(
    data: Input,
    *,
    source: str,
    time_zone: str | None = None,
    options: dict[str, str] | None = None,
    content_type: str | None = None,
) -> pa.Table:
    """CUCM CDR file → canonical segments (one per CDR row); CUCM epochs are UTC, ``time_zone`` is unused."""
    try:
        text = read_bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(source, [RowError(None, None, f"not UTF-8 text: {exc}")]) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        raise SourceError(source, [RowError(None, None, "empty file: no header line")])
    lines = [cells for cells in reader if cells and any(c.strip() for c in cells)]
    if lines and _is_type_line(lines[0]):
        lines = lines[1:]
    if "dateTimeOrigination" not in header and "dateTimeStamp" in header:
        return finish_segments({"start": []})  # a CMR file: voice-quality records only, no calls
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SourceError(source, [RowError(0, c, "missing column") for c in missing])
    patterns = _trunk_patterns(options)
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    type_at = header.index("cdrRecordType")
    for number, cells in enumerate(lines, start=1):
        if len(cells) > type_at and cells[type_at].strip() not in ("", str(CDR_RECORD)) \
                and cells[type_at].strip().isdigit():
            continue  # a CMR (2) or start (0) record, whatever its layout: not a call leg
        if len(cells) != len(header):
            errors.append(RowError(number, None, f"expected {len(header)} values, found {len(cells)}"))
        else:
            row = _parse_row(number, dict(zip(header, cells, strict=True)), errors)
            if row is not None:
                rows.append(row)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    check_no_errors(source, errors)
    return finish_segments(_columns(rows, patterns))


def _parse_row(number: int, raw: dict[str, str], errors: list[RowError]) -> dict[str, Any] | None:
    values = {k: v.strip() for k, v in raw.items()}
    before = len(errors)

    def integer(name: str, required: bool = False) -> int | None:
        text = values.get(name, "")
        if not text:
            if required:
                errors.append(RowError(number, name, "missing value"))
            return None
        try:
            return int(text)
        except ValueError:
            errors.append(RowError(number, name, f"not an integer: {text!r}"))
            return None

    record_type = integer("cdrRecordType", required=True)
    if record_type is not None and record_type != CDR_RECORD:
        return None
    origination = integer("dateTimeOrigination", required=True)
    connect = integer("dateTimeConnect") or 0
    disconnect = integer("dateTimeDisconnect") or 0
    talk = integer("duration")
    for name in ("origCause_value", "destCause_value"):
        integer(name)
    if origination is not None and origination <= 0:
        errors.append(RowError(number, "dateTimeOrigination", f"not a call time: {origination}"))
    for name, stamp in (("dateTimeConnect", connect), ("dateTimeDisconnect", disconnect)):
        if origination and stamp and stamp < origination:
            errors.append(RowError(number, name, "earlier than dateTimeOrigination"))
    if talk is not None and talk < 0:
        errors.append(RowError(number, "duration", f"negative duration: {talk}"))
    if len(errors) > before or origination is None:
        return None
    ring = float((connect or disconnect or origination) - origination)
    duration = float(disconnect - origination) if disconnect else ring + float(talk or 0)
    return {"values": values, "start": epoch_to_utc(origination), "ring": ring, "duration": duration,
            "ans": connect > 0}


def _cause(values: dict[str, str], name: str) -> int:
    text = values.get(name) or "0"
    return int(text)


def never_offered(values: dict[str, str]) -> bool:
    """Whether an unanswered CDR row never rang anyone: no device was reached, or a cause says the
    number could not be routed or its destination reached. Such a leg is neither lost nor refused."""
    if not values.get("destDeviceName"):
        return True
    causes = {_cause(values, "origCause_value"), _cause(values, "destCause_value")}
    return bool(causes & UNROUTED_CAUSES) or _cause(values, "destCause_value") in UNREACHABLE_CAUSES


def _columns(rows: Sequence[dict[str, Any]], patterns: Sequence[str]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {n: [] for n in (
        "docId", "connId", "start", "ring", "duration", "userName", "userNum", "cli", "hgNum", "callType",
        "callDir", "ans", "ref", "lost", "calledUserNum", "calledUserName", "callUserNum", "callUserName",
        "accountCode", "trunk", "extra")}
    for row in rows:
        v: dict[str, str] = row["values"]

        def g(name: str, v: dict[str, str] = v) -> str | None:
            return v.get(name) or None

        orig_dev, dest_dev = g("origDeviceName"), g("destDeviceName")
        orig_trunk, dest_trunk = is_trunk(orig_dev, patterns), is_trunk(dest_dev, patterns)
        if orig_trunk:  # from a trunk (also trunk-to-trunk forwards): an incoming call
            ctype, cdir, trunk = CALL_TYPE_EXTERNAL, DIR_INCOMING, orig_dev
        elif dest_trunk:
            ctype, cdir, trunk = CALL_TYPE_EXTERNAL, DIR_OUTGOING, dest_dev
        else:
            ctype, cdir, trunk = CALL_TYPE_INTERNAL, DIR_INTERNAL, None
        if cdir == DIR_OUTGOING:
            user_num, user_name = g("callingPartyNumber"), g("callingPartyUnicodeLoginUserID")
        else:
            user_num, user_name = g("finalCalledPartyNumber"), g("finalCalledPartyUnicodeLoginUserID")
        ans = int(row["ans"])
        offered = not ans and cdir != DIR_OUTGOING and not never_offered(v)
        refused = offered and _cause(v, "destCause_value") in REFUSED_CAUSES
        manager, call_id = g("globalCallID_callManagerId"), g("globalCallID_callId")
        extra = {k: x for k, x in v.items() if k not in MAPPED_COLUMNS and x not in ("", "0")}

        cols["docId"].append(g("pkid"))
        cols["connId"].append(f"{manager}-{call_id}" if manager and call_id else None)
        cols["start"].append(row["start"])
        cols["ring"].append(row["ring"])
        cols["duration"].append(row["duration"])
        cols["userName"].append(user_name)
        cols["userNum"].append(user_num)
        cols["cli"].append(g("callingPartyNumber"))
        cols["hgNum"].append(g("huntPilotDN"))
        cols["callType"].append(ctype)
        cols["callDir"].append(cdir)
        cols["ans"].append(ans)
        cols["ref"].append(int(refused))
        cols["lost"].append(int(offered and not refused))
        cols["calledUserNum"].append(g("originalCalledPartyNumber") or g("finalCalledPartyNumber"))
        cols["calledUserName"].append(g("finalCalledPartyUnicodeLoginUserID"))
        cols["callUserNum"].append(g("callingPartyNumber"))
        cols["callUserName"].append(g("callingPartyUnicodeLoginUserID"))
        cols["accountCode"].append(g("clientMatterCode") or g("authCodeDescription"))
        cols["trunk"].append(trunk)
        cols["extra"].append(json.dumps(extra, ensure_ascii=False) if extra else None)
    return cols
