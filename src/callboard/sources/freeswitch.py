"""FreeSWITCH CDRs (oss-and-formats §2.3) → canonical segments.

Two inputs: ``mod_cdr_csv`` with the default ``example`` template (15 quoted columns, no header,
``*_stamp`` in server-local time → the source's time zone), and ``mod_json_cdr`` documents (one object,
an array, or NDJSON) where we use the UTC ``*_uepoch`` variables and never the local stamps. Values
URL-encoded by ``encode-values=true`` are decoded. Mapping rules: ``docs/formats/freeswitch.md``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
import pyarrow as pa

from callboard.calls.legs import derive_ref_lost
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

CSV_COLUMNS: tuple[str, ...] = (
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp", "answer_stamp",
    "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid", "accountcode", "read_codec",
    "write_codec",
)
# ref/lost come from the call's legs together (calls.legs): a later batch re-derives them
DERIVES_CALL_FLAGS = True
DEFAULT_INTERNAL_PATTERN = r"\d{2,6}"
DEFAULT_EXTERNAL_CONTEXTS = "public"
# Unanswered hangup causes meaning the call never reached anyone (routing/network failure): such a
# leg is neither refused nor lost. Every other unanswered cause (NO_ANSWER, USER_BUSY,
# ORIGINATOR_CANCEL, CALL_REJECTED, NO_USER_RESPONSE, NORMAL_CLEARING, …) means it was offered.
FAILURE_CAUSES = frozenset({
    "UNALLOCATED_NUMBER", "NO_ROUTE_TRANSIT_NET", "NO_ROUTE_DESTINATION", "INVALID_NUMBER_FORMAT",
    "NETWORK_OUT_OF_ORDER", "NORMAL_TEMPORARY_FAILURE", "SWITCH_CONGESTION", "DESTINATION_OUT_OF_ORDER",
    "NORMAL_CIRCUIT_CONGESTION", "SERVICE_UNAVAILABLE", "BEARERCAPABILITY_NOTAVAIL", "FACILITY_NOT_IMPLEMENTED",
    "INCOMPATIBLE_DESTINATION", "RECOVERY_ON_TIMER_EXPIRE", "MANDATORY_IE_MISSING", "PROTOCOL_ERROR",
    "INTERWORKING", "GATEWAY_DOWN", "USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT", "CHAN_NOT_IMPLEMENTED",
    "INVALID_GATEWAY", "INVALID_PROFILE", "EXCHANGE_ROUTING_ERROR", "NUMBER_CHANGED",
})
_STAMP_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_UUID_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]*")
_UTC = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Rules:
    """Direction rules of one import: which contexts face the outside, which numbers are internal."""

    def __init__(self, options: dict[str, str]) -> None:
        self.internal = re.compile(options.get("internal_pattern") or DEFAULT_INTERNAL_PATTERN)
        raw = options.get("external_contexts") or DEFAULT_EXTERNAL_CONTEXTS
        self.external_contexts = frozenset(c.strip() for c in raw.split(",") if c.strip())

    def classify(self, context: str | None, caller: str | None, dest: str | None) -> tuple[int, int, str | None]:
        """(callType, callDir, owning user number)."""
        if context in self.external_contexts:
            return CALL_TYPE_EXTERNAL, DIR_INCOMING, dest
        if dest and self.internal.fullmatch(dest):
            return CALL_TYPE_INTERNAL, DIR_INTERNAL, dest
        return CALL_TYPE_EXTERNAL, DIR_OUTGOING, caller


def _text(value: Any) -> str | None:
    """Plain text, URL-decoded when ``encode-values`` was on ('+' is kept: it is a number prefix)."""
    if value is None:
        return None
    s = str(value)
    if "%" in s:
        s = unquote(s)
    return s or None


def _conn_ids(uuids: list[str], blegs: list[str | None], pointers: list[str | None]) -> list[str]:
    """The call of each leg: its pointer to the originating leg when it has one, else the call of a
    leg that names it as ``bleg_uuid``, else itself."""
    conn = [p or u for u, p in zip(uuids, pointers, strict=True)]
    owner = {b: conn[i] for i, b in enumerate(blegs) if b}
    for _ in range(3):  # a few hops cover a→b→c transfer chains
        changed = False
        for i, u in enumerate(uuids):
            if pointers[i] is None and u in owner and conn[i] != owner[u]:
                conn[i] = owner[u]
                changed = True
        owner = {b: conn[i] for i, b in enumerate(blegs) if b}
        if not changed:
            break
    return conn


def _finish(cols: dict[str, list[Any]]) -> pa.Table:
    # offered here and not taken: ref until the call's legs decide which one is lost
    cols["ref"] = [int(not a and c not in FAILURE_CAUSES) for a, c in zip(cols["ans"], cols.pop("_cause"), strict=True)]
    cols["lost"] = [0] * len(cols["ref"])
    out: dict[str, Any] = dict(cols)
    out["start"] = pa.array(cols["start"], _UTC)
    table = derive_ref_lost(finish_segments(out))
    return table.sort_by([("start", "ascending"), ("docId", "ascending")]) if table.num_rows > 1 else table


# ---- mod_cdr_csv --------------------------------------------------------------------------------
def read_csv(raw: bytes, *, source: str, tz: str, rules: _Rules) -> pa.Table:
    errors: list[RowError] = []
    recs: list[dict[str, str]] = []
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    for row_no, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != len(CSV_COLUMNS):
            errors.append(RowError(row_no, None, f"expected {len(CSV_COLUMNS)} columns (template "
                                                 f"'example'), got {len(fields)}"))
            continue
        rec = dict(zip(CSV_COLUMNS, fields, strict=True))
        for col in ("start_stamp", "end_stamp"):
            if not _STAMP_RE.fullmatch(rec[col]):
                errors.append(RowError(row_no, col, f"expected YYYY-MM-DD HH:MM:SS, got {rec[col]!r}"))
        if rec["answer_stamp"] and not _STAMP_RE.fullmatch(rec["answer_stamp"]):
            errors.append(RowError(row_no, "answer_stamp", f"expected YYYY-MM-DD HH:MM:SS or empty, "
                                                           f"got {rec['answer_stamp']!r}"))
        for col in ("duration", "billsec"):
            if not rec[col].isdigit():
                errors.append(RowError(row_no, col, f"expected a whole number ≥ 0, got {rec[col]!r}"))
        if not _UUID_RE.fullmatch(rec["uuid"]):
            errors.append(RowError(row_no, "uuid", "missing or malformed uuid"))
        recs.append(rec)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    if errors:
        raise SourceError(source, errors[:MAX_REPORTED_ERRORS])
    if not recs:
        return finish_segments({"start": pa.array([], _UTC)})

    def utc(col: str) -> list[Any]:
        arr = pa.array([r[col] or None for r in recs], pa.string()).cast(pa.timestamp("us"))
        return local_to_utc(arr, tz).to_pylist()

    starts, answers = utc("start_stamp"), utc("answer_stamp")
    utc("end_stamp")  # unused since ends are start + duration, but a stamp that is no date fails as before
    uuids = [r["uuid"] for r in recs]
    conn = _conn_ids(uuids, [r["bleg_uuid"] or None for r in recs], [None] * len(recs))
    cols: dict[str, list[Any]] = {k: [] for k in (
        "docId", "connId", "start", "ring", "duration", "userNum", "cli", "cliName", "callType", "callDir",
        "ans", "calledUserNum", "callUserNum", "callUserName", "accountCode", "_cause")}
    for i, r in enumerate(recs):
        answered = answers[i] is not None
        duration = float(r["duration"])
        ring = max((answers[i] - starts[i]).total_seconds(), 0.0) if answered else duration
        caller, dest = _text(r["caller_id_number"]), _text(r["destination_number"])
        call_type, call_dir, user = rules.classify(r["context"], caller, dest)
        cols["docId"].append(r["uuid"])
        cols["connId"].append(conn[i])
        cols["start"].append(starts[i])
        cols["ring"].append(min(ring, duration))
        cols["duration"].append(duration)
        cols["userNum"].append(user)
        cols["cli"].append(caller)
        cols["cliName"].append(_text(r["caller_id_name"]))
        cols["callType"].append(call_type)
        cols["callDir"].append(call_dir)
        cols["ans"].append(1 if answered else 0)
        cols["calledUserNum"].append(dest)
        cols["callUserNum"].append(caller)
        cols["callUserName"].append(_text(r["caller_id_name"]))
        cols["accountCode"].append(_text(r["accountcode"]))
        cols["_cause"].append(r["hangup_cause"])
    return _finish(cols)


# ---- mod_json_cdr -------------------------------------------------------------------------------
def _json_docs(raw: bytes, source: str) -> tuple[list[Any], list[int]]:
    stripped = raw.strip()
    try:
        doc = orjson.loads(stripped)
        docs = doc if isinstance(doc, list) else [doc]
        return docs, list(range(1, len(docs) + 1))
    except orjson.JSONDecodeError:
        pass
    docs, rows, errors = [], [], []
    for line_no, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            docs.append(orjson.loads(line))
            rows.append(line_no)
        except orjson.JSONDecodeError as exc:
            errors.append(RowError(line_no, None, f"invalid JSON: {exc}"))
    if errors:
        raise SourceError(source, errors[:MAX_REPORTED_ERRORS])
    return docs, rows


def _profile(doc: dict[str, Any]) -> dict[str, Any]:
    """The caller profile of the leg's first dialplan pass (callflow lists the newest first)."""
    flow = doc.get("callflow")
    if isinstance(flow, dict):
        flow = [flow]
    if isinstance(flow, list) and flow:
        prof = flow[-1].get("caller_profile") if isinstance(flow[-1], dict) else None
        if isinstance(prof, dict):
            return prof
    return {}


def _usec(value: Any) -> int | None:
    s = _text(value)
    if s is None:
        return None
    if not s.isdigit():
        raise ValueError(f"expected microseconds since the epoch, got {s!r}")
    return int(s)


def read_json(raw: bytes, *, source: str, rules: _Rules) -> pa.Table:
    docs, rows = _json_docs(raw, source)
    errors: list[RowError] = []
    recs: list[dict[str, Any]] = []
    for doc, row in zip(docs, rows, strict=True):
        if not isinstance(doc, dict) or not isinstance(doc.get("variables"), dict):
            errors.append(RowError(row, "variables", "expected a mod_json_cdr object with 'variables'"))
            continue
        v, prof = doc["variables"], _profile(doc)
        rec: dict[str, Any] = {}
        try:
            start = _usec(v.get("start_uepoch"))
            if start is None and _text(v.get("start_epoch")):
                start = _usec(v.get("start_epoch"))
                start = start * 1_000_000 if start is not None else None
            if not start:
                raise ValueError("start_uepoch/start_epoch missing")
            rec["start"] = start
        except ValueError as exc:
            errors.append(RowError(row, "variables.start_uepoch", str(exc)))
        for key in ("answer_uepoch", "end_uepoch"):
            try:
                rec[key] = _usec(v.get(key)) or 0
            except ValueError as exc:
                errors.append(RowError(row, f"variables.{key}", str(exc)))
        for key in ("duration", "billsec"):
            value = _text(v.get(key))
            if value is not None and not value.isdigit():
                errors.append(RowError(row, f"variables.{key}", f"expected a whole number ≥ 0, got {value!r}"))
            rec[key] = int(value) if value and value.isdigit() else None
        uuid = _text(v.get("uuid")) or _text(prof.get("uuid"))
        if not uuid or not _UUID_RE.fullmatch(uuid):
            errors.append(RowError(row, "variables.uuid", "missing or malformed uuid"))
        rec.update(
            uuid=uuid,
            bleg=_text(v.get("bleg_uuid")),
            pointer=_text(v.get("originating_leg_uuid")) or _text(v.get("originator"))
            or _text(prof.get("originator")),
            cause=_text(v.get("hangup_cause")) or "",
            name=_text(prof.get("caller_id_name")) or _text(v.get("caller_id_name")),
            number=_text(prof.get("caller_id_number")) or _text(v.get("caller_id_number")),
            dest=_text(prof.get("destination_number")) or _text(v.get("destination_number")),
            context=_text(prof.get("context")) or _text(v.get("user_context")),
            account=_text(v.get("accountcode")),
            gateway=_text(v.get("sip_gateway_name")),
        )
        recs.append(rec)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    if errors:
        raise SourceError(source, errors[:MAX_REPORTED_ERRORS])
    if not recs:
        return finish_segments({"start": pa.array([], _UTC)})
    uuids = [r["uuid"] for r in recs]
    pointers = [r["pointer"] if r["pointer"] != r["uuid"] else None for r in recs]
    conn = _conn_ids(uuids, [r["bleg"] for r in recs], pointers)
    cols: dict[str, list[Any]] = {k: [] for k in (
        "docId", "connId", "start", "ring", "duration", "userNum", "cli", "cliName", "callType", "callDir",
        "ans", "calledUserNum", "callUserNum", "callUserName", "accountCode", "trunk", "_cause")}
    for i, r in enumerate(recs):
        start_us, answer_us, end_us = r["start"], r["answer_uepoch"], r["end_uepoch"]
        duration = (end_us - start_us) / 1e6 if end_us >= start_us and end_us else float(r["duration"] or 0)
        answered = answer_us > 0
        ring = max((answer_us - start_us) / 1e6, 0.0) if answered else duration
        call_type, call_dir, user = rules.classify(r["context"], r["number"], r["dest"])
        start_at = _EPOCH + timedelta(microseconds=start_us)
        cols["docId"].append(r["uuid"])
        cols["connId"].append(conn[i])
        cols["start"].append(start_at)
        cols["ring"].append(min(ring, duration))
        cols["duration"].append(duration)
        cols["userNum"].append(user)
        cols["cli"].append(r["number"])
        cols["cliName"].append(r["name"])
        cols["callType"].append(call_type)
        cols["callDir"].append(call_dir)
        cols["ans"].append(1 if answered else 0)
        cols["calledUserNum"].append(r["dest"])
        cols["callUserNum"].append(r["number"])
        cols["callUserName"].append(r["name"])
        cols["accountCode"].append(r["account"])
        cols["trunk"].append(r["gateway"] if call_type == CALL_TYPE_EXTERNAL else None)
        cols["_cause"].append(r["cause"])
    return _finish(cols)


def detect(data: Input, options: dict[str, str], content_type: str | None, raw: bytes) -> str:
    """``json`` or ``csv``: options["encoding"], content type, extension, then the first byte."""
    enc = (options.get("encoding") or "").lower()
    if enc in ("json", "ndjson", "csv"):
        return "csv" if enc == "csv" else "json"
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    if "json" in ct:
        return "json"
    if ct in ("text/csv", "application/csv"):
        return "csv"
    name = str(data) if isinstance(data, (str, Path)) else getattr(data, "name", "")
    suffix = Path(name).suffix.lower() if isinstance(name, str) else ""
    if suffix in (".json", ".ndjson", ".jsonl", ".cdr"):
        return "json"
    if suffix == ".csv":
        return "csv"
    return "json" if raw.lstrip()[:1] in (b"{", b"[") else "csv"


def read(data: Input, *, source: str | None = None, time_zone: str | None = None,
         options: dict[str, str] | None = None, content_type: str | None = None) -> pa.Table:
    """Read a FreeSWITCH CSV or JSON CDR file into canonical segments (all-or-nothing)."""
    source = source or source_label(data)
    options = options or {}
    tz = check_time_zone(source, time_zone)
    try:
        rules = _Rules(options)
    except re.error as exc:
        raise SourceError(source, [RowError(None, None, f"bad option internal_pattern: {exc}")]) from None
    raw = read_bytes(data)
    if detect(data, options, content_type, raw) == "json":
        return read_json(raw, source=source, rules=rules)
    return read_csv(raw, source=source, tz=tz, rules=rules)


__all__ = ["CSV_COLUMNS", "FAILURE_CAUSES", "read"]
