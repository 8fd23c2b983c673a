"""``CALLBOARD_LOG_FORMAT=json``: every line the server writes is one JSON object (uvicorn's own lines,
the access lines, tracebacks and the first administrator token included)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from callboard.api.server import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_json_mode_writes_one_object_per_record(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream)
    log = logging.getLogger("callboard.test")
    log.info("plain %s", "message")
    log.warning("two\nlines", extra={"trackingId": "T-1", "rows": 3})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    logging.getLogger("uvicorn.error").info("from uvicorn")
    lines = stream.getvalue().splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 4
    assert (docs[0]["message"], docs[0]["level"], docs[0]["logger"]) == ("plain message", "INFO", "callboard.test")
    assert docs[0]["time"].endswith("Z") and "T" in docs[0]["time"]
    assert docs[1]["message"] == "two\nlines" and docs[1]["trackingId"] == "T-1" and docs[1]["rows"] == 3
    assert docs[2]["level"] == "ERROR" and "ValueError: boom" in docs[2]["exception"]
    assert docs[3]["logger"] == "uvicorn.error"


def test_text_mode_is_the_default(root_logging: None) -> None:
    from callboard.settings import Settings

    assert Settings().log_format == "text"
    assert configure_logging("text") is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_server_logs_json_lines_only(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CALLBOARD_LOG_FORMAT": "json", "CALLBOARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("CALLBOARD_ADMIN_TOKEN", None)  # so the first start announces a token, as a JSON line too
    log_file = tmp_path / "server.log"
    with log_file.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "callboard.cli", "serve", "--port", str(port)],
                                  stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                        assert answer.status == 200
                    break
                except OSError:
                    assert server.poll() is None, log_file.read_text()
                    assert time.monotonic() < deadline, log_file.read_text()
                    time.sleep(0.2)
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1.0/tenants", timeout=5)
        finally:
            server.terminate()
            server.wait(30)
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]  # fails on any line that is not one JSON object
    assert all({"time", "level", "logger", "message"} <= set(d) for d in docs)
    messages = " | ".join(d["message"] for d in docs)
    assert "Uvicorn running on" in messages  # uvicorn's own lines
    assert "GET /health 200" in messages and "GET /api/v1.0/tenants 401" in messages  # access lines
    assert "system administrator token" in messages
    assert "Shutting down" in messages or "Finished server process" in messages
