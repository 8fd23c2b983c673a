"""The command line as a user runs it: ids and tokens alone on the last line, imports counted,
bad files refused with the row and reason, reports printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callboard.cli import app, parse_filter, typed_filter

SAMPLES = Path(__file__).parent / "sources" / "samples"
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def org(tmp_path: Path) -> dict[str, str]:
    data = str(tmp_path / "data")
    tenant = run("tenant", "create", "Acme", "--data-dir", data).strip().splitlines()[-1]
    ws = run("workspace", "create", "Head office", "--tenant", tenant, "--time-zone", "Europe/London",
             "--data-dir", data).strip().splitlines()[-1]
    return {"data": data, "tenant": tenant, "ws": ws}


def test_ids_and_tokens_are_alone_on_the_last_line(org: dict[str, str]) -> None:
    from fastapi.testclient import TestClient

    from callboard.api.app import create_app
    from callboard.settings import Settings

    assert len(org["tenant"]) == 36 and len(org["ws"]) == 36
    token = run("token", "create", "--tenant", org["tenant"], "--scope", "reports:read",
                "--data-dir", org["data"]).strip().splitlines()[-1]
    # the printed token is the real thing: it lists the workspace, and carries only the scope asked for
    with TestClient(create_app(Settings(data_dir=Path(org["data"]), workers=0))) as client:
        auth = {"Authorization": f"Bearer {token}"}
        listed = client.get("/api/v1.0/workspaces", headers=auth)
        assert listed.status_code == 200 and org["ws"] in listed.text
        refused = client.post(f"/api/v1.0/workspaces/{org['ws']}/reports", headers=auth,
                              json={"name": "r", "reportTemplateName": "CallList"})
        assert refused.status_code == 403


def test_import_twice_stores_once_by_workspace_name(org: dict[str, str]) -> None:
    sample = str(SAMPLES / "canonical" / "calls.ndjson")
    first = run("import", sample, "--workspace", "Head office", "--data-dir", org["data"])
    received = int(first.split("received ")[-1].split()[0].replace(",", ""))
    assert received > 0
    assert f"inserted {received}" in flat(first).replace(",", "")
    second = run("import", sample, "--workspace", org["ws"], "--data-dir", org["data"])
    assert f"inserted 0 duplicates {received}" in flat(second).replace(",", "")


def test_import_counts_are_printed_once_on_stdout(org: dict[str, str]) -> None:
    sample = str(SAMPLES / "canonical" / "calls.ndjson")
    one = runner.invoke(app, ["import", sample, "--workspace", org["ws"], "--data-dir", org["data"]])
    assert one.exit_code == 0 and one.stderr == ""
    assert one.stdout.count("received") == 1 and len(one.stdout.splitlines()) == 1
    # several files: one line each, then the totals on the last line
    again = runner.invoke(app, ["import", sample, sample, "--workspace", org["ws"], "--data-dir", org["data"]])
    lines = again.stdout.splitlines()
    assert again.stderr == "" and len(lines) == 3
    assert lines[0].startswith("calls.ndjson: received ") and lines[1] == lines[0]
    both = 2 * int(lines[0].split("received ")[1].split()[0].replace(",", ""))
    assert lines[2] == f"received {both:,}  inserted 0  duplicates {both:,}"


def test_a_second_generated_month_is_new_calls(org: dict[str, str], tmp_path: Path) -> None:
    def generate(name: str, start: str, days: str) -> str:
        path = str(tmp_path / name)
        run("generate", path, "--users", "6", "--days", days, "--start", start)  # the default seed
        return path

    def counts(path: str) -> tuple[int, int, int]:
        line = run("import", path, "--workspace", org["ws"], "--data-dir", org["data"]).splitlines()[-1]
        words = line.replace(",", "").split()
        return int(words[1]), int(words[3]), int(words[5])

    october, november = generate("oct.csv", "2025-10-01", "31"), generate("nov.csv", "2025-11-01", "30")
    received, inserted, duplicates = counts(october)
    assert received == inserted > 0 and duplicates == 0
    received, inserted, duplicates = counts(november)
    assert received == inserted > 0 and duplicates == 0
    # the same two months generated at once are the same calls: nothing new
    both = generate("both.csv", "2025-10-01", "61")
    received, inserted, duplicates = counts(both)
    assert received == duplicates > 0 and inserted == 0


def test_a_bad_file_is_refused_with_row_and_reason(org: dict[str, str]) -> None:
    result = runner.invoke(app, ["import", str(SAMPLES / "asterisk" / "Master_bad_row.csv"), "--workspace",
                                 org["ws"], "--format", "asterisk", "--time-zone", "Europe/London",
                                 "--data-dir", org["data"]])
    assert result.exit_code == 1
    text = flat(result.output)
    assert "Master_bad_row.csv: refused, nothing stored" in text
    assert "row 3: expected 21 columns, got 20" in text
    assert "received 0 inserted 0" in text


def test_unknown_workspace_is_a_clear_error(org: dict[str, str]) -> None:
    result = runner.invoke(app, ["import", str(SAMPLES / "canonical" / "calls.ndjson"), "--workspace", "nope",
                                 "--data-dir", org["data"]])
    assert result.exit_code == 2
    assert "no workspace has that id or name" in flat(result.output)


def test_generate_writes_the_chosen_format(tmp_path: Path) -> None:
    out = tmp_path / "calls.ndjson"
    run("generate", str(out), "--users", "6", "--days", "3", "--start", "2025-03-03", "--seed", "5")
    lines = out.read_text().splitlines()
    assert lines and all(json.loads(line)["start"].endswith("Z") for line in lines[:50])
    again = tmp_path / "again.ndjson"
    run("generate", str(again), "--users", "6", "--days", "3", "--start", "2025-03-03", "--seed", "5")
    assert again.read_bytes() == out.read_bytes()


def test_parse_filter() -> None:
    assert parse_filter("callDir = 2") == {"fieldName": "callDir", "operator": "=", "values": ["2"]}
    assert parse_filter("hgNum isNull") == {"fieldName": "hgNum", "operator": "isNull", "values": []}
    with pytest.raises(ValueError, match="expected FIELD OPERATOR"):
        parse_filter("callDir")


def test_filter_values_follow_the_field_type() -> None:
    # userNum is text: "101" must stay a string; callDir is a number
    assert typed_filter("CallList", parse_filter("userNum in 101,102"))["values"] == ["101", "102"]
    assert typed_filter("CallList", parse_filter("callDir = 2"))["values"] == [2]
    assert typed_filter("CallSummaryByUser", parse_filter("ring > 2.5"))["values"] == [2.5]
    with pytest.raises(ValueError, match="not a number"):
        typed_filter("CallList", parse_filter("callDir = two"))


def test_report_run_with_a_custom_period_and_text_filter(org: dict[str, str]) -> None:
    run("import", str(SAMPLES / "canonical" / "calls.ndjson"), "--workspace", org["ws"], "--data-dir", org["data"])
    out = run("report", "run", "CallListByUserSegmented", "--workspace", org["ws"], "--from", "2000-01-01",
              "--to", "2100-01-01", "--filter", "userNum isNotNull", "--output", "json", "--data-dir", org["data"])
    doc = json.loads(out)
    assert doc["totalCount"] == len(doc["data"]) > 0
    user = doc["data"][0]["userNum"]
    one = json.loads(run("report", "run", "CallListByUserSegmented", "--workspace", org["ws"], "--from",
                         "2000-01-01", "--to", "2100-01-01", "--filter", f"userNum = {user}", "--output", "json",
                         "--data-dir", org["data"]))
    assert one["totalCount"] == sum(1 for row in doc["data"] if row.get("userNum") == user) > 0


def test_serve_on_a_taken_port_says_so_in_one_line_and_names_the_option(tmp_path: Path) -> None:
    """A port another server holds (the demo's, say) is refused at once with what to do, not after
    the start-up log."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"cannot listen on 127.0.0.1:{port}" in text and "--port" in text
    assert not (tmp_path / "d" / "calls.duckdb").exists()  # refused before opening anything


@pytest.mark.parametrize("zone", ["Europe", "Europe/Nowhere", "../../etc/passwd", "x" * 300])
def test_import_with_a_bad_time_zone_names_the_option(tmp_path: Path, zone: str) -> None:
    """A zone that is not a zone is refused in one line naming --time-zone (no traceback), and
    nothing is stored."""
    data = ["--data-dir", str(tmp_path / "d")]
    tenant = runner.invoke(app, ["tenant", "create", "Acme", *data]).output.strip().splitlines()[-1]
    ws = runner.invoke(app, ["workspace", "create", "HQ", "--tenant", tenant, *data]).output.strip().splitlines()[-1]
    result = runner.invoke(app, ["import", str(SAMPLES / "asterisk" / "Master_london_21col.csv"), "--workspace", ws,
                                 "--format", "asterisk", "--time-zone", zone, *data])
    assert result.exit_code == 2
    assert "--time-zone" in result.output and "Traceback" not in result.output
    assert "inserted" not in result.output
