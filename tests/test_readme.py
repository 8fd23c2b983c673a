"""The README's tour runs as written.

The tour is the README's shell blocks marked by an ``<!-- tour -->`` line just before their fence.
They run in order in one ``bash -euo pipefail`` process, as a new user pastes them into one shell:

- from a folder holding ``.venv`` (the tour starts with ``. .venv/bin/activate``): a link to the
  virtualenv running these tests, or, outside one, an ``activate`` that puts this interpreter's
  folder first on ``PATH``;
- with ``HOME`` a temporary folder (the tour works in ``~/callboard-tour``), no ``CALLBOARD_*``
  settings from the outside, and ``PORT`` a free port (the tour reads it when it is set);
- on 127.0.0.1 only, bounded by :data:`TIMEOUT`, in a process group of its own that is killed
  afterwards whatever happened (so a server the tour started never outlives the test).

The checks read what a user would see (each block's output, parsed: ids, CSV, JSON lines) and
compare it with the files the tour wrote. They rely on the documented machine-readable outputs
(last lines, CSV, JSON), not on the layout of the CLI's tables.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callboard.webex.templates import catalogue

README = Path(__file__).resolve().parents[1] / "README.md"
MARK = "<!-- tour -->"
TIMEOUT = 240  # seconds for the whole tour (it takes 20-40 s)
BLOCK_MARKER = "@@readme-tour-block"
FAILED_MARKER = "@@readme-tour-failed"


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    marked: bool
    line: int  # 1-based line of the opening fence


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced code block, with whether the last non-blank line before its fence is the mark."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            lang = line[3:].strip()
            before = next((prev.strip() for prev in reversed(lines[:i]) if prev.strip()), "")
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            assert end is not None, f"README.md:{i + 1}: code block never closed"
            blocks.append(Block(lang, "\n".join(lines[i + 1 : end]), before == MARK, i + 1))
            i = end + 1
        else:
            i += 1
    return blocks


def tour_section(text: str) -> tuple[int, str]:
    """The README section (``## `` heading to the next) holding the first tour block, and its first line."""
    lines = text.splitlines()
    first = next(b.line for b in fenced_blocks(text) if b.marked)
    start = max(i for i in range(first) if lines[i].startswith("## "))
    end = next((i for i in range(first, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start + 1, "\n".join(lines[start:end])


def tour_blocks(text: str) -> list[str]:
    return [b.body for b in fenced_blocks(text) if b.marked]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def kill_group(pgid: int) -> None:
    """SIGTERM the process group, then SIGKILL what is left of it after a grace period."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@dataclass
class TourRun:
    returncode: int | None  # None: stopped at the timeout
    output: str  # stdout and stderr of the whole tour, in order
    blocks: list[str]  # the output of each block
    tour_dir: Path  # ~/callboard-tour
    port: int
    server_left_running: bool

    def explain(self) -> str:
        return f"exit {self.returncode}; the tour's output ends:\n{self.output[-6000:]}"


def make_clone(folder: Path) -> Path:
    """A folder holding ``.venv/bin/activate``, standing for the clone callboard was installed in."""
    folder.mkdir()
    prefix = Path(sys.prefix)
    if sys.prefix != sys.base_prefix and (prefix / "bin" / "activate").is_file():  # a virtualenv
        (folder / ".venv").symlink_to(prefix, target_is_directory=True)
    else:
        activate = folder / ".venv" / "bin" / "activate"
        activate.parent.mkdir(parents=True)
        activate.write_text(f'PATH="{Path(sys.executable).parent}:$PATH"; export PATH\n')
    return folder


def run_tour(blocks: list[str], tmp: Path) -> TourRun:
    home = tmp / "home"
    home.mkdir()
    clone = make_clone(tmp / "clone")
    port = free_port()
    script = tmp / "tour.sh"
    parts = [f"trap 'echo \"{FAILED_MARKER} at: $BASH_COMMAND\" >&2' ERR"]
    for n, body in enumerate(blocks):
        parts += [f"printf '\\n{BLOCK_MARKER} {n}\\n'", body]
    script.write_text("\n".join(parts) + "\n")

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALLBOARD_") and k.lower() not in {"virtual_env", "pythonhome", "port", "curl_home"}
    }
    env.update(
        HOME=str(home),
        PORT=str(port),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        NO_COLOR="1",
    )
    log = tmp / "tour.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the server the tour starts is in it
        )
        try:
            try:
                returncode: int | None = proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                returncode = None
            # the tour's last block stops its server: give it the time to shut down
            deadline = time.monotonic() + 15
            while port_open(port) and time.monotonic() < deadline:
                time.sleep(0.2)
            left_running = port_open(port)
        finally:
            kill_group(proc.pid)
            proc.wait()
    output = log.read_text(errors="replace")
    pieces = re.split(rf"^{BLOCK_MARKER} (\d+)$", output, flags=re.M)
    by_block = [""] * len(blocks)
    for n, text in zip(pieces[1::2], pieces[2::2], strict=True):
        by_block[int(n)] = text
    return TourRun(returncode, output, by_block, home / "callboard-tour", port, left_running)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TourRun]:
    if os.name != "posix" or not (shutil.which("bash") and shutil.which("curl")):
        pytest.skip("the tour needs a POSIX system with bash and curl")
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert blocks, f"no {MARK} blocks in README.md"
    yield run_tour(blocks, tmp_path_factory.mktemp("readme-tour"))


# --- the README itself ---------------------------------------------------------------------------


def test_tour_blocks_are_marked_and_local() -> None:
    text = README.read_text(encoding="utf-8")
    marked = [b for b in fenced_blocks(text) if b.marked]
    assert len(marked) >= 6, "the tour: setup, ids, calls, CLI reports, Results API, Webex API, stop"
    assert all(b.lang == "bash" for b in marked), "tour blocks are bash"
    # every shell block of the tour's section is run by this test: none can rot unseen
    first_line, section = tour_section(text)
    for b in fenced_blocks(section):
        if b.lang in {"bash", "sh", "shell", "console", ""}:
            assert b.marked, f"README.md:{first_line + b.line - 1}: a shell block in the tour without {MARK}"
    tour = "\n".join(b.body for b in marked)
    assert ". .venv/bin/activate" in tour, "a fresh shell needs the venv"
    assert re.search(r"^PORT=\$\{PORT:-(\d+)\}", tour, re.M), "the port comes from PORT when set"
    assert re.search(r"^PORT=\$\{PORT:-8080\}", tour, re.M) is None, "8080 is the demo's port"
    assert re.search(r"callboard serve --port \"\$PORT\"", tour), "the server listens on the tour's port"
    assert "callboard demo" not in tour, "the demo (a year of calls) is not part of the tour"
    assert set(re.findall(r"https?://([^/:\s\"']+)", tour)) == {"127.0.0.1"}, "127.0.0.1 only"
    assert "--host" not in tour and "0.0.0.0" not in tour
    assert re.search(r"(?<!\$)\{\w*[iI]d\}", tour) is None, "ids are captured in variables, not sent as {id}"
    assert "kill " in marked[-1].body, "the tour stops its server at the end"


# --- running it ----------------------------------------------------------------------------------


def ran(tour: TourRun) -> None:
    assert tour.returncode == 0, f"the tour failed (exit {tour.returncode}): see test_tour_runs_as_written"


def test_tour_runs_as_written(tour: TourRun) -> None:
    assert tour.returncode is not None, f"the tour took more than {TIMEOUT} s; " + tour.explain()
    assert tour.returncode == 0, tour.explain()
    assert FAILED_MARKER not in tour.output, tour.explain()
    assert all(tour.blocks), "every block ran"


def test_tour_stops_its_server(tour: TourRun) -> None:
    ran(tour)
    assert not tour.server_left_running, f"port {tour.port} still answers after the tour"


def test_ids_are_printed(tour: TourRun) -> None:
    ran(tour)
    m = re.search(r"^tenant (\S+), workspace (\S+), token (\S+)$", tour.blocks[1], re.M)
    assert m, tour.blocks[1]
    uuid.UUID(m[1])
    uuid.UUID(m[2])
    assert m[3].startswith("cb_") and len(m[3]) > 20


def test_cli_reports_write_csv(tour: TourRun) -> None:
    ran(tour)
    assert (tour.tour_dir / "calls.parquet").stat().st_size > 0
    # `head -3 calls.csv` ends block 3: the header and the first two calls of 1 October
    rows = list(csv.DictReader(tour.blocks[3].strip().splitlines()[-3:]))
    assert len(rows) == 2
    assert {"connId", "start", "callDir", "docId"} <= set(rows[0])
    assert all(r["start"].startswith("2025-10-01T") for r in rows)
    with (tour.tour_dir / "calls.csv").open(newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert len(written) > 50 and all(r["start"].startswith("2025-10-01T") for r in written)


def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def test_results_api(tour: TourRun) -> None:
    ran(tour)
    out = tour.blocks[4]
    assert {"status": "ok"} in json_lines(out), "the health check answered"
    # the POST's headers: 202 and the request's URL
    assert re.search(r"^HTTP/[\d.]+ 202\b", out, re.M), out
    location = re.search(r"^location: (\S+)\r?$", out, re.M | re.I)
    assert location, out
    request_id = location[1].rsplit("/requests/", 1)[1]
    document = json.loads((tour.tour_dir / "result.json").read_text())
    assert document["requestId"] == request_id
    # the summary line, then one JSON line per hunt group
    m = re.search(r"^(\w+) (\d+) rows; summary (.+)$", out, re.M)
    assert m, out
    assert m[1] == "complete"
    rows = [r for r in json_lines(out) if "hgNum" in r]
    assert int(m[2]) == len(rows) == document["totalCount"], out
    assert rows, "the report found no calls: does the tour ask for the month it generated?"
    assert rows == document["data"]
    assert all(r["calls"] > 0 and r["hgName"] for r in rows)
    (summary,) = json.loads(m[3])
    assert summary["calls"] == sum(r["calls"] for r in rows)
    period = document["request"]["metadata"]
    assert (period["timezoneDateFrom"], period["timezoneDateTo"]) == ("2025-10-01T00:00:00", "2025-11-01T00:00:00")


def test_webex_api(tour: TourRun) -> None:
    ran(tour)
    out = tour.blocks[5]
    listed = [(int(m[1]), m[2]) for m in re.finditer(r"^(\d+)  (\S.*)$", out, re.M)]
    assert listed == [(t.id, t.title) for t in catalogue()]
    assert (104, "Call Summary By Hunt Group") in listed
    # status, file name, size and checksum of the report, then the CSV inside the download
    m = re.search(r"^done (.+\.csv) (\d+) bytes, sha256 ([0-9a-f]{64})$", out, re.M)
    assert m, out
    download = (tour.tour_dir / "report.zip").read_bytes()
    assert int(m[2]) == len(download)
    assert m[3] == hashlib.sha256(download).hexdigest()
    with zipfile.ZipFile(tour.tour_dir / "report.zip") as z:
        assert z.namelist() == [m[1]]
    printed = out[m.end() :].strip().splitlines()
    header, *rows = list(csv.reader(printed))
    assert len(header) > 2 and all(len(r) == len(header) for r in rows), printed
    # the same hunt groups as the Results API's report on the same month
    results = json.loads((tour.tour_dir / "result.json").read_text())["data"]
    assert [r[:2] for r in rows] == [[r["hgNum"], r["hgName"]] for r in results]
    assert all(str(r["calls"]) in row for row, r in zip(rows, results, strict=True))
