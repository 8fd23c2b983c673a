"""The canonical call record (SPEC §1): the one definition used by import, storage, reports and docs.

One row is one *segment*: one leg of a call as seen by one user, extension or group. All segments of
one call share ``connId``. Times are stored in UTC (naive ``timestamp[us]`` in the warehouse, so every
engine reads them the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

FieldType = Literal["string", "timestamp", "float", "int", "flag"]

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "float": pa.float64(),
    "int": pa.int8(),
    "flag": pa.int8(),
}


@dataclass(frozen=True)
class CallField:
    """One field of the canonical segment record."""

    name: str
    type: FieldType
    title: str
    description: str
    additive: bool = False
    default_display: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.type]


# Order matters: it is the column order of storage, of CSV exports and of the docs table.
CALL_FIELDS: tuple[CallField, ...] = (
    CallField("docId", "string", "Record ID",
              "The record's identity and de-duplication key, unique per workspace."),
    CallField("connId", "string", "Call ID", "The call this segment belongs to."),
    CallField("start", "timestamp", "Start", "When the segment started (began ringing, or was dialled)."),
    CallField("ring", "float", "Ring (s)", "Seconds alerting before answer or end.", additive=True),
    CallField("duration", "float", "Duration (s)",
              "Whole length of the segment in seconds, ring included.", additive=True),
    CallField("hold", "float", "Hold (s)", "Seconds on hold within the segment.", additive=True,
              default_display=False),
    CallField("userName", "string", "User", "The user/extension that owns the segment."),
    CallField("userNum", "string", "User number", "Number of the user/extension that owns the segment."),
    CallField("cli", "string", "Caller number", "Caller's number as presented."),
    CallField("cliName", "string", "Caller name", "Caller's name as presented."),
    CallField("hgNum", "string", "Hunt group number", "Hunt group / queue that routed the segment."),
    CallField("hgName", "string", "Hunt group", "Name of the hunt group / queue that routed the segment."),
    CallField("callType", "int", "Call type", "1 internal, 2 external."),
    CallField("callDir", "int", "Direction", "1 internal, 2 incoming, 3 outgoing."),
    CallField("ans", "flag", "Answered", "1 when the call was answered on this segment.", additive=True),
    CallField("ref", "flag", "Refused",
              "1 when offered here but not taken here (rang out, rejected, or answered elsewhere).",
              additive=True),
    CallField("lost", "flag", "Lost",
              "1 when the call ended unanswered while at this segment.", additive=True),
    CallField("calledUserNum", "string", "Called number", "Number of the called party."),
    CallField("calledUserName", "string", "Called name", "Name of the called party."),
    CallField("callUserNum", "string", "Calling number", "Number of the calling party."),
    CallField("callUserName", "string", "Calling name", "Name of the calling party."),
    CallField("accountCode", "string", "Account code", "Account / billing code.", default_display=False),
    CallField("trunk", "string", "Trunk", "Trunk or carrier used (external calls).", default_display=False),
)

FIELDS_BY_NAME: dict[str, CallField] = {f.name: f for f in CALL_FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in CALL_FIELDS)
ADDITIVE_FIELDS: tuple[str, ...] = tuple(f.name for f in CALL_FIELDS if f.additive)
REQUIRED_FIELDS: tuple[str, ...] = ("start",)

# Source formats whose vendors keep adding columns keep unmapped ones here, as a JSON object text.
EXTRA_FIELD = "extra"


@dataclass(frozen=True)
class DerivedField:
    name: str
    type: FieldType
    title: str
    description: str
    additive: bool = False


# Fields every report can display, computed from the stored ones.
DERIVED_FIELDS: tuple[DerivedField, ...] = (
    DerivedField("end", "timestamp", "End", "start + duration."),
    DerivedField("talk", "float", "Talk (s)", "duration − ring when answered, else 0.", additive=True),
    DerivedField("startUtc", "string", "Start (UTC)", "start as ISO 8601 UTC with a Z suffix."),
    DerivedField("callDirName", "string", "Direction name", "internal, incoming or outgoing."),
    DerivedField("callTypeName", "string", "Call type name", "internal or external."),
)

CALL_TYPES: dict[int, str] = {1: "internal", 2: "external"}
CALL_DIRS: dict[int, str] = {1: "internal", 2: "incoming", 3: "outgoing"}
CALL_TYPE_INTERNAL, CALL_TYPE_EXTERNAL = 1, 2
DIR_INTERNAL, DIR_INCOMING, DIR_OUTGOING = 1, 2, 3

# The Arrow schema every importer produces: canonical segments, one batch per import unit.
SEGMENT_SCHEMA: pa.Schema = pa.schema(
    [pa.field(f.name, f.arrow_type, nullable=f.name != "start") for f in CALL_FIELDS]
    + [pa.field(EXTRA_FIELD, pa.string())]
)

NUMERIC_DEFAULTS: dict[str, float | int] = {
    f.name: (0.0 if f.type == "float" else 0)
    for f in CALL_FIELDS
    if f.type in ("float", "flag") and f.name != "hold"
}
