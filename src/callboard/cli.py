"""The ``callboard`` command line (SPEC §5). Each command parses its options and calls one domain
function; nothing here knows how reports or imports work.

Each command imports the domain module it calls when it runs, not at the top: the engine, the web
framework and the metadata store together take ~1.4 s to import, and ``callboard --help`` or
``callboard generate`` should not wait for what they never use (0.2 s).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from callboard.settings import Settings

if TYPE_CHECKING:  # commands import what they run when they run (see the module's docstring)
    from callboard.reports.templates import TemplateField
    from callboard.service.via_server import ServerClient

app = typer.Typer(help="callboard: self-hosted call reporting.", no_args_is_help=True, add_completion=False)
tenant_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
workspace_app = typer.Typer(help="Manage workspaces.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
report_app = typer.Typer(help="Run reports from the command line.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(workspace_app, name="workspace")
app.add_typer(token_app, name="token")
app.add_typer(report_app, name="report")

console = Console(stderr=True)
out = Console()


def _print_version(value: bool) -> None:
    if value:
        print(f"callboard {_version()}")
        raise typer.Exit()


def _version() -> str:
    """The installed distribution's version (the package's own constant when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("callboard")
    except PackageNotFoundError:
        from callboard import __version__

        return __version__


@app.callback()
def _main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """callboard: self-hosted call reporting."""
    os.umask(0o077)  # the files it writes (the data folder's above all) are owner-only: 0600, folders 0700

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="CALLBOARD_DATA_DIR", help="Folder holding calls, metadata and results."),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def _fail(message: str, code: int = 2) -> typer.Exit:
    # one line however long (no wrapping at the console's width), for scripts and logs to grep
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(code)


class FileFormat(str, Enum):
    ndjson = "ndjson"
    csv = "csv"
    parquet = "parquet"


class ImportFormat(str, Enum):
    canonical = "canonical"
    asterisk = "asterisk"
    freeswitch = "freeswitch"
    webex = "webex"
    threecx = "3cx"
    cucm = "cucm"


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


# ---- generate / import ------------------------------------------------------------------------
@app.command()
def generate(
    output: Annotated[Path, typer.Argument(help="File to write (extension picks the format unless --format).")],
    fmt: Annotated[FileFormat | None, typer.Option("--format", help="ndjson, csv or parquet.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same file.")] = 1,
    users: Annotated[int, typer.Option(help="Users in the organisation.")] = 50,
    days: Annotated[int, typer.Option(help="Days of calls.")] = 365,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD); default: `days` before today.")] = None,
    time_zone: Annotated[str, typer.Option("--time-zone", help="The organisation's IANA time zone.")] = "Europe/London",
) -> None:
    """Write a synthetic organisation's calls as canonical NDJSON, CSV or Parquet."""
    from callboard.generate import run_generate

    chosen = fmt.value if fmt else {".csv": "csv", ".parquet": "parquet"}.get(output.suffix.lower(), "ndjson")
    first = dt.date.fromisoformat(start) if start else dt.date.today() - dt.timedelta(days=days)
    with _progress() as progress:
        task = progress.add_task("generating", total=None)
        rows = run_generate(output, chosen, seed, users, days, first, time_zone,
                            lambda n: progress.update(task, advance=n))
    console.print(f"wrote {rows:,} segments to {output} ({chosen})")


@app.command("import")
def import_files(
    files: Annotated[list[Path], typer.Argument(help="CDR files to import.", exists=True, dir_okay=False)],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace id (or its unique name).")],
    fmt: Annotated[ImportFormat, typer.Option("--format", "-f", help="Source format.")] = ImportFormat.canonical,
    time_zone: Annotated[
        str | None, typer.Option("--time-zone", help="Zone of times written without an offset (IANA name).")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="Format option KEY=VALUE (see docs/formats).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import CDR files; each file is stored whole or not at all, and re-importing adds nothing.

    While `callboard serve` holds the data folder, the files are read here and stored through it."""
    from contextlib import ExitStack

    from callboard.service.errors import BadRequest
    from callboard.service.imports import import_file, resolve_workspace_id
    from callboard.service.tenancy import check_time_zone
    from callboard.service.via_server import FileImporter, ServerError
    from callboard.sources import SourceError
    from callboard.warehouse import AppendResult

    settings = _settings(data_dir)
    try:
        ws_id = resolve_workspace_id(settings, workspace)
        if time_zone is not None:
            time_zone = check_time_zone(time_zone, "--time-zone")
    except LookupError as exc:
        raise _fail(str(exc)) from None
    except BadRequest as exc:
        raise _fail(exc.message) from None
    options = dict(o.split("=", 1) for o in option or [] if "=" in o)
    totals = {"received": 0, "inserted": 0, "duplicates": 0}
    failed = 0
    stopped: str | None = None  # why the server could not take the remaining files
    # Counts go to stdout once, after the progress bar (which owns the terminal while it runs): one
    # line per file when there are several, then the totals, always the last line.
    per_file: list[str] = []
    with _one_owner(settings), ExitStack() as stack:
        client = _through_server(settings)
        if client is not None:
            console.print(f"importing through the callboard server at {client.url} (pid {client.info.pid}), which "
                          f"holds {settings.data_dir}", soft_wrap=True, markup=False, highlight=False)
            importer = stack.enter_context(FileImporter(client, ws_id, files, fmt.value, time_zone=time_zone,
                                                        options=options))

            def store(path: Path) -> AppendResult:
                return importer.next_file()  # the files in the same order
        else:
            def store(path: Path) -> AppendResult:
                return import_file(settings, ws_id, path, fmt.value, time_zone=time_zone, options=options)

        progress = stack.enter_context(_progress())
        task = progress.add_task("importing", total=sum(f.stat().st_size for f in files))
        for path in files:
            progress.update(task, description=f"importing {path.name}")
            try:
                result = store(path)
            except SourceError as exc:
                failed += 1
                progress.console.print(f"[red]{path}: refused, nothing stored[/red]")
                for err in exc.errors[:20]:
                    where = f"row {err.row}" if err.row is not None else "file"
                    col = f", column {err.column}" if err.column else ""
                    progress.console.print(f"  {where}{col}: {err.reason}")
            except ServerError as exc:
                if not exc.file:  # the server, not this file: the next would fare no better
                    stopped = exc.message
                    break
                failed += 1
                progress.console.print(f"{path}: refused, nothing stored: {exc.message}", soft_wrap=True,
                                       markup=False, highlight=False)
            else:
                for key in totals:
                    totals[key] += getattr(result, key)
                per_file.append(f"{path.name}: received {result.received:,}  inserted {result.inserted:,}  "
                                f"duplicates {result.duplicates:,}")
            progress.update(task, advance=path.stat().st_size)
    if len(files) > 1:
        for line in per_file:
            out.print(line, soft_wrap=True, markup=False, highlight=False)
    out.print(f"received {totals['received']:,}  inserted {totals['inserted']:,}  duplicates {totals['duplicates']:,}")
    if stopped:
        raise _fail(f"{stopped}; the files not counted above may not be stored: importing them again stores only "
                    "what is missing", 1)
    if failed:
        raise typer.Exit(1)


@contextmanager
def _one_owner(settings: Settings, code: int = 1) -> Iterator[None]:
    """DuckDB's refusal to open a data folder another process holds, as one line naming that process."""
    try:
        yield
    except Exception as exc:
        from callboard.service.local_server import lock_message
        from callboard.warehouse.duckdb import is_lock_conflict

        if not is_lock_conflict(exc):
            raise
        raise _fail(lock_message(settings, exc), code) from None


def _through_server(settings: Settings) -> ServerClient | None:
    """A client of the server holding the data folder, when one runs and answers (else None: the
    command works on the folder itself)."""
    from callboard.service.local_server import running_server
    from callboard.service.via_server import ServerClient

    info = running_server(settings)
    if info is None:
        return None
    client = ServerClient(info)
    return client if client.ready() else None


def _progress() -> Progress:
    # no bar (nor the blank line a finished one leaves) when stderr is not a terminal
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


# ---- tenants, workspaces, tokens --------------------------------------------------------------
@tenant_app.command("create")
def tenant_create(name: Annotated[str, typer.Argument(help="Tenant name.")], data_dir: DataDir = None) -> None:
    """Create a tenant; prints its id on the last line."""
    from callboard.service.admin import create_tenant

    tenant_id = create_tenant(_settings(data_dir), name)
    out.print(f"created tenant {name!r}")
    print(tenant_id)


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Workspace name.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id (or its unique name).")],
    time_zone: Annotated[str, typer.Option("--time-zone", help="Default time zone of reports.")] = "UTC",
    data_dir: DataDir = None,
) -> None:
    """Create a workspace; prints its id on the last line."""
    from callboard.service.admin import create_workspace

    try:
        ws_id = create_workspace(_settings(data_dir), tenant, name, time_zone)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from None
    out.print(f"created workspace {name!r}")
    print(ws_id)


@token_app.command("create")
def token_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id (or its unique name).")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Scope (repeatable); default: every callboard scope.")
    ] = None,
    workspace: Annotated[list[str] | None, typer.Option("--workspace", help="Restrict to workspace id.")] = None,
    expires_in: Annotated[int | None, typer.Option("--expires-in", help="Lifetime in seconds.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API token; prints the token (shown only once) on the last line."""
    from callboard.service.admin import create_token

    scopes = scope or ["reports:read", "reports:write", "calls:write", "admin"]
    try:
        token = create_token(_settings(data_dir), tenant, scopes, workspace or None, expires_in)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from None
    out.print(f"created token with scopes {', '.join(scopes)} (store it now: it is not shown again)")
    print(token)


TenantFilter = Annotated[str | None, typer.Option("--tenant", help="Only this tenant's (id or unique name).")]


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = None) -> None:
    """List tenants: id, name, created."""
    from callboard.service.admin import list_tenants

    tenants = list_tenants(_settings(data_dir))
    if not tenants:
        console.print("no tenants yet: create one with `callboard tenant create NAME`")
        return
    table = _list_table("id", "name", "created (UTC)")
    for t in tenants:
        table.add_row(t.id, t.name, _utc(t.created))
    out.print(table)


@workspace_app.command("list")
def workspace_list(tenant: TenantFilter = None, data_dir: DataDir = None) -> None:
    """List workspaces: id, name, time zone, tenant."""
    from callboard.service.admin import list_workspaces

    try:
        workspaces = list_workspaces(_settings(data_dir), tenant)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    if not workspaces:
        console.print("no workspaces: create one with `callboard workspace create NAME --tenant TENANT`")
        return
    table = _list_table("id", "name", "time zone", "tenant")
    for w in workspaces:
        table.add_row(w.id, w.name, w.time_zone, w.tenant_name)
    out.print(table)


@token_app.command("list")
def token_list(tenant: TenantFilter = None, data_dir: DataDir = None) -> None:
    """List tokens (never their secrets): id, tenant and state, then scopes, workspaces, created, expiry."""
    from callboard.service.admin import list_tokens

    try:
        tokens = list_tokens(_settings(data_dir), tenant)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    if not tokens:
        console.print("no tokens: create one with `callboard token create --tenant TENANT`")
        return
    # one block per token (a table of six columns cannot fit 80 columns with whole ids):
    #   ID  TENANT  active|expired
    #     scopes …; workspaces all|ids
    #     created … UTC; expires never|… UTC
    for t in tokens:
        expires = "never" if t.expires is None else f"{_utc(t.expires)} UTC"
        workspaces = "all" if t.workspaces is None else ", ".join(t.workspaces)
        out.print(f"{t.id}  {t.tenant_name if t.tenant_id else '(system administrator)'}  {t.state()}\n"
                  f"  scopes {', '.join(t.scopes)}; workspaces {workspaces}\n"
                  f"  created {_utc(t.created)} UTC; expires {expires}", markup=False, highlight=False)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (from `callboard token list`).")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a token: the API refuses it from the next request on (it stays listed, expired)."""
    from callboard.service.admin import revoke_token

    try:
        token, revoked = revoke_token(_settings(data_dir), token_id)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    assert token.expires is not None  # a revoked token has expired
    if revoked:
        out.print(f"revoked token {token.id}")
    else:
        out.print(f"token {token.id} had already expired at {_utc(token.expires)} UTC")


def _list_table(*headers: str) -> Table:
    """The admin lists: ids never cut, other columns wrap to fit the terminal."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for h in headers:
        table.add_column(h, no_wrap=h in ("id", "template", "field"), overflow="fold")
    return table


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


# ---- templates ---------------------------------------------------------------------------------
@app.command()
def templates(
    name: Annotated[str | None, typer.Argument(help="A template: show its fields.")] = None,
) -> None:
    """List the report templates, or show one template's fields."""
    from callboard.reports.templates import catalogue

    entries = catalogue()
    if name is None:
        table = _list_table("template", "description")
        for t in entries:
            table.add_row(t["name"], t["description"])
        out.print(table)
        console.print("`callboard templates NAME` shows a template's fields")
        return
    found = [t for t in entries if t["name"] == name]
    if not found:
        raise _fail(f"no template named {name!r}; templates: {', '.join(t['name'] for t in entries)}")
    template = found[0]
    out.print(f"{template['name']} ({template['kind']}): {template['description']}", soft_wrap=True,
              markup=False, highlight=False)
    table = _list_table("field", "type", "shown", "description")
    for f in template["fields"]:
        described = f["title"] + (f": {f['description']}" if f["description"] else "")
        table.add_row(f["name"], f["type"], "yes" if f["defaultDisplay"] else "", described)
    out.print(table)
    first = _column_priority(name, [f["name"] for f in template["fields"] if f["defaultDisplay"]])
    out.print(f"`callboard report run` tables show, as far as they fit: {', '.join(first)} "
              "(--columns picks others)", soft_wrap=True, markup=False, highlight=False)


# ---- reports ----------------------------------------------------------------------------------
@report_app.command("run")
def report_run(
    template: Annotated[str, typer.Argument(help="Template name, e.g. CallSummaryByUser.")],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace id (or its unique name).")],
    preset: Annotated[str | None, typer.Option("--preset", help="Date preset, e.g. LastMonth.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Start (ISO; local if no offset).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="End, exclusive (ISO; local if no offset).")] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="IANA zone of the report.")] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="FIELD OP VALUE[,VALUE…], e.g. 'callDir = 2' (repeatable)."),
    ] = None,
    request_json: Annotated[
        Path | None, typer.Option("--request", help="JSON file with further request fields.")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="Output format.")] = OutputFormat.table,
    out_file: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Fields to show, comma-separated, e.g. hgName,calls,answerRate (the "
                     "request's displayFields; `callboard templates NAME` lists them). Default: a table shows "
                     "the template's key columns that fit the terminal; other outputs every default field."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run a report directly on the warehouse and print or save its rows (through `callboard serve`
    while it holds the data folder)."""
    from callboard.service.imports import find_workspace
    from callboard.service.local_reports import run_local_report

    settings = _settings(data_dir)
    try:
        ws = find_workspace(settings, workspace)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    body: dict = json.loads(request_json.read_text()) if request_json else {}
    body["reportTemplateName"] = template
    if time_zone:
        body["timeZoneId"] = time_zone
    conditions = list(body.get("filterConditions", []))
    for text in filters or []:
        try:
            conditions.append(typed_filter(template, parse_filter(text)))
        except ValueError as exc:
            raise _fail(str(exc)) from None
    if date_from and date_to:
        # a Custom period: echoed in metadata like a preset, and resolved in the report's time zone
        body.setdefault("metadata", {})["dateFilter"] = {"presetName": "Custom", "start": date_from, "end": date_to}
    elif date_from:
        conditions.append({"fieldName": "start", "operator": ">=", "values": [date_from]})
    elif date_to:
        conditions.append({"fieldName": "start", "operator": "<", "values": [date_to]})
    body["filterConditions"] = conditions
    if preset:
        body.setdefault("metadata", {})["dateFilter"] = {"presetName": preset}
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if chosen:
        body["displayFields"] = [{"fieldName": c} for c in chosen]
    from callboard.reports.request import RequestError, resolve_request
    from callboard.service.via_server import ServerError, run_report_via_server

    if out_file is None and output is OutputFormat.parquet:
        raise _fail("--output parquet needs --out FILE")
    defaults = {"timeZoneId": ws.time_zone}
    result: Any
    try:
        with _one_owner(settings):
            client = _through_server(settings)
            if client is None:
                result, rows = run_local_report(settings, ws.id, body, output.value, out_file, defaults=defaults)
            else:
                req = resolve_request(body, defaults=defaults)  # refused here as offline, and gives the columns
                console.print(f"running the report through the callboard server at {client.url} (pid "
                              f"{client.info.pid}), which holds {settings.data_dir}", soft_wrap=True, markup=False,
                              highlight=False)
                result, rows = run_report_via_server(client, ws.id, body, req, output.value, out_file)
    except RequestError as exc:
        raise _fail(str(exc)) from None
    except ServerError as exc:  # a request the server refuses is bad input, as offline; the rest is not
        raise _fail(exc.message, 2 if exc.status == 400 else 1) from None
    if output is OutputFormat.table:
        _print_table(template, rows, result, chosen)


def parse_filter(text: str) -> dict:
    """``"callDir = 2"`` / ``"userNum in 101,102"`` / ``"hgNum isNull"`` → a filter condition (values as text)."""
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise ValueError(f"--filter {text!r}: expected FIELD OPERATOR [VALUE[,VALUE…]]")
    field, op = parts[0], parts[1]
    values = [v.strip() for v in parts[2].split(",")] if len(parts) == 3 else []
    return {"fieldName": field, "operator": op, "values": values}


def typed_filter(template: str, condition: dict) -> dict:
    """Values of numeric fields become numbers; text fields (``userNum`` = ``101``) stay text."""
    from callboard.calls.schema import FIELDS_BY_NAME
    from callboard.reports.templates import TEMPLATES

    name = condition["fieldName"]
    field = TEMPLATES[template].field(name) if template in TEMPLATES else None
    kind = field.type if field else (FIELDS_BY_NAME[name].type if name in FIELDS_BY_NAME else "string")
    if kind not in ("int", "flag", "float"):
        return condition
    return {**condition, "values": [_number(v, name) for v in condition["values"]]}


def _number(text: str, field: str) -> int | float:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise ValueError(f"--filter: {field} is a number field; {text!r} is not a number")


# ---- report tables ----------------------------------------------------------------------------
# The columns a report table shows first, most telling first; the template's other default fields
# follow, each while the table still fits the terminal (`--columns` picks exactly). Templates not
# named here show their default fields in catalogue order, as far as they fit.
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "CallListByUserSegmented": ("start", "callDir", "cli", "ans", "ring", "duration", "userName", "hgName",
                                "lost"),
    "CallList": ("start", "callDir", "cli", "ans", "ring", "duration", "userName", "hgName", "lost"),
    "CallSummaryByUser": ("userName", "calls", "ans", "lost", "answerRate", "avgRing", "avgTalk", "talk"),
    "CallSummaryByHuntGroup": ("hgName", "calls", "ans", "lost", "answerRate", "serviceLevel", "avgRing",
                               "avgTalk"),
    "CallsByStartTime": ("start", "calls", "ans", "lost", "ring", "talk", "peakConcurrent"),
    "CallsByHourOfDay": ("hour", "calls", "ans", "lost", "ring", "talk", "peakConcurrent"),
    "CallsByDayOfWeek": ("dayName", "calls", "ans", "lost", "ring", "talk", "peakConcurrent"),
    "CallsByDate": ("date", "calls", "ans", "lost", "ring", "talk", "peakConcurrent"),
    "RingTimeDistribution": ("upTo", "answered", "lost", "cumulativeAnswered", "serviceLevel"),
    "CallDurationDistribution": ("from", "upTo", "calls", "share"),
    "UnreturnedLostCalls": ("cli", "cliName", "attempts", "lastAttempt", "hgName"),
    "LostCallRevenue": ("hgName", "total", "lostCalls", "callers", "unreturned", "estimatedRevenueLost"),
    "TrunkUtilisation": ("start", "peakConcurrent", "avgConcurrent", "utilisation", "erlangs", "busyHour"),
    "CallsByAccountCode": ("accountCode", "label", "calls", "ans", "duration"),
    "CallingUsage": ("userName", "incoming", "outgoing", "internal", "totalMinutes"),
    "CallingDetailedCallHistory": ("Start time", "User", "Direction", "Calling number", "Called number",
                                   "Duration"),
}

# How a field's values read, from its catalogue entry: seconds as h:mm:ss (the title's unit is
# "(s)" or it counts "seconds"; a title without a unit whose description opens "<what> seconds"),
# ratios (documented as 0–1) as percentages, the direction and call-type codes by name.
_TITLE_UNIT = re.compile(r"\(([^)]*)\)\s*$")
_SECONDS_TITLE = re.compile(r"\bseconds$", re.IGNORECASE)
_SECONDS_DESCRIPTION = re.compile(r"^\w+ seconds\b", re.IGNORECASE)
_RATIO_DESCRIPTION = re.compile(r"\b0\s*[–-]\s*1\b")


def _column_priority(template: str, default_fields: list[str]) -> list[str]:
    """A template's default-display fields, its key columns first."""
    key = [c for c in KEY_COLUMNS.get(template, ()) if c in default_fields]
    return key + [c for c in default_fields if c not in key]


def _cell_kind(field: TemplateField | None) -> str:
    """seconds | ratio | int | float | flag | time | direction | calltype | text, from a field's
    catalogue entry (a TemplateField, or None for a column the catalogue does not know)."""
    if field is None:
        return "text"
    kind = field.type
    if kind in ("int", "float"):
        if field.name == "callDir":
            return "direction"
        if field.name == "callType":
            return "calltype"
        unit = _TITLE_UNIT.search(field.title)
        if unit is not None:
            if unit.group(1) == "s":
                return "seconds"
        elif _SECONDS_TITLE.search(field.title) or _SECONDS_DESCRIPTION.match(field.description):
            return "seconds"
        if kind == "float" and _RATIO_DESCRIPTION.search(field.description):
            return "ratio"
        return kind
    if kind in ("flag", "timestamp"):
        return "time" if kind == "timestamp" else "flag"
    return "text"


def hms(seconds: float) -> str:
    """Seconds as ``m:ss`` or ``h:mm:ss`` (rounded half up to whole seconds): 65 → ``1:05``."""
    total = math.floor(abs(seconds) + 0.5)
    sign = "-" if seconds < 0 and total else ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def format_cell(value: Any, kind: str, *, total: bool = False) -> str:
    """One value as a table shows it; ``total``: a summary figure (flags are counts there)."""
    from callboard.calls.schema import CALL_DIRS, CALL_TYPES

    if value is None:
        return ""
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int | float):
        text = str(value)
        return text.replace("T", " ", 1) if kind == "time" else text
    if kind == "seconds":
        return hms(value)
    if kind == "ratio":
        return f"{value * 100:.1f} %"
    if kind == "flag" and not total:
        return "yes" if value else "no"
    if kind == "direction" and not total:
        return CALL_DIRS.get(int(value), str(value))
    if kind == "calltype" and not total:
        return CALL_TYPES.get(int(value), str(value))
    if isinstance(value, float) and kind not in ("int", "flag"):
        return f"{value:,.2f}"
    return f"{int(value):,}"


def report_table(template: str, rows: list[dict], summary: Mapping[str, Any], columns: list[str] | None,
                 width: int, *, total_label: str = "total") -> tuple[Table, list[str]]:
    """The table of a report's rows: ``columns`` as given, else the key columns that fit ``width``
    (then the template's other default fields while they fit); the summary as the last row. Returns
    the table and the default-display fields left out."""
    from callboard.reports.templates import TEMPLATES

    tmpl = TEMPLATES[template]
    present = [c for row in rows for c in row if c != "children"]
    in_rows = list(dict.fromkeys(present))
    if columns is None:
        defaults = [f.name for f in tmpl.fields if f.default_display and f.name in in_rows]
        candidates = _column_priority(template, defaults)
    else:
        candidates = list(columns)
    kinds = {c: _cell_kind(tmpl.field(c)) for c in candidates}
    cells = {c: [format_cell(row.get(c), kinds[c]) for row in rows] for c in candidates}
    totals = {c: format_cell(summary[c], kinds[c], total=True) for c in candidates if c in summary}

    def build(chosen: list[str]) -> Table:
        table = Table(box=box.SIMPLE, show_footer=bool(totals) and bool(rows), show_edge=False, pad_edge=False,
                      collapse_padding=True)
        label_at = next((c for c in chosen if c not in totals), None)
        for c in chosen:
            numeric = kinds[c] in ("seconds", "ratio", "int", "float")
            footer = totals.get(c, total_label if c == label_at else "")
            table.add_column(c, footer=footer, justify="right" if numeric else "left", no_wrap=columns is None)
        for i in range(len(rows)):
            table.add_row(*(cells[c][i] for c in chosen))
        return table

    if columns is not None:
        return build(candidates), []
    shown = candidates[:1]
    for c in candidates[1:]:
        trial = build([*shown, c])
        if Measurement.get(out, out.options.update(max_width=10_000), trial).maximum > width:
            break
        shown.append(c)
    return build(shown), candidates[len(shown):]


def _print_table(template: str, rows: list[dict], result: Any, columns: list[str] | None) -> None:
    total = getattr(result, "total_count", len(rows))
    label = "total" if total <= len(rows) else f"total ({total:,} rows)"
    table, hidden = report_table(template, rows, getattr(result, "summary", {}) or {}, columns, out.width,
                                 total_label=label)
    out.print(table)
    shown = f" (first {len(rows):,} shown)" if total > len(rows) else ""
    console.print(f"{total:,} rows{shown}")
    if hidden:
        console.print(f"not shown: {', '.join(hidden)} (pick columns with --columns)", soft_wrap=True,
                      markup=False, highlight=False)


# ---- serving ----------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    data_dir: DataDir = None,
) -> None:
    """Serve both APIs, with report workers in-process."""
    from callboard.api.server import PortInUse
    from callboard.api.server import serve as serve_app

    settings = _settings(data_dir)
    try:
        with _one_owner(settings):
            serve_app(settings, host, port)
    except PortInUse as exc:
        raise _fail(str(exc), 1) from None


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run report workers alone (they share the metadata store and the warehouse with `serve`)."""
    from callboard.api.server import run_worker
    from callboard.service.local_server import lock_message, running_server
    from callboard.warehouse.duckdb import is_lock_conflict

    settings = _settings(data_dir)
    try:
        run_worker(settings)
    except Exception as exc:
        if not is_lock_conflict(exc):
            raise
        server = running_server(settings)
        if server is None:
            raise _fail(lock_message(settings, exc)) from None
        # an embedded engine: the server's own workers are the only ones this folder can have
        raise _fail(f"the callboard server at {server.url} (pid {server.pid}) already runs the report workers of "
                    f"{settings.data_dir}: raise CALLBOARD_WORKERS on it instead, or use a shared engine "
                    "(CALLBOARD_ENGINE, see docs/deployment.md) to run workers apart.") from None


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    users: Annotated[int, typer.Option(help="Users in the demo organisation.")] = 50,
    days: Annotated[int, typer.Option(help="Days of calls to generate.")] = 365,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Generate only; don't start the server.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Generate a year of a demo organisation's calls into the data folder, then serve it."""
    from callboard.api.server import PortInUse, check_port
    from callboard.service.demo import prepare_demo

    settings = _settings(data_dir)
    if not no_serve:
        try:
            check_port(host, port)  # before a year of calls is generated, not after
        except PortInUse as exc:
            raise _fail(str(exc), 1) from None
    with _one_owner(settings), _progress() as progress:
        task = progress.add_task("generating the demo organisation", total=None)
        info = prepare_demo(settings, users=users, days=days, progress=lambda n: progress.update(task, advance=n))
    url = f"http://{host}:{port}"
    out.print(f"demo organisation {info.tenant_name!r}: {info.segments:,} segments in workspace {info.workspace_id}")
    out.print(f"API: {url}/api/v1.0  docs: {url}/docs")
    out.print(f"token: {info.token}")
    body = '{"reportTemplateName": "CallSummaryByUser", "metadata": {"dateFilter": {"presetName": "LastMonth"}}}'
    auth = f"-H 'Authorization: Bearer {info.token}'"
    out.print("fetch a report (post a request, then read its result):")
    out.print(
        f"  LOC=$(curl -s -D - -o /dev/null {auth} -H 'Content-Type: application/json' -d '{body}' "
        f"{url}/api/v1.0/workspaces/{info.workspace_id}/requests | awk 'tolower($1)==\"location:\" {{print $2}}' "
        f"| tr -d '\\r'); sleep 3; curl -s {auth} \"$LOC/data\"",
        soft_wrap=True, markup=False, highlight=False,
    )
    if not no_serve:
        from callboard.api.server import serve as serve_app

        try:
            with _one_owner(settings):
                serve_app(settings, host, port)
        except PortInUse as exc:  # taken while the calls were generated
            raise _fail(str(exc), 1) from None


# ---- backup / restore ------------------------------------------------------------------------
@app.command()
def backup(
    dest: Annotated[str, typer.Argument(help="New or empty folder to write the backup to; with --url, the name of "
                                        "the folder the server makes inside its CALLBOARD_BACKUP_DIR.")],
    url: Annotated[
        str | None,
        typer.Option("--url", help="Have the running server at this URL take the backup (it holds the warehouse); "
                     "needs a system administrator token in CALLBOARD_ADMIN_TOKEN."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Back up calls, metadata, results and keys, consistently, also while `callboard serve` runs."""
    from callboard.service.backup import backup_via_server, create_backup
    from callboard.service.errors import ServiceError

    settings = _settings(data_dir)
    try:
        if url:
            # the token from the environment only: a --token option would show in ps and shell history
            if not settings.admin_token:
                raise _fail("--url needs a system administrator token in CALLBOARD_ADMIN_TOKEN")
            manifest = backup_via_server(url, settings.admin_token, dest)
        else:
            manifest = create_backup(settings, Path(dest))
    except ServiceError as exc:
        details = "".join(f"\n  {e['description']}" for e in exc.errors if e.get("description") != exc.message)
        raise _fail(exc.message + details) from None
    except OSError as exc:
        raise _fail(f"cannot write the backup to {dest}: {exc.strerror or exc}") from None
    components = manifest["components"]
    for name, part in components.items():
        if isinstance(part, dict) and part.get("included") is False:
            console.print(f"[yellow]{name} not included:[/yellow] {part.get('note', '')}")
    rows = components["warehouse"].get("rows", {})
    size = sum(f["bytes"] for f in manifest["files"])
    out.print(f"backup complete ({manifest['source']['via']}): {rows.get('calls', 0):,} segments, "
              f"{components['results']['files']:,} result files, {components['webex']['files']:,} Webex files, "
              f"{len(manifest['files']):,} files, {size / 1e6:,.1f} MB; checksums in manifest.json")
    print(manifest.get("backupPath") or Path(dest).expanduser().absolute())


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A backup folder written by `callboard backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore into a non-empty data folder; its contents are moved into "
                           "a .replaced-<time> folder inside it, not deleted.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Restore a backup into the data folder (new or empty unless --force); `callboard serve` then runs on it."""
    from callboard.service.backup import restore_backup
    from callboard.service.errors import ServiceError

    settings = _settings(data_dir)
    try:
        report = restore_backup(source, settings, force=force)
    except ServiceError as exc:
        details = "".join(f"\n  {e['description']}" for e in exc.errors if e.get("description") != exc.message)
        raise _fail(exc.message + details) from None
    except OSError as exc:
        raise _fail(f"cannot restore into {settings.data_dir}: {exc.strerror or exc}") from None
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if report.moved_aside:
        console.print(f"the folder's previous contents are in {report.moved_aside}")
    taken = report.manifest.get("finishedAt", "?")
    out.print(f"restored the backup taken {taken} of {report.manifest['source']['dataDir']}; "
              f"serve it with: callboard serve --data-dir {report.data_dir}", soft_wrap=True)
    print(report.data_dir)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
