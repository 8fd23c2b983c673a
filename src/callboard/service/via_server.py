"""The command line through the running server (``service.local_server``): ``callboard import`` and
``callboard report run`` while ``callboard serve`` holds the data folder.

Imports read each file here, with the same importer as offline, and send its canonical segments as
one Parquet body (one atomic append per file, as offline); the next file is read while the server
stores the current one. Reports go through the Results API (an ad-hoc request, then its pages), and
the rows are written out by the same writers as offline, from a local copy of the result.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from callboard.reports.request import ResolvedRequest
from callboard.reports.templates import SEGMENT_FIELDS, TemplateField
from callboard.service.local_reports import write_output
from callboard.service.local_server import ServerInfo
from callboard.sources import read_source
from callboard.warehouse import AppendResult

API = "/api/v1.0"
# Parquet compression of an import body: LZ4 writes and reads at memory speed and still shrinks the
# body 3x (zstd is 30 % smaller but slower on both ends; the body crosses loopback only).
BODY_COMPRESSION = "lz4"
TABLE_ROWS = 50  # what a table shows, as offline (service.local_reports.TABLE_ROWS)
PAGE_ROWS = 50_000  # rows per results page read for csv/json/parquet output
WAIT_SECONDS = 30  # Prefer: wait=N, the most the server honours
INGEST_TIMEOUT = 6 * 3600.0  # a very large file takes long to store; the server answers when it is stored
# the statuses that concern the body sent, not the server or the credential
FILE_REFUSALS = (400, 413, 415, 422)


class ServerError(Exception):
    """The server refused or could not be reached; ``message`` is one line, ``file`` whether the
    refusal concerns the file sent (the next file may pass) rather than the server."""

    def __init__(self, message: str, status: int | None = None, *, file: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.file = file


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the credential goes to the announced address only


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ServerClient:
    """HTTP to the server announced in the data folder, with its local credential; no proxy from the
    environment and no redirect followed (the request goes to that address only)."""

    def __init__(self, info: ServerInfo) -> None:
        self.info = info
        self.url = info.url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                timeout: float = 60.0, retries_429: int = 20) -> Answer:
        """One call; 429 is waited out (Retry-After) and tried again. Other error statuses raise
        :class:`ServerError` with the server's message."""
        all_headers = {"Authorization": f"Bearer {self.info.credential}", **(headers or {})}
        for _ in range(retries_429 + 1):
            req = urllib.request.Request(self.url + path, data=body, method=method, headers=all_headers)
            try:
                with self._opener.open(req, timeout=timeout) as answer:
                    return Answer(answer.status, dict(answer.headers.items()), answer.read())
            except urllib.error.HTTPError as exc:
                payload = exc.read()
                if exc.code == 429:
                    time.sleep(_retry_after(exc.headers.get("Retry-After")))
                    continue
                raise ServerError(f"the server at {self.url} answered {exc.code}: {_message(payload, exc.reason)}",
                                  exc.code, file=exc.code in FILE_REFUSALS) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise ServerError(f"the server at {self.url} (pid {self.info.pid}) did not answer: {reason}") from None
        raise ServerError(f"the server at {self.url} kept answering 429 (too many requests); try again later", 429)

    def ready(self, wait_seconds: float = 10.0) -> bool:
        """Whether the server answers ``/health``, waiting up to ``wait_seconds`` while its process runs
        (a server announces itself just before it starts listening)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self.request("GET", "/health", timeout=5.0)
                return True
            except ServerError as exc:
                if exc.status is not None:
                    return True  # something answered: the calls that follow say what is wrong
            if time.monotonic() >= deadline or not self.info.alive():
                return False
            time.sleep(0.2)


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` (this server sends whole seconds), within [1, 60]."""
    try:
        return min(60.0, max(1.0, float(value or 1)))
    except ValueError:
        return 1.0


def _message(payload: bytes, fallback: str) -> str:
    """The server's one-line error: its ``message`` and, when they add to it, the first details."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return str(fallback)
    if not isinstance(doc, dict):
        return str(fallback)
    message = str(doc.get("message") or fallback)
    details = [str(e.get("description")) for e in doc.get("errors") or [] if isinstance(e, dict)
               and e.get("description") and e.get("description") != message]
    if details:
        more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
        message += " " + "; ".join(details[:3]) + more
    return " ".join(message.split())


# ---- import ------------------------------------------------------------------------------------
def segments_body(segments: pa.Table) -> bytes:
    """Canonical segments as the Parquet body of one ingest request."""
    sink = pa.BufferOutputStream()
    # no column statistics: the server reads the body whole, never skips a row group by them
    pq.write_table(segments, sink, compression=BODY_COMPRESSION, write_statistics=False)
    return bytes(sink.getvalue())


class FileImporter:
    """Imports ``files`` through the server in order, one request per file (``next_file()`` per
    file). While the server stores one file, the next is read and encoded in a thread here, so the
    two processes work at once; at most two files' bodies are held."""

    def __init__(self, client: ServerClient, workspace_id: str, files: Sequence[Path], fmt: str, *,
                 time_zone: str | None = None, options: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.workspace_id = workspace_id
        self.fmt = fmt
        self.time_zone = time_zone
        self.options = dict(options or {})
        self._files = list(files)
        self._queued = 0
        self._ahead: deque[tuple[Path, Future[bytes]]] = deque()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="callboard-import-read")

    def __enter__(self) -> FileImporter:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, path: Path) -> bytes:
        segments = read_source(self.fmt, path, source=str(path), time_zone=self.time_zone, options=self.options)
        return segments_body(segments)

    def _fill(self, depth: int) -> None:
        while len(self._ahead) < depth and self._queued < len(self._files):
            path = self._files[self._queued]
            self._ahead.append((path, self._pool.submit(self._read, path)))
            self._queued += 1

    def next_file(self) -> AppendResult:
        """Store the next file; raises ``SourceError`` (bad rows, nothing sent) or :class:`ServerError`."""
        self._fill(1)
        path, current = self._ahead.popleft()
        body = current.result()  # SourceError as offline
        self._fill(1)  # read the next file while this one is sent and stored
        cap = self.client.info.max_body_bytes
        if len(body) > cap:
            raise ServerError(
                f"{path}: its segments make a {len(body) / 1e6:,.1f} MB request, more than the server accepts "
                f"(CALLBOARD_MAX_BODY_BYTES = {cap / 1e6:,.1f} MB); nothing stored. Raise that setting on the "
                "server, or split the file, or stop the server and import offline.", 413, file=True)
        query = urllib.parse.urlencode({"format": "parquet"})
        answer = self.client.request(
            "POST", f"{API}/workspaces/{self.workspace_id}/calls?{query}", body=body,
            headers={"Content-Type": "application/vnd.apache.parquet"}, timeout=INGEST_TIMEOUT)
        doc = answer.json()
        return AppendResult(int(doc["received"]), int(doc["inserted"]), int(doc["duplicates"]))


# ---- reports -----------------------------------------------------------------------------------
@dataclass
class RemoteResult:
    """What ``callboard report run`` prints of a result read from the server."""

    total_count: int
    summary: dict[str, Any] = field(default_factory=dict)


# the snapshot's Arrow type per catalogue type (as reports.normalise writes it)
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "float": pa.float64(), "int": pa.int64(), "flag": pa.int64(),
    "timestamp": pa.timestamp("us"), "date": pa.date32(),
}
_SEGMENT_FIELDS = {f.name: f for f in SEGMENT_FIELDS}


def _child_type(name: str) -> pa.DataType:
    """A nested segment field as the snapshot holds it: times as ISO text, counts as int64."""
    fld = _SEGMENT_FIELDS.get(name)
    kind = fld.type if fld is not None else "string"
    return pa.string() if kind in ("timestamp", "date", "string") else _ARROW_TYPES.get(kind, pa.string())


def _column_type(fld: TemplateField | None, name: str, child_fields: list[str]) -> pa.DataType:
    if name == "children":
        struct = pa.struct([(c, _child_type(c)) for c in child_fields] or [("_", pa.null())])
        return pa.list_(struct)
    if fld is None:
        return pa.string()
    return _ARROW_TYPES.get(fld.type, pa.string())


def _page_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows of a results page (null fields left out, times as local ISO text) → snapshot columns."""
    arrays = []
    for f in schema:
        values = [r.get(f.name) for r in rows]
        if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type):
            arrays.append(pa.array(values, pa.string()).cast(f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def run_report_via_server(
    client: ServerClient,
    workspace_id: str,
    body: Mapping[str, Any],
    req: ResolvedRequest,
    output: str,
    out_file: Path | None,
    *,
    waiting: Callable[[], None] | None = None,
) -> tuple[RemoteResult, list[dict[str, Any]]]:
    """Run ``body`` (already resolved here as ``req``, which gives its columns) through the server's
    Results API and write it as ``run_local_report`` does: csv/json/parquet to ``out_file`` (or
    stdout); returns the figures and the first rows for a table. The request is discarded after."""
    base = f"{API}/workspaces/{workspace_id}/requests"
    created = client.request("POST", base, body=json.dumps(dict(body)).encode(),
                             headers={"Content-Type": "application/json"}).json()
    data_path = f"{base}/{created['requestId']}/data"
    try:
        page_size = TABLE_ROWS if output == "table" else PAGE_ROWS
        first = _read_page(client, data_path, 1, page_size, waiting)
        total = int(first.get("totalCount") or 0)
        summaries = first.get("summary") or []
        result = RemoteResult(total, summaries[0] if summaries else {})
        rows: list[dict[str, Any]] = first.get("data") or []
        if output == "table":
            return result, rows
        names = list(req.display_fields)
        schema = pa.schema([(n, _column_type(req.template.field(n), n, req.child_fields)) for n in names])
        with tempfile.TemporaryDirectory() as tmp:
            snapshot = Path(tmp) / "result.parquet"
            with pq.ParquetWriter(snapshot, schema) as writer:
                writer.write_table(_page_table(rows, schema))
                fetched, page = len(rows), 1
                while fetched < total and rows:
                    page += 1
                    rows = _read_page(client, data_path, page, page_size, waiting).get("data") or []
                    writer.write_table(_page_table(rows, schema))
                    fetched += len(rows)
            write_output(snapshot, output, out_file, result.total_count, result.summary)
        return result, []
    finally:
        # the result was wanted once, here: the server need not keep it (a run not ended, e.g. on
        # Ctrl-C, is cancelled); if it cannot be told, the result expires as any other
        with contextlib.suppress(ServerError):
            client.request("DELETE", f"{base}/{created['requestId']}", timeout=10.0, retries_429=0)


def _read_page(client: ServerClient, path: str, page: int, page_size: int,
               waiting: Callable[[], None] | None) -> dict[str, Any]:
    """One page of a complete result, waiting (``Prefer: wait``) while it runs; a failed, cancelled or
    expired request raises :class:`ServerError` with its status message."""
    query = urllib.parse.urlencode({"page": page, "pageSize": page_size})
    while True:
        answer = client.request("GET", f"{path}?{query}", headers={"Prefer": f"wait={WAIT_SECONDS}"},
                                timeout=WAIT_SECONDS + 60.0)
        doc: dict[str, Any] = answer.json()
        if answer.status == 202:
            if waiting is not None:
                waiting()
            continue
        if doc.get("state") != "complete":
            raise ServerError(str(doc.get("statusMessage") or f"the report ended {doc.get('state')}"))
        return doc
