"""Webex Calling detailed call history → canonical segments.

Reads both shapes Webex hands out with the same human-readable column names: the Control Hub
"Calling Detailed Call History" CSV (UTF-8 with BOM, usually inside a ZIP whose first member is the
CSV) and the ``cdr_feed``/``cdr_stream`` JSON (``{"items": [...]}`` or a bare array). Columns are
matched by name because Webex keeps adding them; every column without a canonical home is kept in
``extra``. The mapping and the answered/refused/lost rule are documented in ``docs/formats/webex.md``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

REQUIRED_COLUMNS = ("Start time",)

# Columns whose value lands in a canonical field as is; all others go to ``extra`` (even those that
# only feed a derivation, such as "Call outcome", so nothing Webex sent is lost).
MAPPED_COLUMNS = frozenset({
    "Report ID", "Correlation ID", "Start time", "Duration", "Ring duration", "Hold Duration",
    "User", "User number", "Calling number", "Called number", "Calling line ID", "Called line ID",
    "Caller ID number", "Direction", "Call type", "Answered", "Redirecting number",
    "Authorization code", "Inbound trunk", "Outbound trunk",
})

# User types that are routing services, not people: their rows own the hunt group fields.
SERVICE_USER_TYPES = frozenset({
    "HuntGroup", "CallCenterStandard", "CallCenterPremium", "AutomatedAttendantVideo", "RoutePoint",
    "VoiceXML",
})
GROUP_REASONS = frozenset({"HuntGroup", "CallQueue"})
# Outcome reasons meaning the destination turned the call down (rather than ringing out unnoticed).
REFUSAL_REASONS = frozenset({
    "UserBusy", "CallRejected", "AdminCallBlock", "UserCallBlock", "UnassignedNumber",
})
NULL_TEXTS = frozenset({"", "NA"})


@dataclass
class _Leg:
    """One parsed Webex record with the values the cross-leg rules need."""

    index: int
    values: dict[str, str | None]
    start: datetime
    ring: float
    duration: float
    end: datetime
    answered: bool
    direction: str | None
    flags: dict[str, int] = field(default_factory=lambda: {"ans": 0, "ref": 0, "lost": 0})

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    @property
    def terminating(self) -> bool:
        return self.direction == "TERMINATING"

    @property
    def answered_here(self) -> bool:
        """Answered on this leg: a terminating leg answered after redirection was taken elsewhere."""
        if not self.answered:
            return False
        if self.terminating:
            return (self.get("Answer indicator") != "Yes-PostRedirection"
                    and self.get("Answered Elsewhere") != "Yes")
        return True


def _text(value: Any) -> str | None:
    """Cell text with Webex's null spellings (empty, ``NA``) as None; JSON scalars as their text."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif not isinstance(value, str):
        value = str(value)
    value = value.strip()
    return None if value in NULL_TEXTS else value


def parse_time(text: str) -> datetime:
    """A Webex UTC time: ISO with ``Z`` (``Start time``) or ``YYYY-MM-DD HH:MM:SS.fff`` (``Release time``)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_seconds(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value


# ---- decoding ------------------------------------------------------------------------------------

def _unzip(raw: bytes, source: str) -> bytes:
    """The first file member of a ZIP, as the Webex report download holds exactly one CSV."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if not members:
                raise SourceError(source, [RowError(None, None, "the ZIP archive holds no file")])
            return archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise SourceError(source, [RowError(None, None, f"not a readable ZIP archive: {exc}")]) from exc


def _records(raw: bytes, source: str, content_type: str | None) -> tuple[list[str], list[tuple[int, Any]]]:
    """Column names seen and ``(row number, record)`` pairs from a CSV or feed JSON body."""
    if raw[:4] == b"PK\x03\x04" or (content_type or "").split(";")[0].strip() in (
            "application/zip", "application/x-zip-compressed"):
        raw = _unzip(raw, source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(source, [RowError(None, None, f"not UTF-8 text: {exc}")]) from exc
    head = text.lstrip()[:1]
    if head in ("{", "[") or "json" in (content_type or ""):
        return _json_records(text, source)
    return _csv_records(text, source)


def _json_records(text: str, source: str) -> tuple[list[str], list[tuple[int, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(source, [RowError(None, None, f"invalid JSON: {exc}")]) from exc
    items = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise SourceError(source, [RowError(None, None, 'expected {"items": [...]} or a JSON array')])
    names: dict[str, None] = {}
    for item in items:
        if isinstance(item, dict):
            names.update(dict.fromkeys(item))
    return list(names), [(i, item) for i, item in enumerate(items, start=1)]


def _csv_records(text: str, source: str) -> tuple[list[str], list[tuple[int, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise SourceError(source, [RowError(None, None, "empty file: no header row")])
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SourceError(source, [RowError(0, c, "missing column") for c in missing])
    out: list[tuple[int, Any]] = []
    for number, cells in enumerate(reader, start=1):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != len(header):
            out.append((number, f"expected {len(header)} values, found {len(cells)}"))
        else:
            out.append((number, dict(zip(header, cells, strict=True))))
    return header, out


# ---- per-record parsing --------------------------------------------------------------------------

def _parse_leg(index: int, number: int, record: Any, errors: list[RowError]) -> _Leg | None:
    if isinstance(record, str):  # a CSV row with the wrong number of cells
        errors.append(RowError(number, None, record))
        return None
    if not isinstance(record, Mapping):
        errors.append(RowError(number, None, "expected a JSON object"))
        return None
    values = {str(k).strip(): _text(v) for k, v in record.items()}
    before = len(errors)

    def time_of(name: str, required: bool = False) -> datetime | None:
        text = values.get(name)
        if text is None:
            if required:
                errors.append(RowError(number, name, "missing value"))
            return None
        try:
            return parse_time(text)
        except ValueError:
            errors.append(RowError(number, name, f"not a time: {text!r}"))
            return None

    def seconds_of(name: str) -> float | None:
        text = values.get(name)
        if text is None:
            return None
        try:
            return parse_seconds(text)
        except ValueError:
            errors.append(RowError(number, name, f"not a number of seconds: {text!r}"))
            return None

    start = time_of("Start time", required=True)
    answer = time_of("Answer time")
    release = time_of("Release time")
    ring = seconds_of("Ring duration")
    talk = seconds_of("Duration")
    seconds_of("Hold Duration")
    answered_text = (values.get("Answered") or "false").lower()
    if answered_text not in ("true", "false"):
        errors.append(RowError(number, "Answered", f"expected true or false, found {values['Answered']!r}"))
    if len(errors) > before or start is None:
        return None
    if ring is None:
        ring = max((answer - start).total_seconds(), 0.0) if answer else 0.0
    if talk is not None:
        duration = talk + ring
    elif release is not None:
        duration = max((release - start).total_seconds(), ring)
    else:
        duration = ring
    end = release or datetime.fromtimestamp(start.timestamp() + duration, UTC)
    direction = values.get("Direction")
    return _Leg(index, values, start, ring, duration, end, answered_text == "true",
                direction.upper() if direction else None)


# ---- cross-leg rules -----------------------------------------------------------------------------

def _refused_by_outcome(leg: _Leg) -> bool:
    return leg.get("Call outcome") == "Refusal" or leg.get("Call outcome reason") in REFUSAL_REASONS


def _is_routing(leg: _Leg, call: list[_Leg]) -> bool:
    """A hunt group / queue row whose call was passed on to other legs of the same call."""
    number = leg.get("User number")
    return (leg.get("User type") in SERVICE_USER_TYPES and number is not None
            and any(o is not leg and o.get("Redirecting number") == number for o in call))


def _set_flags(call: list[_Leg]) -> None:
    """ans/ref/lost for the legs of one call (one ``Correlation ID``); see docs/formats/webex.md."""
    call_answered = any(leg.answered_here for leg in call)
    candidates: list[_Leg] = []
    for leg in call:
        if leg.answered_here:
            leg.flags["ans"] = 1
        elif not leg.terminating or _is_routing(leg, call):
            continue
        elif (call_answered or leg.answered or leg.get("Answered Elsewhere") == "Yes"
              or _refused_by_outcome(leg)):
            leg.flags["ref"] = 1
        else:
            candidates.append(leg)
    if candidates:
        last = max(candidates, key=lambda g: (g.end, g.start, g.index))
        for leg in candidates:
            leg.flags["lost" if leg is last else "ref"] = 1


def _group_names(legs: Iterable[_Leg]) -> dict[str, str]:
    """Hunt group / queue names by number, from the service rows of the file."""
    return {
        leg.get("User number"): leg.get("User")  # type: ignore[misc]
        for leg in legs
        if leg.get("User type") in SERVICE_USER_TYPES and leg.get("User number") and leg.get("User")
    }


# ---- reading -------------------------------------------------------------------------------------

def read(
    data: Input,
    *,
    source: str,
    time_zone: str | None = None,
    options: dict[str, str] | None = None,
    content_type: str | None = None,
) -> pa.Table:
    """Webex CSV / ZIP / feed JSON → canonical segments. Webex times are UTC; ``time_zone`` is unused."""
    _, records = _records(read_bytes(data), source, content_type)
    errors: list[RowError] = []
    legs: list[_Leg] = []
    for index, (number, record) in enumerate(records):
        leg = _parse_leg(index, number, record, errors)
        if leg is not None:
            legs.append(leg)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    check_no_errors(source, errors)

    calls: dict[str, list[_Leg]] = {}
    for leg in legs:
        calls.setdefault(leg.get("Correlation ID") or f"\x00{leg.index}", []).append(leg)
    for call in calls.values():
        _set_flags(call)
    names = _group_names(legs)
    return finish_segments(_columns(legs, names))


def _columns(legs: list[_Leg], group_names: Mapping[str, str]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {name: [] for name in (
        "docId", "connId", "start", "ring", "duration", "hold", "userName", "userNum", "cli", "cliName",
        "hgNum", "hgName", "callType", "callDir", "ans", "ref", "lost", "calledUserNum",
        "calledUserName", "callUserNum", "callUserName", "accountCode", "trunk", "extra")}
    for leg in legs:
        g = leg.get
        call_type = g("Call type")
        internal = None if call_type is None else call_type.upper() == "SIP_ENTERPRISE"
        if internal is None:
            ctype = cdir = None
        elif internal:
            ctype, cdir = CALL_TYPE_INTERNAL, DIR_INTERNAL
        else:
            ctype = CALL_TYPE_EXTERNAL
            cdir = {"TERMINATING": DIR_INCOMING, "ORIGINATING": DIR_OUTGOING}.get(leg.direction or "")
        if g("User type") in SERVICE_USER_TYPES:
            hg_num, hg_name = g("User number"), g("User")
        elif g("Redirect reason") in GROUP_REASONS or g("Related reason") in GROUP_REASONS:
            hg_num = g("Redirecting number")
            hg_name = group_names.get(hg_num) if hg_num else None
        else:
            hg_num = hg_name = None
        trunks = (g("Inbound trunk"), g("Outbound trunk"))
        trunk = (trunks[1] or trunks[0]) if leg.direction == "ORIGINATING" else (trunks[0] or trunks[1])
        hold = g("Hold Duration")
        extra = {k: v for k, v in leg.values.items() if k not in MAPPED_COLUMNS and v is not None}

        cols["docId"].append(g("Report ID"))
        cols["connId"].append(g("Correlation ID"))
        cols["start"].append(leg.start)
        cols["ring"].append(leg.ring)
        cols["duration"].append(leg.duration)
        cols["hold"].append(float(hold) if hold is not None else None)
        cols["userName"].append(g("User"))
        cols["userNum"].append(g("User number"))
        cols["cli"].append(g("Caller ID number") or g("Calling number"))
        cols["cliName"].append(g("Calling line ID"))
        cols["hgNum"].append(hg_num)
        cols["hgName"].append(hg_name)
        cols["callType"].append(ctype)
        cols["callDir"].append(cdir)
        for flag in ("ans", "ref", "lost"):
            cols[flag].append(leg.flags[flag])
        cols["calledUserNum"].append(g("Called number"))
        cols["calledUserName"].append(g("Called line ID"))
        cols["callUserNum"].append(g("Calling number"))
        cols["callUserName"].append(g("Calling line ID"))
        cols["accountCode"].append(g("Authorization code"))
        cols["trunk"].append(trunk)
        cols["extra"].append(json.dumps(extra, ensure_ascii=False) if extra else None)
    return cols
