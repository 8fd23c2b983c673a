"""The ``callboard`` command line (SPEC §5). Each command parses its options and calls one domain
function; nothing here knows how reports or imports work.

Each command imports the domain module it calls when it runs, not at the top: the engine, the web
framework and the metadata store together take ~1.4 s to import, and ``callboard --help`` or
``callboard generate`` should not wait for what they never use (0.2 s).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from callboard.settings import Settings

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

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="CALLBOARD_DATA_DIR", help="Folder holding calls, metadata and results."),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
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
    """Import CDR files; each file is stored whole or not at all, and re-importing adds nothing."""
    from callboard.service.imports import import_file, resolve_workspace_id
    from callboard.sources import SourceError

    settings = _settings(data_dir)
    try:
        ws_id = resolve_workspace_id(settings, workspace)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    options = dict(o.split("=", 1) for o in option or [] if "=" in o)
    totals = {"received": 0, "inserted": 0, "duplicates": 0}
    failed = 0
    with _progress() as progress:
        task = progress.add_task("importing", total=sum(f.stat().st_size for f in files))
        for path in files:
            progress.update(task, description=f"importing {path.name}")
            try:
                result = import_file(settings, ws_id, path, fmt.value, time_zone=time_zone, options=options)
            except SourceError as exc:
                failed += 1
                progress.console.print(f"[red]{path}: refused, nothing stored[/red]")
                for err in exc.errors[:20]:
                    where = f"row {err.row}" if err.row is not None else "file"
                    col = f", column {err.column}" if err.column else ""
                    progress.console.print(f"  {where}{col}: {err.reason}")
            else:
                for key in totals:
                    totals[key] += getattr(result, key)
                progress.console.print(
                    f"{path.name}: received {result.received:,}, inserted {result.inserted:,}, "
                    f"duplicates {result.duplicates:,}"
                )
            progress.update(task, advance=path.stat().st_size)
    out.print(f"received {totals['received']:,}  inserted {totals['inserted']:,}  duplicates {totals['duplicates']:,}")
    if failed:
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


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
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id.")],
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
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id.")],
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
    data_dir: DataDir = None,
) -> None:
    """Run a report directly on the warehouse and print or save its rows."""
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
    from callboard.reports.request import RequestError

    try:
        result, rows = run_local_report(settings, ws.id, body, output.value, out_file,
                                        defaults={"timeZoneId": ws.time_zone})
    except RequestError as exc:
        raise _fail(str(exc)) from None
    if output is OutputFormat.table:
        _print_table(rows, result)
    elif out_file is None and output is OutputFormat.parquet:
        raise _fail("--output parquet needs --out FILE")


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


def _print_table(rows: list[dict], result: object) -> None:
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns and key != "children":
                columns.append(key)
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(table)
    total = getattr(result, "total_count", len(rows))
    shown = f" (first {len(rows):,} shown)" if total > len(rows) else ""
    console.print(f"{total:,} rows{shown}; summary {getattr(result, 'summary', {})}")


# ---- serving ----------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    data_dir: DataDir = None,
) -> None:
    """Serve both APIs, with report workers in-process."""
    from callboard.api.server import serve as serve_app

    serve_app(_settings(data_dir), host, port)


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run report workers alone (they share the metadata store and the warehouse with `serve`)."""
    from callboard.api.server import run_worker

    run_worker(_settings(data_dir))


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
    from callboard.service.demo import prepare_demo

    settings = _settings(data_dir)
    with _progress() as progress:
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

        serve_app(settings, host, port)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
