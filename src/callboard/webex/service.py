"""Webex-compatible reports (SPEC §4.2): create, list, details, delete, render and download.

A Webex report is a Results-API request in disguise: creating one validates the template's rules,
then queues an ordinary request (the template's default display fields, ``startDate`` 00:00 to the
day after ``endDate`` 00:00 in ``timeZone``, every row) on the shared queue, where the normal
workers run it into a Parquet snapshot. The report row (``webex_reports``) adds the Webex facts.

Rendering happens on the first read (details, list or download) after the request completes, not
in the worker: the queue stays unaware of Webex, and a report nobody looks at costs nothing. The
guard against rendering twice is a conditional UPDATE (``pending`` → ``rendering`` with a fresh
``render_token``); only the reader whose UPDATE matched renders, others report ``In progress``.
Each render writes its own file name (``<uuid>-<token>.zip``), so even a takeover of a stale render
cannot mix two archives; the archive's member time is the report's creation time, so the bytes (and
the checksum) are a function of the data alone.
The claim's token names the rendering process (``queue.owner_tag``): when a server starts, renders
claimed by a process of this host that is gone are released at once (``recover_renders``) rather
than read ``In progress`` until the claim goes stale.

Which workspace a report runs on: the tenant is the Webex "organisation", but calls live in
workspaces. A report runs on ``workspaceId`` when the create body gives one (a callboard extension),
else on the caller's first workspace (oldest; for a token restricted to workspaces, the first of
those). Template ``startDate``/``endDate`` describe that same default workspace.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from callboard.reports.output import write_csv
from callboard.reports.templates import TEMPLATES
from callboard.service import queue, tenancy
from callboard.service import requests as results
from callboard.service.auth import Principal
from callboard.service.errors import BadRequest, Forbidden, Gone, NotFound, ServiceError, Unauthorized
from callboard.service.worker import PRIVATE_DIR, PRIVATE_FILE, sweep_temp_files
from callboard.settings import Settings
from callboard.store.db import Database
from callboard.store.models import ReportRequest, RequestStatus, Tenant, Workspace, utcnow
from callboard.webex import ids
from callboard.webex.models import (
    RENDER_DONE,
    RENDER_FAILED,
    RENDER_PENDING,
    RENDER_RUNNING,
    WebexReport,
)
from callboard.webex.render import render_zip
from callboard.webex.signing import LinkCheck, Signer, load_secret
from callboard.webex.templates import WebexTemplate, catalogue

log = logging.getLogger("callboard.webex")

STATUS_IN_PROGRESS = "In progress"
STATUS_DONE = "done"
STATUS_FAILED = "failed"
SCHEDULE_FROM = {"api": "api", "partner": "api"}
DEFAULT_REGION = "US"
# A render claimed this long ago without finishing is presumed dead and may be taken over.
RENDER_STALE_SECONDS = 300
MAX_PAGE = 1000
DEFAULT_PAGE = 100
# Reports take every row of their range (Webex files are complete); the engine's own cap still holds.
REPORT_ROW_LIMIT = 100_000_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._-]+")


class Locked(ServiceError):
    """423: the report exists but its file is not ready yet (``Retry-After`` says when to look)."""

    status = 423

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


# ---- templates ----------------------------------------------------------------------------------
_dates_cache: dict[str, tuple[float, tuple[date | None, date | None]]] = {}
_dates_lock = threading.Lock()
DATES_CACHE_SECONDS = 30.0


def data_dates(warehouse: Any, workspace: Workspace | None) -> tuple[date | None, date | None]:
    """First and last UTC day with calls in ``workspace`` (``None``s when empty or unknown).

    On a warehouse whose reads take turns with the report runs (``Warehouse.turn``), a listing never
    waits long: after 2 s it answers from a recent value, or without dates.
    """
    if workspace is None:
        return None, None
    key = str(workspace.id)
    now = time.monotonic()
    with _dates_lock:
        cached = _dates_cache.get(key)
    if cached is not None and now - cached[0] < DATES_CACHE_SECONDS:
        return cached[1]
    try:
        with warehouse.turn(timeout=2.0):
            lo, hi = warehouse.time_range(key)
    except TimeoutError:
        return cached[1] if cached else (None, None)
    value = (_as_date(lo), _as_date(hi))
    with _dates_lock:
        _dates_cache[key] = (now, value)
    return value


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def default_workspace(session: Session, principal: Principal) -> Workspace | None:
    """The caller's first workspace (oldest), the one reports run on unless the body names one."""
    spaces = tenancy.list_workspaces(session, principal)
    return spaces[0] if spaces else None


def templates_for(session: Session, warehouse: Any, principal: Principal
                  ) -> tuple[list[WebexTemplate], date | None, date | None]:
    """The catalogue and the data range of the workspace reports run on by default."""
    start, end = data_dates(warehouse, default_workspace(session, principal))
    return catalogue(), start, end


# ---- creation -----------------------------------------------------------------------------------
def _bad(message: str, field: str | None = None) -> BadRequest:
    return BadRequest(message, [{"description": message, **({"field": field} if field else {})}])


def _template_id(value: Any) -> int:
    """``templateId`` as a number: the portal and some clients send it as a string."""
    if value is None:
        raise _bad("templateId is required (validation rule: templateId required=yes).", "templateId")
    if isinstance(value, bool):
        raise _bad(f"templateId must be a number, got {value!r}.", "templateId")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _bad(f"templateId must be a number, got {value!r}.", "templateId")


def _date(body: Mapping[str, Any], name: str, template: WebexTemplate) -> date:
    value = body.get(name)
    if value is None or value == "":
        raise _bad(f"{name} is required for template {template.id} ({template.title}) "
                   f"(validation rule: {name} required=yes).", name)
    if not isinstance(value, str) or not _DATE.match(value):
        raise _bad(f"{name} must be a date in YYYY-MM-DD form, got {value!r}.", name)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise _bad(f"{name} is not a calendar date: {value!r}.", name) from None
    if not 1900 <= parsed.year <= 2999:  # the report's end is exclusive of the next day: keep it representable
        raise _bad(f"{name} must be a date between 1900-01-01 and 2999-12-31, got {value!r}.", name)
    return parsed


def _text(body: Mapping[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string, got {value!r}.", name)
    return value.strip()


@dataclass(frozen=True)
class CreateSpec:
    template: WebexTemplate
    start: date
    end: date
    time_zone: str
    site_list: str
    region_id: str
    workspace_id: str | None


def validate_create(body: Any, *, partner: bool) -> CreateSpec:
    """Check a create body against the template's rules; each refusal names the rule it breaks."""
    if not isinstance(body, Mapping):
        raise _bad("The body must be a JSON object with templateId, startDate and endDate.")
    tid = _template_id(body.get("templateId"))
    known = catalogue()
    template = next((t for t in known if t.id == tid), None)
    if template is None:
        valid = ", ".join(f"{t.id} ({t.title})" for t in known)
        raise BadRequest(f"Invalid templateId {tid}: no such report template.",
                         [{"description": f"Invalid templateId {tid}.", "field": "templateId"},
                          {"description": f"Valid templateIds: {valid}.", "field": "templateId"}])
    start = _date(body, "startDate", template)
    end = _date(body, "endDate", template)
    if end < start:
        raise _bad(f"endDate ({end}) must not be before startDate ({start}).", "endDate")
    days = (end - start).days + 1
    if days > template.max_days:
        raise _bad(f"The date range covers {days} days; template {template.id} ({template.title}) allows at "
                   f"most {template.max_days} (maxDays).", "endDate")
    tz = tenancy.check_time_zone(_text(body, "timeZone", "UTC") or "UTC", "timeZone")  # 400 naming timeZone
    site_list = _text(body, "siteList", "")
    region = _text(body, "regionId", DEFAULT_REGION) or DEFAULT_REGION
    if not _REGION.match(region):
        raise _bad(f"regionId must be a region code such as US, CA or EU, got {region!r}.", "regionId")
    workspace = body.get("workspaceId")
    if workspace is not None and not isinstance(workspace, str):
        raise _bad("workspaceId must be a workspace id string.", "workspaceId")
    return CreateSpec(template, start, end, tz, site_list, region.upper() if partner else region, workspace)


def request_body(spec: CreateSpec) -> dict[str, Any]:
    """The Results-API request a report runs as (posting it to ``/requests`` gives the same rows)."""
    return {
        "reportTemplateName": spec.template.name,
        "timeZoneId": spec.time_zone,
        "pageSize": -1,
        "rowLimit": REPORT_ROW_LIMIT,
        "metadata": {
            "dateFilter": {
                "presetName": "Custom",
                "start": f"{spec.start.isoformat()}T00:00:00",
                "end": f"{(spec.end + timedelta(days=1)).isoformat()}T00:00:00",
            }
        },
    }


def create_report(session: Session, settings: Settings, principal: Principal, body: Any, *,
                  partner: bool) -> WebexReport:
    """Validate, queue the request, store the report row (one transaction: all or nothing)."""
    spec = validate_create(body, partner=partner)
    if spec.workspace_id is not None:
        try:
            workspace = tenancy.get_workspace(session, principal, spec.workspace_id)
        except NotFound:
            raise _bad(f"workspaceId {spec.workspace_id!r} is not a workspace of this organisation.",
                       "workspaceId") from None
    else:
        found = default_workspace(session, principal)
        if found is None:
            raise _bad("This organisation has no workspace to report on yet: create one "
                       "(POST /api/v1.0/workspaces) and import calls first.")
        workspace = found
    req = results.submit(session, settings, workspace, request_body(spec), principal=principal)
    row = WebexReport(
        id=uuid.uuid4(),
        tenant_id=workspace.tenant_id,
        workspace_id=workspace.id,
        request_id=req.id,
        created_via="partner" if partner else "api",
        template=spec.template.name,
        template_id=spec.template.id,
        title=spec.template.title,
        service=spec.template.service,
        start_date=spec.start,
        end_date=spec.end,
        time_zone=spec.time_zone,
        site_list=spec.site_list,
        region_id=spec.region_id,
        created_at=utcnow().replace(microsecond=0),
        created_by=str(principal.token_id) if principal.token_id else None,
        render_state=RENDER_PENDING,
    )
    session.add(row)
    session.flush()
    return row


# ---- lookup and listing -------------------------------------------------------------------------
def _visible(principal: Principal) -> Any:
    cond = WebexReport.tenant_id == principal.tenant_id
    if principal.workspaces is not None:
        cond = and_(cond, WebexReport.workspace_id.in_(list(principal.workspaces)))
    return cond


def get_report(session: Session, principal: Principal, report_id: str) -> WebexReport:
    """A report of the caller's organisation; another tenant's id is answered exactly like an unknown one."""
    rid = ids.parse_report_id(report_id)
    row = None
    if rid is not None:
        row = session.scalars(select(WebexReport).where(WebexReport.id == rid, _visible(principal))).first()
    if row is None:
        raise NotFound(f"Report {report_id} not found.")
    return row


@dataclass(frozen=True)
class ListFilters:
    service: str | None = None
    template_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    report_id: str | None = None
    region_id: str | None = None


def parse_filters(params: Mapping[str, str], *, partner: bool) -> ListFilters:
    def day(name: str) -> date | None:
        value = params.get(name)
        if not value:
            return None
        if not _DATE.match(value):
            raise _bad(f"{name} must be a date in YYYY-MM-DD form, got {value!r}.", name)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _bad(f"{name} is not a calendar date: {value!r}.", name) from None

    tid = params.get("templateId")
    if tid is not None and (not tid.strip().isdigit() or len(tid.strip()) > 9):
        raise _bad(f"templateId must be a template's number (at most 9 digits), got {tid!r}.", "templateId")
    lo, hi = day("from"), day("to")
    if lo and hi and hi < lo:
        raise _bad(f"to ({hi}) must not be before from ({lo}).", "to")
    return ListFilters(
        service=params.get("service") or None,
        template_id=int(tid) if tid is not None else None,
        created_from=lo,
        created_to=hi,
        report_id=None if partner else (params.get("reportId") or None),
        region_id=(params.get("regionId") or None) if partner else None,
    )


def page_size(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PAGE
    if not value.isdigit() or int(value) < 1:
        raise _bad(f"max must be a positive integer, got {value!r}.", "max")
    return min(int(value), MAX_PAGE)


def _encode_cursor(row: WebexReport) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CURSOR_MAX = 200  # an issued cursor has about 90 characters


def _decode_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    """The ``(created_at, id)`` a cursor of :func:`_encode_cursor` holds; anything else -- garbage,
    an overlong value, a naive or out-of-range time -- is a 400 naming ``cursor``."""
    try:
        if len(text) > _CURSOR_MAX:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        stamp, hexid = raw.split("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:  # issued cursors carry +00:00; the store compares aware times only
            raise ValueError("naive time")
        return when.astimezone(UTC), uuid.UUID(hex=hexid)
    except (ValueError, UnicodeDecodeError, OverflowError):  # binascii.Error is a ValueError
        raise _bad("cursor is not a cursor this server issued; follow the Link header.", "cursor") from None


def list_reports(session: Session, principal: Principal, filters: ListFilters, size: int,
                 cursor: str | None) -> tuple[list[WebexReport], str | None]:
    """One page of the organisation's reports, newest first; returns the rows and the next cursor.

    Keyset paging on ``(created_at, id)``: a report created between two page reads neither shifts
    the next page nor repeats a row, which offset paging cannot promise.
    """
    q = select(WebexReport).where(_visible(principal))
    if filters.service:
        q = q.where(WebexReport.service == filters.service)
    if filters.template_id is not None:
        q = q.where(WebexReport.template_id == filters.template_id)
    if filters.created_from:
        q = q.where(WebexReport.created_at >= datetime.combine(filters.created_from, datetime.min.time(), UTC))
    if filters.created_to:
        q = q.where(WebexReport.created_at < datetime.combine(filters.created_to, datetime.min.time(), UTC))
    if filters.region_id:
        q = q.where(WebexReport.region_id == filters.region_id)
    if filters.report_id:
        rid = ids.parse_report_id(filters.report_id)
        if rid is None:
            return [], None
        q = q.where(WebexReport.id == rid)
    if cursor:
        stamp, last = _decode_cursor(cursor)
        q = q.where(or_(WebexReport.created_at < stamp,
                        and_(WebexReport.created_at == stamp, WebexReport.id < last)))
    rows = list(session.scalars(q.order_by(WebexReport.created_at.desc(), WebexReport.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_encode_cursor(rows[-1]) if more and rows else None)


def delete_report(session: Session, principal: Principal, report_id: str) -> list[Path]:
    """Delete a report: cancel its request if still running, discard it otherwise; returns files to remove.

    The row goes at once, so its download links answer 404 from now on.
    """
    row = get_report(session, principal, report_id)
    files: list[Path] = []
    if row.file_path:
        files.append(Path(row.file_path))
    if row.request_id is not None:
        req = session.get(ReportRequest, row.request_id)
        if req is not None:
            snapshot = req.snapshot_path
            if queue.cancel(session, req) == "discarded" and snapshot:
                files.append(Path(snapshot))
    session.delete(row)
    session.flush()
    return files


# ---- rendering ----------------------------------------------------------------------------------
def file_name(row: WebexReport, org: str) -> str:
    """``<Title>_<id>_<Org>_<start>_<end>.csv``, as Control Hub names its files."""
    safe_org = _UNSAFE_NAME.sub("_", org).strip(" ._") or "Org"
    return f"{row.title}_{row.id.hex}_{safe_org}_{row.start_date.isoformat()}_{row.end_date.isoformat()}.csv"


def _fail(db: Database, report_id: uuid.UUID, reason: str, token: str | None = None) -> None:
    with db.session() as session:
        cond = [WebexReport.id == report_id]
        if token is not None:
            cond.append(WebexReport.render_token == token)
        else:
            cond.append(WebexReport.render_state.in_((RENDER_PENDING, RENDER_RUNNING)))
        session.execute(update(WebexReport).where(*cond).values(
            render_state=RENDER_FAILED, render_error=reason[:2000], render_token=None)
            .execution_options(synchronize_session=False))


def ensure_rendered(db: Database, settings: Settings, report_id: uuid.UUID,
                    writer: Callable[[Path, BinaryIO, WebexReport], None] | None = None) -> None:
    """Render the report's file if its request has completed and nobody rendered it yet.

    Returns quickly when there is nothing to do (still queued, already done or failed, or another
    reader holds a fresh claim). Runs outside the caller's transaction: the render may take seconds
    and must not hold the metadata store's write lock.
    """
    now = utcnow()
    with db.session() as session:
        row = session.get(WebexReport, report_id)
        if row is None or row.render_state in (RENDER_DONE, RENDER_FAILED):
            return
        if row.render_state == RENDER_RUNNING and row.render_started_at is not None and \
                row.render_started_at > now - timedelta(seconds=RENDER_STALE_SECONDS):
            return
        req = session.get(ReportRequest, row.request_id) if row.request_id else None
        if req is None:
            reason = "The report's request was discarded before its file was written."
            state = None
        else:
            state = results.effective_status(req)
            reason = req.status_message or state.state
        if state in (RequestStatus.QUEUED, RequestStatus.RUNNING):
            return
        if state != RequestStatus.COMPLETE:
            if state == RequestStatus.EXPIRED:
                reason = "The report's result expired before its file was written."
            failed_now = True
        else:
            failed_now = False
        snapshot = req.snapshot_path if req is not None else None
        tenant = session.get(Tenant, row.tenant_id)
        org = tenant.name if tenant is not None else "Org"
    if failed_now:
        _fail(db, report_id, reason)
        return
    if not snapshot or not Path(snapshot).exists():
        _fail(db, report_id, "The report's result is no longer available.")
        return

    # the claim names its process (queue.owner_tag): a restart on this host can tell a render whose
    # process is gone from one still running, and release it at once (recover_renders)
    token = f"{uuid.uuid4().hex[:16]}.{queue.owner_tag()}"
    with db.session() as session:
        claimed = cast(CursorResult[Any], session.execute(  # an UPDATE gives a CursorResult; stubs say Result
            update(WebexReport)
            .where(WebexReport.id == report_id, or_(
                WebexReport.render_state == RENDER_PENDING,
                and_(WebexReport.render_state == RENDER_RUNNING,
                     WebexReport.render_started_at <= now - timedelta(seconds=RENDER_STALE_SECONDS))))
            .values(render_state=RENDER_RUNNING, render_token=token, render_started_at=now)
            .execution_options(synchronize_session=False)
        )).rowcount
        if claimed != 1:
            return
        row = session.get(WebexReport, report_id)
        assert row is not None
        session.expunge(row)

    name = file_name(row, org)
    dest = settings.data_dir / "webex" / f"{row.id.hex}-{token}.zip"
    dest.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    write = writer or write_report_csv
    started = time.perf_counter()
    try:
        done = render_zip(lambda sink: write(Path(snapshot), sink, row), dest, name,
                          stamp=_zip_stamp(row.created_at))
        done.path.chmod(PRIVATE_FILE)  # owner-only whatever the umask of the process
    except Exception as exc:  # the engine's or the disk's failure becomes the report's reason
        log.warning("rendering Webex report %s failed", report_id, exc_info=True)
        _fail(db, report_id, f"Writing the report file failed: {str(exc).strip() or type(exc).__name__}", token)
        return
    with db.session() as session:
        published = cast(CursorResult[Any], session.execute(  # UPDATE: a CursorResult, as above
            update(WebexReport).where(WebexReport.id == report_id, WebexReport.render_token == token)
            .values(render_state=RENDER_DONE, rendered_at=utcnow(), file_name=name, file_path=str(done.path),
                    file_size=done.size, checksum=done.checksum, render_error=None)
            .execution_options(synchronize_session=False)
        )).rowcount
    if published != 1:  # deleted meanwhile, or our claim was taken over: our file is nobody's
        dest.unlink(missing_ok=True)
        return
    log.info("Webex report %s rendered: %d bytes in %.2fs", report_id, done.size, time.perf_counter() - started)


def recover_renders(db: Database, settings: Settings) -> list[uuid.UUID]:
    """At start: renders claimed by a process of this host that is gone go back to ``pending`` at once
    (the next read renders them) instead of reading ``In progress`` until the claim is stale; their
    temporary files, and archives written but never published, are removed. Returns the reports released."""
    released: list[uuid.UUID] = []
    with db.session() as session:
        claims = session.execute(select(WebexReport.id, WebexReport.render_token)
                                 .where(WebexReport.render_state == RENDER_RUNNING)).all()
    for rid, token in claims:
        if not token or not queue.tag_gone(token):
            continue
        with db.session() as session:
            done = cast(CursorResult[Any], session.execute(  # UPDATE: a CursorResult, as above
                update(WebexReport).where(WebexReport.id == rid, WebexReport.render_token == token,
                                          WebexReport.render_state == RENDER_RUNNING)
                .values(render_state=RENDER_PENDING, render_token=None, render_started_at=None)
                .execution_options(synchronize_session=False)
            )).rowcount
        if done == 1:
            released.append(rid)
    if released:
        log.warning("released %d Webex render(s) whose process is gone; they render at the next read", len(released))
    folder = settings.data_dir / "webex"
    sweep_temp_files(folder)
    unpublished = [p for p in folder.glob("*.zip") if queue.tag_gone(p.name)] if folder.is_dir() else []
    if unpublished:  # rendered, then the process died before recording it: nobody's file
        with db.session() as session:
            kept = {Path(fp).name for fp in session.scalars(select(WebexReport.file_path)) if fp}
        for path in unpublished:
            if path.name not in kept:
                path.unlink(missing_ok=True)
    return released


def _zip_stamp(created: datetime) -> tuple[int, int, int, int, int, int]:
    c = created.astimezone(UTC)
    return (max(c.year, 1980), c.month, c.day, c.hour, c.minute, c.second)


def write_report_csv(snapshot: Path, sink: BinaryIO, row: WebexReport) -> None:
    """The report's CSV: BOM, a header of the template's field titles, the snapshot's rows in the
    engine's CSV formatting (the same writer ``callboard report run --output csv`` uses)."""
    template = TEMPLATES.get(row.template)
    titles = {f.name: f.title for f in template.fields} if template is not None else {}
    write_csv(snapshot, sink, header_titles=titles, bom=True)


def refresh(db: Database, settings: Settings, rows: list[WebexReport]) -> list[WebexReport]:
    """Render whatever became renderable among ``rows`` and read them back in the same order."""
    ids_ = [r.id for r in rows]
    for rid in ids_:
        ensure_rendered(db, settings, rid)
    with db.session() as session:
        fresh = {r.id: r for r in session.scalars(select(WebexReport).where(WebexReport.id.in_(ids_)))}
        for r in fresh.values():
            session.expunge(r)
    return [fresh[i] for i in ids_ if i in fresh]


# ---- shapes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Links:
    """How to build absolute links for one answer (the download path and the public base URL)."""

    base: str
    signer: Signer
    lifetime: int

    def download(self, row: WebexReport) -> str:
        expires, sig = self.signer.sign(row.id, self.lifetime)
        return f"{self.base}/v1/reports/{ids.report_id(row.id)}/download?expires={expires}&signature={sig}"


def _created(row: WebexReport) -> str:
    return row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def org_item(row: WebexReport, links: Links) -> dict[str, Any]:
    """The org-family Report object with the keys wxc_sdk reads (``Id``, ``scheduleFrom``,
    ``downloadDomain``, ``downloadURL``), plus ``timeZone`` and ``failureReason`` when it failed."""
    item = {
        "Id": ids.report_id(row.id),
        "title": row.title,
        "service": row.service,
        "startDate": row.start_date.isoformat(),
        "endDate": row.end_date.isoformat(),
        "siteList": row.site_list or "",
        "timeZone": row.time_zone,
        "created": _created(row),
        "createdBy": ids.person_id(uuid.UUID(row.created_by)) if row.created_by else "",
        "scheduleFrom": SCHEDULE_FROM.get(row.created_via, "api"),
        "status": status_of_row(row),
        "downloadDomain": links.base + "/",
        "downloadURL": links.download(row),
    }
    if row.render_state == RENDER_FAILED and row.render_error:
        item["failureReason"] = row.render_error
    return item


def partner_item(row: WebexReport, links: Links, org: str) -> dict[str, Any]:
    """The partner-family details: every field of the seed-003 example, with its types."""
    item = {
        "reportId": ids.report_id(row.id),
        "templateId": row.template_id,
        "title": row.title,
        "service": row.service,
        "startDate": row.start_date.isoformat(),
        "endDate": row.end_date.isoformat(),
        "regionId": row.region_id,
        "createdTime": _created(row),
        "status": status_of_row(row),
        "fileName": row.file_name or file_name(row, org),
        "fileSize": int(row.file_size or 0),
        "checksum": row.checksum or "",
        "downloadURL": links.download(row),
        "downloadUrlExpiryTime": str(links.lifetime),
    }
    if row.render_state == RENDER_FAILED and row.render_error:
        item["failureReason"] = row.render_error
    return item


def status_of_row(row: WebexReport) -> str:
    if row.render_state == RENDER_DONE:
        return STATUS_DONE
    if row.render_state == RENDER_FAILED:
        return STATUS_FAILED
    return STATUS_IN_PROGRESS


def org_name(session: Session, tenant_id: uuid.UUID) -> str:
    tenant = session.get(Tenant, tenant_id)
    return tenant.name if tenant is not None else "Org"


# ---- download -----------------------------------------------------------------------------------
_signers: dict[tuple[str, str | None], Signer] = {}
_signers_lock = threading.Lock()


def signer_for(settings: Settings) -> Signer:
    key = (str(settings.data_dir.resolve()), settings.secret_key)
    with _signers_lock:
        found = _signers.get(key)
        if found is None:
            found = _signers[key] = Signer(load_secret(settings.data_dir, settings.secret_key))
        return found


@dataclass(frozen=True)
class Download:
    path: Path
    file_name: str
    size: int
    checksum: str


def resolve_download(db: Database, settings: Settings, report_text: str, expires: str | None,
                     signature: str | None, principal: Principal | None) -> Download:
    """The file behind a download link, or the error its state calls for.

    Order matters: the signature is checked before anything is looked up (a forged link learns
    nothing, 403), then the expiry (410), then existence (404, deleted), then the caller's token
    when one was sent (401 unless it belongs to the report's organisation), then readiness (423).
    """
    rid = ids.parse_report_id(report_text)
    check = signer_for(settings).check(rid, expires, signature)
    if check is LinkCheck.FORGED:
        raise Forbidden("This download link is not valid (its signature does not match).")
    if check is LinkCheck.EXPIRED:
        raise Gone("This download link has expired; read the report's details for a fresh one.")
    assert rid is not None
    with db.session() as session:
        row = session.get(WebexReport, rid)
        if row is None:
            raise NotFound(f"Report {report_text} not found (it may have been deleted).")
        if principal is not None and principal.tenant_id != row.tenant_id:
            raise Unauthorized("The bearer token sent with this download is not valid for the report's organisation.")
    ensure_rendered(db, settings, rid)
    with db.session() as session:
        row = session.get(WebexReport, rid)
        if row is None:
            raise NotFound(f"Report {report_text} not found (it may have been deleted).")
        if row.render_state == RENDER_FAILED:
            raise Gone(f"The report failed and has no file: {row.render_error or 'unknown reason'}")
        if row.render_state != RENDER_DONE or not row.file_path:
            raise Locked("The report is not ready yet; retry later.", settings.retry_after_seconds)
        path = Path(row.file_path)
        if not path.exists():
            raise Gone("The report's file is no longer available.")
        return Download(path, row.file_name or path.name, int(row.file_size or 0), row.checksum or "")
