"""Local experiments behind the tuning proposals in docs/performance.md. Each patches callboard *in
this process only* (the engine's files are owned by other engineers) and measures the gain against
the unpatched engine on the same data, checking the answer is unchanged.

    python -m benchmarks.experiments rollup [--templates CallList,CallsByDate] [--scope ws]
    python -m benchmarks.experiments prequery|sqlcache [--templates …]
    python -m benchmarks.experiments json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq

from benchmarks import data
from benchmarks.common import NOW, BenchWarehouse, body, scope_for
from benchmarks.competitors import core
from benchmarks.competitors.cases import fingerprint, same


def call_rollup_windows(segs: Any, fn: Any) -> Any:
    """The former ``helpers.call_rollup`` (before commit "call roll-up as one aggregation"): three
    ``row_number()`` windows (first, answering, first-hunt-group segment) joined back on connId.
    Kept here as the baseline of ``experiments.py rollup``."""
    from callboard.calls.rollups import add_seconds

    w = ibis.window(group_by=segs.connId, order_by=[segs.start, segs.docId])
    first = (segs.mutate(_rn=ibis.row_number().over(w)).filter(lambda s: s._rn == 0)
             .select("connId", f_docId="docId", f_cli="cli", f_cliName="cliName", f_callType="callType",
                     f_callDir="callDir"))
    answered = segs.filter(segs.ans == 1)
    wa = ibis.window(group_by=answered.connId, order_by=[answered.start, answered.docId])
    answer = (answered.mutate(_rn=ibis.row_number().over(wa)).filter(lambda s: s._rn == 0)
              .select("connId", a_user="userName", a_num="userNum",
                      a_at=add_seconds(answered.start, answered.ring)))
    grouped = segs.filter(segs.hgNum.notnull())
    wg = ibis.window(group_by=grouped.connId, order_by=[grouped.start, grouped.docId])
    hunt = (grouped.mutate(_rn=ibis.row_number().over(wg)).filter(lambda s: s._rn == 0)
            .select("connId", h_num="hgNum", h_name="hgName"))
    agg = segs.group_by("connId").aggregate(
        c_start=segs.start.min(),
        c_end=segs.end.max(),
        c_ans=segs.ans.max(),
        c_lost=segs.lost.max(),
        c_ref=segs.ref.max(),
        c_talk=segs.talk.sum(),
        c_hold=segs.hold.sum(),
        c_segments=segs.count(),
    )
    j = agg.left_join(first, "connId").left_join(answer, "connId").left_join(hunt, "connId")
    waited_until = ibis.coalesce(j.a_at, j.c_end)
    return j.select(
        docId=j.connId,
        connId=j.connId,
        start=j.c_start,
        end=j.c_end,
        userName=j.a_user,
        userNum=j.a_num,
        cli=j.f_cli,
        cliName=j.f_cliName,
        hgNum=j.h_num,
        hgName=j.h_name,
        callType=j.f_callType.cast("int64"),
        callDir=j.f_callDir.cast("int64"),
        ans=j.c_ans.cast("int64"),
        lost=j.c_lost.cast("int64"),
        ref=j.c_ref.cast("int64"),
        ring=fn.seconds_between(j.c_start, waited_until),
        talk=j.c_talk,
        hold=j.c_hold,
        duration=fn.seconds_between(j.c_start, j.c_end),
        segments=j.c_segments,
        firstDocId=j.f_docId,
    )


@contextmanager
def patched(targets: list[tuple[Any, str, Any]]) -> Iterator[None]:
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in targets]
    for mod, name, value in targets:
        setattr(mod, name, value)
    try:
        yield
    finally:
        for mod, name, value in saved:
            setattr(mod, name, value)


def compare(label: str, templates: list[str], scope_name: str, repeats: int,
            patch: Callable[[], list[tuple[Any, str, Any]]], patch_before: bool = False) -> None:
    """Interleaved runs of the engine as it is and patched by ``patch``: the patched run is "after",
    or "before" with ``patch_before`` (the patch restores a former implementation)."""
    from callboard.reports.request import resolve_request
    from callboard.reports.runner import run_report

    manifest = data.build()
    wh = BenchWarehouse.open(data.WAREHOUSE_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        for name in templates:
            scope, body = scope_for(scope_name, manifest, name)
            req = resolve_request(body, now=NOW)
            ws = scope.workspace or BenchWarehouse.ALL
            checks = core.CASES[name].checks
            res: dict[str, list[float]] = {"before": [], "after": []}
            prints: dict[str, dict[str, float]] = {}
            for _ in range(repeats):  # interleaved, so both see the same machine load
                for variant in ("before", "after"):
                    snap = Path(tmp) / f"{name}-{variant}.parquet"
                    if (variant == "after") != patch_before:
                        with patched(patch()):
                            t0 = time.perf_counter()
                            run_report(wh, ws, req, snap)
                    else:
                        t0 = time.perf_counter()
                        run_report(wh, ws, req, snap)
                    res[variant].append(time.perf_counter() - t0)
                    prints[variant] = fingerprint(pq.read_table(snap), checks)
            diff = same(prints["before"], prints["after"])
            b, a = statistics.median(res["before"]), statistics.median(res["after"])
            print(f"{label}: {name} [{scope_name}] before {b:.3f} s, after {a:.3f} s ({b / a:.2f}x); "
                  f"same answer: {'yes' if not diff else 'NO ' + '; '.join(diff)}", flush=True)
    wh.close()


def rollup_patch() -> list[tuple[Any, str, Any]]:
    """``calls_of``'s default rollup (read by every template that counts whole calls)."""
    from callboard.reports.templates import helpers

    defaults = helpers.calls_of.__defaults__
    assert defaults is not None
    patched = (call_rollup_windows, *defaults[1:])
    return [(helpers.calls_of, "__defaults__", patched)]


def prequery_patch() -> list[tuple[Any, str, Any]]:
    """The former pre-query: on the derived-field view (count, first start, last end), run to
    completion before the report."""
    from callboard.reports import expression, runner

    class Sequential:
        def __init__(self, warehouse: Any, workspace: str, req: Any) -> None:
            t = expression.prepare(warehouse, workspace, req)
            stats = t.aggregate(n=t.count(), lo=t.start.min(), hi=t.end.max(), long=t.duration.max())
            self._row = stats.to_pyarrow().to_pylist()[0]

        def interrupt(self) -> None:
            pass

        def result(self) -> dict[str, Any]:
            return self._row

    return [(runner, "_BackgroundStats", Sequential)]


def sqlcache_patch() -> list[tuple[Any, str, Any]]:
    """No compiled-SQL cache: every report builds and compiles its Ibis expression."""
    from callboard.reports import sql_cache

    return [(sql_cache, "statement", lambda *a, **k: None),
            (sql_cache, "lookup", lambda *a, **k: (None, None, False))]


def dense_snapshot(tmp: Path) -> tuple[Path, float, Any]:
    """The one-million-row CallListByUserSegmented snapshot of the dense workspace (and its engine time)."""
    from callboard.reports.request import resolve_request
    from callboard.reports.runner import run_report

    dense = data.build_dense()
    wh = BenchWarehouse.open(dense)
    req = resolve_request(body("CallListByUserSegmented", "UTC", ("2025-03-01T00:00:00", "2025-04-01T00:00:00")),
                          now=NOW)
    snap = tmp / "dense.parquet"
    t0 = time.perf_counter()
    res = run_report(wh, data.dense_workspace(), req, snap)
    engine = time.perf_counter() - t0
    wh.close()
    return snap, engine, res


def json_stream(repeats: int) -> None:
    """The results document's data as the service streams it (``service.requests._stream``: one
    ``bytes`` per row from ``iter_json_rows``, joined in Python) against ``output.json_rows_chunks``
    (a batch joined by Arrow's ``binary_join``), and DuckDB's JSON text alone; MB/s of each."""
    from callboard.reports.output import _json_reader, json_document_chunks, json_rows_chunks

    with tempfile.TemporaryDirectory() as tmp:
        snap, engine, res = dense_snapshot(Path(tmp))
        print(f"dense snapshot: {res.total_count:,} rows, run_report {engine:.2f} s "
              f"(engine query {res.query_duration_ms} ms)", flush=True)
        variants: dict[str, Callable[[], int]] = {
            "output.json_document_chunks (the service's writer)": lambda: sum(
                len(c) for c in json_document_chunks({}, snap)),
            "output.json_rows_chunks (binary_join)": lambda: sum(len(c) for c in json_rows_chunks(snap)),
            "DuckDB JSON text only (_json_reader)": lambda: sum(a.nbytes for a in _json_reader(snap, 0, None)),
        }
        for name, fn in variants.items():
            times, n = [], 0
            for _ in range(repeats):
                t0 = time.perf_counter()
                n = fn()
                times.append(time.perf_counter() - t0)
            m = statistics.median(times)
            print(f"json: {name}: {n / 1e6:.0f} MB in {m:.2f} s = {n / 1e6 / m:.0f} MB/s", flush=True)


def webex(repeats: int) -> None:
    """Where the one-million-row zipped CSV's time goes: engine (run_report), CSV text, CSV + zip."""
    import io

    from callboard.reports.output import write_csv
    from callboard.webex.render import render_zip

    with tempfile.TemporaryDirectory() as tmp:
        snap, engine, res = dense_snapshot(Path(tmp))
        print(f"webex: run_report {engine:.2f} s for {res.total_count:,} rows "
              f"(engine query {res.query_duration_ms} ms)", flush=True)
        for _ in range(repeats):
            t0 = time.perf_counter()
            sink = io.BytesIO()
            write_csv(snap, sink, bom=True)
            t_csv = time.perf_counter() - t0
            t1 = time.perf_counter()
            done = render_zip(lambda out: write_csv(snap, out, bom=True), Path(tmp) / "r.zip", "r.csv")
            t_zip = time.perf_counter() - t1
            print(f"webex: CSV text {len(sink.getvalue()) / 1e6:.0f} MB in {t_csv:.2f} s; CSV + zip "
                  f"{done.size / 1e6:.0f} MB in {t_zip:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["rollup", "prequery", "sqlcache", "json", "webex"])
    parser.add_argument("--templates", default="CallList,CallsByDate")
    parser.add_argument("--scope", default="ws")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    templates = [t for t in args.templates.split(",") if t]
    if args.what == "rollup":
        compare("call_rollup: windows (before) vs arg_min (after)", templates, args.scope, args.repeats,
                rollup_patch, patch_before=True)
    elif args.what == "prequery":
        compare("pre-query: before the report (before) vs lean, beside the report (after)", templates,
                args.scope, args.repeats, prequery_patch, patch_before=True)
    elif args.what == "sqlcache":
        compare("compiled SQL: compiled per request (before) vs cached per shape (after, warm)", templates,
                args.scope, args.repeats, sqlcache_patch, patch_before=True)
    elif args.what == "json":
        json_stream(args.repeats)
    else:
        webex(args.repeats)


if __name__ == "__main__":
    main()
