"""The flags of a segment that depend on the other legs of its call: ``ref`` and ``lost``.

Sources whose records say only how each leg ended (Asterisk, FreeSWITCH) derive them per call
(``connId``): a leg that was offered but not answered is *ref* when any leg of the call answered;
in a call no leg answered, the offered leg that ended last is *lost* and the others *ref*. Legs never
offered to anyone (routing failures) are neither.

Legs of one call can arrive in different batches (a growing Master.csv imported again, legs posted
one by one), so the derivation must give the same flags whether it sees a call's legs together or
batch by batch. It therefore reads only what is stored with every segment:

* *offered, unanswered*: ``ans = 0`` and ``ref = 1`` or ``lost = 1`` (an importer marks such legs
  ``ref = 1`` before deriving; a stored one carries exactly one of the two);
* *ended last*: the greatest ``(end, start, docId)``, ``end = start + duration`` as reports show it.
  ``docId`` breaks ties (ring-group legs all ending as the caller hangs up), not file order, which a
  later batch cannot know.

The one definition is :func:`lost_keys_sql`: the importers run it over a batch, and the warehouse
over all stored segments of the calls a batch added legs to (inside the append's transaction).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CALL_DERIVED_FLAGS: tuple[str, ...] = ("ref", "lost")


def rang_sql(alias: str = "") -> str:
    """SQL true for an offered-but-unanswered leg (``alias``: a table alias with its dot, or empty)."""
    return f"({alias}ans = 0 AND ({alias}ref = 1 OR {alias}lost = 1))"


def lost_keys_sql(legs: str, key: str) -> str:
    """SQL (DuckDB) selecting ``k``, the ``key`` of every leg of relation ``legs`` that is *lost*.

    ``legs`` holds every leg of the calls concerned with the canonical columns ``connId``, ``ans``,
    ``ref``, ``lost``, ``start``, ``duration`` and ``docId``; ``key`` is an SQL expression unique per
    leg (also the last tie-break, for a batch that repeats a docId). Every other offered-but-unanswered
    leg is *ref*."""
    return f"""
        SELECT arg_max({key}, (epoch_us(start) + CAST(round(coalesce(duration, 0) * 1e6) AS BIGINT),
                               start, "docId", {key})) FILTER (WHERE {rang_sql()}) AS k
        FROM {legs}
        GROUP BY "connId"
        HAVING NOT bool_or(ans = 1) AND bool_or({rang_sql()})"""


def derive_ref_lost(segments: pa.Table) -> pa.Table:
    """``segments`` (canonical, one batch) with ``ref``/``lost`` derived per call; on input ``ref``
    (or ``lost``) marks the offered legs, as in the module docstring."""
    ans = pc.equal(segments.column("ans"), 1)
    offered = pc.or_(pc.equal(segments.column("ref"), 1), pc.equal(segments.column("lost"), 1))
    rang = pc.fill_null(pc.and_(offered, pc.invert(ans)), False)
    lost = np.zeros(segments.num_rows, dtype=np.int8)
    if pc.any(rang).as_py():
        legs = segments.select(["connId", "ans", "ref", "lost", "start", "duration", "docId"]).append_column(
            "_k", pa.array(np.arange(segments.num_rows, dtype=np.int64)))
        con = duckdb.connect()
        try:
            con.register("legs", legs)
            last = con.execute(lost_keys_sql("legs", "_k")).fetchnumpy()["k"]
        finally:
            con.close()
        lost[np.asarray(last, dtype=np.int64)] = 1
    lost_arr = pa.array(lost)
    ref = pc.and_(rang, pc.equal(lost_arr, 0)).cast(pa.int8())
    for name, values in (("ref", ref), ("lost", lost_arr)):
        i = segments.schema.get_field_index(name)
        segments = segments.set_column(i, segments.schema.field(i), values.cast(segments.schema.field(i).type))
    return segments


__all__ = ["CALL_DERIVED_FLAGS", "derive_ref_lost", "lost_keys_sql", "rang_sql"]
