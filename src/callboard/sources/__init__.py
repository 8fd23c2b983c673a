"""CDR importers, one module per source format, each turning a file into canonical segments (Arrow).

Every module exposes ``read(data, *, source, time_zone, options, content_type) -> pyarrow.Table`` with
the :data:`callboard.calls.schema.SEGMENT_SCHEMA`, raising :class:`SourceError` for bad input. A
module whose ``ref``/``lost`` depend on a call's other legs (:mod:`callboard.calls.legs`) sets
``DERIVES_CALL_FLAGS = True``, so the append derives them again when later legs of a call arrive.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pyarrow as pa

from callboard.sources.base import Input, RowError, SourceError, source_label

FORMATS: dict[str, str] = {
    "canonical": "callboard.sources.canonical",
    "asterisk": "callboard.sources.asterisk",
    "freeswitch": "callboard.sources.freeswitch",
    "webex": "callboard.sources.webex",
    "3cx": "callboard.sources.threecx",
    "cucm": "callboard.sources.cucm",
}


class UnknownFormat(ValueError):
    pass


def read_source(
    fmt: str,
    data: Input,
    *,
    source: str | None = None,
    time_zone: str | None = None,
    options: Mapping[str, str] | None = None,
    content_type: str | None = None,
) -> pa.Table:
    """Read one file or body of the given format into canonical segments."""
    if fmt not in FORMATS:
        raise UnknownFormat(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[fmt])
    return module.read(
        data,
        source=source or source_label(data),
        time_zone=time_zone,
        options=dict(options or {}),
        content_type=content_type,
    )


def derives_call_flags(fmt: str) -> bool:
    """Whether the importer of ``fmt`` derives ``ref``/``lost`` with :mod:`callboard.calls.legs`
    (so a later batch's legs must re-derive its calls' stored flags)."""
    return fmt in FORMATS and bool(getattr(importlib.import_module(FORMATS[fmt]), "DERIVES_CALL_FLAGS", False))


__all__ = ["FORMATS", "RowError", "SourceError", "UnknownFormat", "derives_call_flags", "read_source"]
