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
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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
# ref/lost come from the call's legs together (calls.legs): a later batch re-derives them
DERIVES_CALL_FLAGS = True
DEFAULT_INTERNAL_PATTERN = r"\d{2,6}"
# FreePBX's contexts for calls arriving from a trunk (from-pstn is an alias of from-trunk; the
# -toheader/-e164-us variants and the per-route ext-did-NNNN contexts end up there too). Not
# from-did-direct: FreePBX also dials Local/<ext>@from-did-direct to reach its own extensions.
DEFAULT_INBOUND_CONTEXTS = r"(?:from-trunk|from-pstn|ext-did)(?:-.*)?"
# chan_dahdi names ISDN (PRI/BRI) channels DAHDI/i<span>/<number>-<n>: always a line, never a
# phone. Analog DAHDI/<n> may be an FXS phone as well as an FXO line, so it is left to the later
# rules, as are SIP/PJSIP/IAX2 peers, which are phones and trunks alike.
_ISDN_CHANNEL_RE = re.compile(r"DAHDI/i\d+/")
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


class Parties:
    """Which parties of a record are trunks (external), in this order: the trunks the admin declared
    (``trunks=``), ISDN channels, party A of a record in an inbound context, and only then
    ``internal_pattern`` on what is left. Each record is classified on its own, never from other
    records of its file, so a file imported in pieces gives the rows of a one-shot import."""

    def __init__(self, internal: re.Pattern[str], trunks: frozenset[str],
                 inbound_contexts: re.Pattern[str]) -> None:
        self.internal = internal
        self.trunks = trunks
        self.inbound_contexts = inbound_contexts

    def inbound(self, context: str | None, channel: str | None) -> bool:
        """Whether party A came in from a trunk. A Local/ channel is the PBX calling itself."""
        return bool(context and channel and not channel.startswith("Local/")
                    and self.inbound_contexts.fullmatch(context))

    def is_internal(self, res: str | None, number: str | None, channel: str | None) -> bool:
        if res and res in self.trunks:
            return False
        if channel and _ISDN_CHANNEL_RE.match(channel):
            return False
        party = res or number
        return party is not None and party != "" and self.internal.fullmatch(party) is not None


def parse_list_option(value: str | None) -> frozenset[str]:
    """``a,b,c`` → the names, spaces around them dropped (names themselves are case-sensitive)."""
    return frozenset(n.strip() for n in (value or "").split(",") if n.strip())


def read(data: Input, *, source: str | None = None, time_zone: str | None = None,
         options: dict[str, str] | None = None, content_type: str | None = None) -> pa.Table:
    """Read a Master.csv file into canonical segments (all-or-nothing).

    The columnar path (:func:`_read_columnar`) handles clean files; anything it cannot vouch for
    (a bad row, odd line endings, invalid UTF-8, …) goes to the row-by-row reader, which is the
    reference behaviour and names every bad row.
    """
    source = source or source_label(data)
    options = options or {}
    tz = check_time_zone(source, time_zone)
    try:
        internal = re.compile(options.get("internal_pattern") or DEFAULT_INTERNAL_PATTERN)
        layout = parse_columns_option(options["columns"]) if options.get("columns") else None
    except (re.error, ValueError) as exc:
        raise SourceError(source, [RowError(None, None, f"bad option: {exc}")]) from None
    contexts = parse_list_option(options.get("inbound_contexts"))
    inbound = (re.compile("|".join(re.escape(c) for c in sorted(contexts))) if contexts
               else re.compile(DEFAULT_INBOUND_CONTEXTS))
    parties = Parties(internal, parse_list_option(options.get("trunks")), inbound)
    raw = read_bytes(data)
    table = _read_columnar(raw, layout, tz, parties)
    if table is not None:
        return table
    return _read_rows(raw, source, layout, tz, parties)


def _read_rows(raw: bytes, source: str, layout: tuple[str, ...] | None, tz: str,
               parties: Parties) -> pa.Table:
    """The row-by-row reader: the reference semantics, and the one that reports bad rows."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
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
    return _segments(records, tz, parties)


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


def _segments(records: list[dict[str, str]], tz: str, parties: Parties) -> pa.Table:
    if not records:
        return finish_segments({"start": pa.array([], pa.timestamp("us", tz="UTC"))})
    starts = _to_utc([r["start"] for r in records], tz)
    answers = _to_utc([r.get("answer") or None for r in records], tz)
    ends = _to_utc([r.get("end") or None for r in records], tz)

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
        a_internal = (not parties.inbound(r.get("dcontext"), r.get("channel"))
                      and parties.is_internal(a_res, src, r.get("channel")))
        b_internal = parties.is_internal(b_res, dst, r.get("dstchannel"))
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
        # offered here and not taken: ref until the call's legs decide which one is lost
        cols["ref"].append(int(not answered and r["disposition"] in OFFERED_UNANSWERED))
        cols["lost"].append(0)
    out: dict[str, Any] = dict(cols)
    out["start"] = pa.array(cols["start"], pa.timestamp("us", tz="UTC"))
    table = derive_ref_lost(finish_segments(out))
    return table.sort_by([("start", "ascending"), ("docId", "ascending")]) if table.num_rows > 1 else table


# ---- the columnar path --------------------------------------------------------------------------
# Row-by-row parsing managed ~12,500 rows/s; these helpers keep the whole file in Arrow arrays
# (pyarrow.csv + pyarrow.compute; DuckDB for the content hash and each call's last leg, in
# :func:`callboard.calls.legs.derive_ref_lost`) and fall back to
# the row reader above whenever a vectorised check cannot prove the file clean, so the reference
# semantics and its error reports stay exactly as they were.
_BOM = b"\xef\xbb\xbf"
# _CLID_RE for printable-ASCII text, where Python's \s can only be a space (RE2 has the same
# leftmost-first submatch rules as Python's backtracking engine).
_CLID_RE2 = r'^ *"?(?P<name>[^"<]*?)"? *<(?P<num>[^>]*)> *$'
_PRINTABLE_ASCII_RE2 = r"^[\x20-\x7e]*$"
_NAIVE = pa.timestamp("us")
_UNUSED = frozenset({"amaflags", "userfield", "peeraccount"})  # only in the raw-record hash
_STRING_NULL = pa.scalar(None, pa.string())
# Python datetimes (what the row reader goes through) span years 1..9999.
_MIN_US = -62_135_596_800_000_000
_MAX_US = 253_402_300_799_999_999


def read_text_csv(raw: bytes, width: int | None = None) -> list[pa.ChunkedArray] | None:
    r"""Every field as text, split exactly as ``csv.reader`` splits it, or None when not sure.

    None means "use the row reader": an empty file, a second BOM (pyarrow would drop it, Python
    keeps it), a bare ``\r`` (csv.reader raises on it), rows of different widths or a width other
    than ``width``, invalid UTF-8 (the row reader replaces it), or a field over csv's size limit.
    Blank lines are skipped by both readers.
    """
    raw = raw.removeprefix(_BOM)
    if raw.startswith(_BOM):
        return None
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(max(width or 0, 64))},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid:  # a row of another width, a bad quote, invalid UTF-8, …
        return None
    if (width is not None and table.num_columns != width) or table.num_rows == 0:
        return None
    if any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    fields = table.columns
    limit = csv.field_size_limit()
    if any((pc.max(pc.binary_length(f)).as_py() or 0) > limit for f in fields):
        return None
    return fields


def blank_to_null(arr: pa.Array) -> pa.Array:
    """``""`` → null: the row reader's ``value or None``."""
    return pc.if_else(pc.equal(arr, ""), _STRING_NULL, arr)


def fullmatch_mask(pattern: re.Pattern[str], arr: pa.Array) -> pa.Array:
    r"""``bool(v) and pattern.fullmatch(v)`` per value, with Python's ``re`` (user patterns may use
    syntax RE2 lacks, and ``\d`` means Unicode digits); run once per distinct value, not per row."""
    hits = [v for v in pc.unique(arr).to_pylist() if v and pattern.fullmatch(v) is not None]
    return pc.is_in(arr, pa.array(hits, pa.string()))


def seconds_between(later: pa.Array, earlier: pa.Array) -> pa.Array:
    """``(later - earlier).total_seconds()`` for whole-second stamps, exactly (integer seconds)."""
    us = pc.subtract(later.cast(pa.int64()), earlier.cast(pa.int64()))
    return pc.divide(us, 1_000_000).cast(pa.float64())


def in_python_range(*stamps: pa.Array) -> bool:
    """Whether every stamp is a valid Python datetime (the row reader fails on the others)."""
    for arr in stamps:
        lo, hi = pc.min_max(arr.cast(pa.int64())).values()
        if lo.is_valid and (lo.as_py() < _MIN_US or hi.as_py() > _MAX_US):
            return False
    return True


def per_distinct(arr: pa.Array, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``fn`` (a column → column mapping) run once per distinct value, spread back over the rows.

    Channels, caller ids and numbers repeat a lot within a file; a regular expression over the
    distinct values and a ``take`` is cheaper than the expression over every row.
    """
    encoded = pc.dictionary_encode(arr)
    return fn(encoded.dictionary).take(encoded.indices)


def _resources(channel: pa.Array) -> pa.Array:
    """:func:`channel_resource` over (distinct) channels: its four cuts as regular expressions,
    the ``;`` and ``@`` ones only where such a character occurs."""
    rest = pc.replace_substring_regex(channel, "^[^/]*/", "", max_replacements=1)
    if pc.any(pc.match_substring(rest, ";")).as_py():
        rest = pc.replace_substring_regex(rest, "(?s);.*$", "", max_replacements=1)
    rest = pc.replace_substring_regex(rest, "-[0-9a-fA-F]+$", "", max_replacements=1)
    if pc.any(pc.match_substring(rest, "@")).as_py():
        rest = pc.replace_substring_regex(rest, "(?s)@.*$", "", max_replacements=1)
    return blank_to_null(rest)


def _clid_parts(clid: pa.Array) -> pa.Array:
    """:func:`split_clid` over (distinct) caller ids as a struct of name and num: RE2 for
    printable ASCII, Python's own function for the (rare) rest."""
    parts = pc.extract_regex(clid, _CLID_RE2)
    matched = pc.is_valid(parts)
    name = pc.if_else(matched, pc.utf8_trim(pc.struct_field(parts, "name"), " "),
                      pc.utf8_trim(clid, '" '))
    num = pc.if_else(matched, pc.utf8_trim(pc.struct_field(parts, "num"), " "), _STRING_NULL)
    name, num = blank_to_null(name), blank_to_null(num)
    ascii_only = pc.match_substring_regex(clid, _PRINTABLE_ASCII_RE2)
    if not pc.all(ascii_only).as_py():
        split = [split_clid(v) for v in clid.to_pylist()]
        name = pc.if_else(ascii_only, name, pa.array([p[0] for p in split], pa.string()))
        num = pc.if_else(ascii_only, num, pa.array([p[1] for p in split], pa.string()))
    return pa.StructArray.from_arrays([name, num], names=["name", "num"])


def _stamp_shaped(arr: pa.Array, blank_ok: bool = False) -> pa.Array:
    """Length 19 with a space at 10. Together with Arrow's ISO 8601 cast succeeding (done when the
    stamps are converted; a failure sends the file to the row reader) this is exactly ``_TIME_RE``:
    the only 19-byte zone-less form Arrow parses is ``YYYY-MM-DD[ T]hh:mm:ss``, digits checked."""
    length = pc.binary_length(arr)
    shaped = pc.and_(pc.equal(length, 19), pc.equal(pc.utf8_slice_codeunits(arr, 10, 11), " "))
    return pc.or_(pc.equal(length, 0), shaped) if blank_ok else shaped


def _clean(cols: dict[str, pa.Array]) -> bool:
    """The checks of :func:`_check_record` over whole columns; False when any row would fail."""
    def every(mask: pa.Array) -> bool:
        return bool(pc.all(mask).as_py())

    ok = all(every(_stamp_shaped(cols[c])) for c in ("start", "end") if c in cols)
    if ok and "answer" in cols:
        answer = cols["answer"]
        ok = every(_stamp_shaped(answer, blank_ok=True))
        ok = ok and not pc.any(pc.and_(pc.equal(cols["disposition"], "ANSWERED"),
                                       pc.equal(answer, ""))).as_py()
    for col in ("duration", "billsec"):  # str.isdigit, minus non-ASCII digits (those fall back)
        ok = ok and (col not in cols or every(pc.ascii_is_decimal(cols[col])))
    if ok and "sequence" in cols:
        ok = every(pc.or_(pc.equal(cols["sequence"], ""), pc.ascii_is_decimal(cols["sequence"])))
    return ok and every(pc.is_in(cols["disposition"], pa.array(sorted(DISPOSITIONS))))


def _read_columnar(raw: bytes, layout: tuple[str, ...] | None, tz: str,
                   parties: Parties) -> pa.Table | None:
    """The whole file as columns, or None when the row reader has to decide (see :func:`read`)."""
    fields = read_text_csv(raw, len(layout) if layout else None)
    if fields is None:
        return None
    layout = layout or LAYOUTS.get(len(fields))
    if layout is None:
        return None
    # a repeated name keeps its last column, like the rows; columns we never read stay unjoined
    cols = {name: field.combine_chunks() for name, field in zip(layout, fields, strict=True)
            if name not in _UNUSED}
    try:
        if not _clean(cols):
            return None
        return _segments_columnar(cols, fields, tz, parties)
    except (pa.ArrowException, duckdb.Error):  # e.g. 2025-02-30: the row reader raises the real error
        return None


def _segments_columnar(cols: dict[str, pa.Array], fields: list[pa.ChunkedArray], tz: str,
                       parties: Parties) -> pa.Table | None:
    """:func:`_segments`, column by column. A missing column behaves like an empty one there."""
    n = len(fields[0])
    empty = pc.fill_null(pa.nulls(n, pa.string()), "")

    def col(name: str) -> pa.Array:
        return cols.get(name, empty)

    starts = local_to_utc(col("start").cast(_NAIVE), tz)
    answers = local_to_utc(blank_to_null(col("answer")).cast(_NAIVE), tz)
    ends = local_to_utc(blank_to_null(col("end")).cast(_NAIVE), tz)
    if not in_python_range(starts, answers, ends):
        return None

    a_res, b_res = per_distinct(col("channel"), _resources), per_distinct(col("dstchannel"), _resources)
    clid = per_distinct(col("clid"), _clid_parts)
    cli_name, cli_num = pc.struct_field(clid, "name"), pc.struct_field(clid, "num")
    src = pc.coalesce(blank_to_null(col("src")), cli_num)
    dst = blank_to_null(col("dst"))
    a_party, b_party = pc.coalesce(a_res, src), pc.coalesce(b_res, dst)
    a_inbound = _inbound_mask(parties, col("dcontext"), col("channel"))
    a_int = pc.and_(pc.invert(a_inbound), _internal_mask(parties, a_res, a_party, col("channel")))
    b_int = _internal_mask(parties, b_res, b_party, col("dstchannel"))
    both = pc.and_(a_int, b_int)
    outgoing = pc.and_(a_int, pc.invert(b_int))
    b_user = pc.coalesce(b_res, dst)
    user = pc.if_else(outgoing, pc.coalesce(a_res, src), pc.if_else(b_int, b_user, _STRING_NULL))
    trunk = pc.if_else(pc.invert(a_int), a_res, pc.if_else(pc.invert(b_int), b_res, _STRING_NULL))
    call_type = pc.if_else(both, pa.scalar(CALL_TYPE_INTERNAL, pa.int8()), pa.scalar(CALL_TYPE_EXTERNAL, pa.int8()))
    call_dir = pc.if_else(both, pa.scalar(DIR_INTERNAL, pa.int8()),
                          pc.if_else(a_int, pa.scalar(DIR_OUTGOING, pa.int8()), pa.scalar(DIR_INCOMING, pa.int8())))

    disposition = col("disposition")
    answered = pc.equal(disposition, "ANSWERED")
    if "duration" in cols:
        duration = cols["duration"].cast(pa.float64())
    else:
        duration = pc.fill_null(seconds_between(ends, starts), 0.0)
    billsec = cols["billsec"].cast(pa.float64()) if "billsec" in cols else pa.scalar(0.0)
    ring = pc.if_else(
        answered,
        pc.if_else(pc.is_valid(answers), pc.max_element_wise(seconds_between(answers, starts), 0.0),
                   pc.max_element_wise(pc.subtract(duration, billsec), 0.0)),
        duration)
    ring = pc.if_else(pc.not_equal(duration, 0.0), pc.min_element_wise(ring, duration), ring)
    queue = pc.equal(pc.ascii_lower(col("lastapp")), "queue")
    queue_name = blank_to_null(pc.replace_substring_regex(col("lastdata"), "(?s),.*$", "", max_replacements=1))

    uid, seq = blank_to_null(col("uniqueid")), col("sequence")
    keyed = pc.and_(pc.is_valid(uid), pc.not_equal(seq, ""))
    doc = pc.binary_join_element_wise(uid, seq, ":")
    if not pc.all(keyed).as_py():
        doc = pc.if_else(keyed, doc, _content_ids(fields, pc.invert(keyed)))
    conn = pc.coalesce(blank_to_null(col("linkedid")), uid, doc)
    # offered here and not taken: ref until the call's legs decide which one is lost
    rang = pc.and_(pc.is_in(disposition, pa.array(sorted(OFFERED_UNANSWERED))), pc.invert(answered))

    table = finish_segments({
        "docId": doc, "connId": conn, "start": starts, "ring": ring, "duration": duration,
        "userNum": user, "userName": pc.if_else(outgoing, cli_name, _STRING_NULL),
        "cli": src, "cliName": cli_name,
        "hgNum": pc.if_else(queue, dst, _STRING_NULL), "hgName": pc.if_else(queue, queue_name, _STRING_NULL),
        "callType": call_type, "callDir": call_dir, "ans": answered.cast(pa.int8()), "ref": rang.cast(pa.int8()),
        "lost": pa.array(np.zeros(n, dtype=np.int8)),
        "calledUserNum": dst, "callUserNum": src, "callUserName": cli_name,
        "accountCode": blank_to_null(col("accountcode")), "trunk": trunk,
    })
    return sort_segments(derive_ref_lost(table))


def _inbound_mask(parties: Parties, context: pa.Array, channel: pa.Array) -> pa.Array:
    """:meth:`Parties.inbound` per row, the context test once per distinct context."""
    contexts = [v for v in pc.unique(context).to_pylist() if v and parties.inbound_contexts.fullmatch(v)]
    local = pc.starts_with(channel, "Local/")
    return pc.and_(pc.and_(pc.is_in(context, pa.array(contexts, pa.string())), pc.not_equal(channel, "")),
                   pc.invert(local))


def _internal_mask(parties: Parties, res: pa.Array, party: pa.Array, channel: pa.Array) -> pa.Array:
    """:meth:`Parties.is_internal` per row (never null)."""
    declared = pc.is_in(res, pa.array(sorted(parties.trunks), pa.string()))
    isdn = pc.match_substring_regex(channel, "^" + _ISDN_CHANNEL_RE.pattern)
    trunk = pc.fill_null(pc.or_(declared, isdn), False)
    return pc.and_(pc.invert(trunk), fullmatch_mask(parties.internal, party))


def sort_segments(table: pa.Table) -> pa.Table:
    """``table.sort_by([start, docId])`` (stable), skipping the copy when the file was in order."""
    order = pc.sort_indices(table, sort_keys=[("start", "ascending"), ("docId", "ascending")])
    if pc.all(pc.equal(order, pa.array(np.arange(len(order), dtype=np.uint64)))).as_py() is not False:
        return table
    return table.take(order)


def _content_ids(fields: list[pa.ChunkedArray], wanted: pa.Array) -> pa.Array:
    """``ast:`` + SHA-1 of the raw record (fields joined by U+001F) where ``wanted``, in DuckDB."""
    names = [f"f{i}" for i in range(len(fields))]
    table = pa.table([*fields, wanted], names=[*names, "wanted"])
    joined = ", ".join(names)
    con = duckdb.connect()
    try:
        con.register("records", table)
        result = con.sql(f"SELECT CASE WHEN wanted THEN 'ast:' || sha1(concat_ws(chr(31), {joined})) END "
                         "AS id FROM records").to_arrow_table()
    finally:
        con.close()
    return result.column("id").combine_chunks()


__all__ = ["LAYOUTS", "channel_resource", "read", "split_clid"]
