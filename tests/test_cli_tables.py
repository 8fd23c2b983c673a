"""`callboard report run` tables as people read them: they fit the terminal, durations read h:mm:ss,
ratios read as percentages, the summary is the last row; csv and json output are the report's own
bytes, nothing added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from callboard import cli
from callboard.cli import KEY_COLUMNS, _cell_kind, app, format_cell, hms
from callboard.reports.templates import TEMPLATES

runner = CliRunner()

# Two hunt groups in October 2025. Sales: a call answered on its second leg after 60 s of talk,
# one answered after 70 s, one lost; Support: one call with 3,725 s of talk.
CALLS = [
    {"docId": "s1", "connId": "c1", "start": "2025-10-06T09:00:00Z", "ring": 15, "duration": 15, "userNum": "101",
     "userName": "Ann", "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "ref": 1,
     "cli": "+441632960001"},
    {"docId": "s2", "connId": "c1", "start": "2025-10-06T09:00:15Z", "ring": 5, "duration": 65, "userNum": "102",
     "userName": "Bob", "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "ans": 1,
     "cli": "+441632960001"},
    {"docId": "s3", "connId": "c2", "start": "2025-10-06T10:00:00Z", "ring": 4, "duration": 74, "userNum": "101",
     "userName": "Ann", "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "ans": 1,
     "cli": "+441632960002"},
    {"docId": "s4", "connId": "c3", "start": "2025-10-06T11:00:00Z", "ring": 30, "duration": 30, "userNum": "102",
     "userName": "Bob", "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "lost": 1,
     "cli": "+441632960003"},
    {"docId": "s5", "connId": "c4", "start": "2025-10-07T14:00:00Z", "ring": 5, "duration": 3730, "userNum": "103",
     "userName": "Cy", "hgNum": "201", "hgName": "Support", "callType": 2, "callDir": 2, "ans": 1,
     "cli": "+441632960004"},
]


@pytest.fixture(autouse=True)
def terminal_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 80-column terminal without colour, whatever the environment says."""
    monkeypatch.setattr(cli, "out", Console(width=80, color_system=None, force_terminal=False))
    monkeypatch.setattr(cli, "console", Console(width=80, color_system=None, force_terminal=False, stderr=True))


@pytest.fixture
def ws(tmp_path: Path) -> dict[str, str]:
    data = str(tmp_path / "data")
    tenant = _ok("tenant", "create", "Acme", "--data-dir", data).stdout.splitlines()[-1]
    ws = _ok("workspace", "create", "Head office", "--tenant", tenant, "--time-zone", "Europe/London",
             "--data-dir", data).stdout.splitlines()[-1]
    calls = tmp_path / "calls.ndjson"
    calls.write_text("".join(json.dumps(row) + "\n" for row in CALLS))
    _ok("import", str(calls), "--workspace", ws, "--data-dir", data)
    return {"data": data, "ws": ws}


def _ok(*args: str) -> Result:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _report(ws: dict[str, str], template: str, *extra: str) -> Result:
    return _ok("report", "run", template, "--workspace", ws["ws"], "--from", "2025-10-01", "--to", "2025-11-01",
               "--data-dir", ws["data"], *extra)


# ---- values -------------------------------------------------------------------------------------

def test_durations_read_as_clock_times() -> None:
    assert [hms(s) for s in (0, 5, 65, 599.6, 3600, 3725, 36_000.4)] == [
        "0:00", "0:05", "1:05", "10:00", "1:00:00", "1:02:05", "10:00:00"]


def test_value_kinds_follow_the_field_catalogue() -> None:
    def kind(template: str, name: str) -> str:
        return _cell_kind(TEMPLATES[template].field(name))

    # seconds: the "(s)" unit in the title, or a unitless title whose description counts seconds
    assert kind("CallSummaryByHuntGroup", "avgTalk") == "seconds"
    assert kind("CallList", "ring") == "seconds"
    assert kind("CallDurationDistribution", "from") == "seconds"
    assert kind("CallingDetailedCallHistory", "Duration") == "seconds"
    # a title's own unit wins over a description that speaks of seconds (Erlangs are a ratio)
    assert kind("TrunkUtilisation", "erlangs") == "float"
    assert kind("CallingUsage", "totalMinutes") == "float"
    # ratios are documented as 0–1
    for template, name in (("CallSummaryByHuntGroup", "answerRate"), ("CallSummaryByHuntGroup", "serviceLevel"),
                           ("CallDurationDistribution", "share"), ("TrunkUtilisation", "utilisation")):
        assert kind(template, name) == "ratio", (template, name)
    assert kind("CallList", "callDir") == "direction"
    assert kind("CallList", "ans") == "flag"
    assert kind("CallSummaryByHuntGroup", "calls") == "int"


def test_cells() -> None:
    assert format_cell(2 / 3, "ratio") == "66.7 %"
    assert format_cell(1.0, "ratio") == "100.0 %"
    assert format_cell(65.0, "seconds") == "1:05"
    assert format_cell(12345, "int") == "12,345"
    assert format_cell(0.6570644718, "float") == "0.66"
    assert format_cell(1, "flag") == "yes" and format_cell(0, "flag") == "no"
    assert format_cell(17, "flag", total=True) == "17"  # a summary counts flags
    assert format_cell(2, "direction") == "incoming"
    assert format_cell("2025-10-06T10:00:00", "time") == "2025-10-06 10:00:00"
    assert format_cell(None, "seconds") == ""


def test_key_columns_are_default_fields_of_their_templates() -> None:
    for template, columns in KEY_COLUMNS.items():
        fields = {f.name: f for f in TEMPLATES[template].fields}
        for name in columns:
            assert name in fields and fields[name].default_display, (template, name)


# ---- tables -------------------------------------------------------------------------------------

def test_a_hunt_group_summary_reads_as_a_table(ws: dict[str, str]) -> None:
    result = _report(ws, "CallSummaryByHuntGroup", "--columns", "hgName,calls,ans,lost,answerRate,avgTalk")
    assert result.stdout == (
        "hgName   calls  ans  lost  answerRate  avgTalk\n"
        "──────────────────────────────────────────────\n"
        "Sales        3    2     1      66.7 %     1:05\n"
        "Support      1    1     0     100.0 %  1:02:05\n"
        "──────────────────────────────────────────────\n"
        "total        4    3     1                     \n"
    )
    assert result.stderr == "2 rows\n"


def test_the_default_table_fits_80_columns(ws: dict[str, str]) -> None:
    result = _report(ws, "CallSummaryByHuntGroup")
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = lines[0].split()
    # the key columns first, as many as fit; the rest named on stderr
    assert header[:6] == ["hgName", "calls", "ans", "lost", "answerRate", "serviceLevel"]
    assert lines[2].split()[:5] == ["Sales", "3", "2", "1", "66.7"]
    assert lines[-1].split()[:4] == ["total", "4", "3", "1"]
    assert "not shown:" in result.stderr and "--columns" in result.stderr
    hidden = result.stderr.split("not shown:")[1].split("(")[0]
    assert not set(header) & {c.strip() for c in hidden.split(",")}
    # a list of calls too, with whole timestamps
    calls = _report(ws, "CallList").stdout.splitlines()
    assert max(len(line) for line in calls) <= 80
    assert calls[0].split()[:3] == ["start", "callDir", "cli"]
    assert calls[2].startswith("2025-10-06 10:00:00  incoming  +441632960001")


def test_a_narrow_terminal_shows_fewer_columns(ws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "out", Console(width=40, color_system=None, force_terminal=False))
    lines = _report(ws, "CallSummaryByHuntGroup").stdout.splitlines()
    assert max(len(line) for line in lines) <= 40
    assert lines[0].split() == ["hgName", "calls", "ans", "lost", "answerRate"]


def test_an_unknown_column_is_refused(ws: dict[str, str]) -> None:
    result = runner.invoke(app, ["report", "run", "CallSummaryByHuntGroup", "--workspace", ws["ws"], "--from",
                                 "2025-10-01", "--to", "2025-11-01", "--columns", "hgName,nope",
                                 "--data-dir", ws["data"]])
    assert result.exit_code == 2
    assert "nope" in result.stderr


# ---- machine output ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_are_the_report_alone(ws: dict[str, str], fmt: str, tmp_path: Path) -> None:
    from callboard.service.local_reports import run_local_report
    from callboard.settings import Settings

    printed = _report(ws, "CallSummaryByHuntGroup", "--output", fmt)
    saved = tmp_path / f"saved.{fmt}"
    _report(ws, "CallSummaryByHuntGroup", "--output", fmt, "--out", str(saved))
    # what the report service writes for the same request, byte for byte
    direct = tmp_path / f"direct.{fmt}"
    body = {"reportTemplateName": "CallSummaryByHuntGroup", "filterConditions": [],
            "metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-10-01", "end": "2025-11-01"}}}
    run_local_report(Settings(data_dir=Path(ws["data"])), ws["ws"], body, fmt, direct,
                     defaults={"timeZoneId": "Europe/London"})
    assert printed.stdout.encode() == saved.read_bytes() == direct.read_bytes()
    assert printed.stderr == ""
    if fmt == "csv":
        # --columns are the request's displayFields in every output
        picked = _report(ws, "CallSummaryByHuntGroup", "--output", "csv", "--columns", "hgName,answerRate")
        assert picked.stdout.splitlines() == ['"hgName","answerRate"', '"Sales",0.6666666666666666', '"Support",1']
