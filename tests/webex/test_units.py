"""Unit tests of the self-contained pieces: ids, link signing, the zip renderer, the id table."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from callboard.webex import ids, templates
from callboard.webex.render import BOM, render_zip
from callboard.webex.signing import LinkCheck, Signer, load_secret


# ---- ids ----------------------------------------------------------------------------------------
def test_report_id_round_trip_and_shape() -> None:
    u = uuid.uuid4()
    text = ids.report_id(u)
    assert ids.parse_report_id(text) == u
    urn = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    assert urn == f"ciscospark://urn:TEAM:callboard/REPORT/{u.hex}"
    assert "=" not in text and "+" not in text and "/" not in text


@pytest.mark.parametrize("bad", ["", "nope", "Y2lzY29zcGFyazovL3VzL1JFUE9SVC8", "%%%%", "a" * 300])
def test_bad_report_ids_name_nothing(bad: str) -> None:
    assert ids.parse_report_id(bad) is None


def test_person_id_is_not_a_report_id() -> None:
    assert ids.parse_report_id(ids.person_id(uuid.uuid4())) is None


# ---- signing ------------------------------------------------------------------------------------
def test_signature_checks() -> None:
    s = Signer(b"k" * 32)
    rid = uuid.uuid4()
    expires, sig = s.sign(rid, 60, now=1000)
    assert expires == 1060
    assert s.check(rid, str(expires), sig, now=1059) is LinkCheck.VALID
    assert s.check(rid, str(expires), sig, now=1060) is LinkCheck.EXPIRED
    assert s.check(rid, str(expires + 1), sig, now=1000) is LinkCheck.FORGED  # extended by hand
    assert s.check(uuid.uuid4(), str(expires), sig, now=1000) is LinkCheck.FORGED  # other report
    assert s.check(rid, str(expires), sig[:-1] + ("A" if sig[-1] != "A" else "B"), now=1000) is LinkCheck.FORGED
    assert s.check(rid, None, sig, now=1000) is LinkCheck.FORGED
    assert s.check(rid, "-5", sig, now=1000) is LinkCheck.FORGED
    assert Signer(b"x" * 32).check(rid, str(expires), sig, now=1000) is LinkCheck.FORGED


def test_secret_key_file_is_created_once(tmp_path: Path) -> None:
    first = load_secret(tmp_path, None)
    assert len(first) >= 32 and (tmp_path / "secret.key").exists()
    assert load_secret(tmp_path, None) == first
    assert load_secret(tmp_path, "configured-secret-key-123") == b"configured-secret-key-123"


# ---- render -------------------------------------------------------------------------------------
def _csv_writer(rows: int) -> Callable[[io.BufferedIOBase], None]:
    def write(sink: io.BufferedIOBase) -> None:
        sink.write(BOM + b"Nom,Valeur\r\n")
        for i in range(rows):
            sink.write(f"é{i},{i * 3}\r\n".encode())
    return write


def test_render_zip_holds_one_csv_with_bom_and_exact_facts(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "r.zip"
    done = render_zip(_csv_writer(200_000), dest, "Report_x.csv")
    raw = dest.read_bytes()
    assert done.size == len(raw)
    assert done.checksum == hashlib.sha256(raw).hexdigest()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert [i.filename for i in z.infolist()] == ["Report_x.csv"]
        body = z.read("Report_x.csv")
    assert body.startswith(BOM)
    lines = body[3:].decode("utf-8").splitlines()
    assert lines[0] == "Nom,Valeur" and lines[1] == "é0,0" and lines[-1] == "é199999,599997"
    assert len(lines) == 200_001
    assert [p.name for p in dest.parent.iterdir()] == ["r.zip"]  # no temporary left behind


def test_render_failure_leaves_nothing(tmp_path: Path) -> None:
    def broken(sink: io.BufferedIOBase) -> None:
        sink.write(BOM + b"a\r\n" * 600_000)
        raise ValueError("engine exploded")

    dest = tmp_path / "r.zip"
    with pytest.raises(ValueError, match="engine exploded"):
        render_zip(broken, dest, "x.csv")
    assert list(tmp_path.iterdir()) == []


# ---- template ids -------------------------------------------------------------------------------
def test_fixed_ids_are_unique_and_below_the_derived_range() -> None:
    fixed = [e.id for e in templates.WEBEX_TEMPLATE_IDS.values()]
    assert len(fixed) == len(set(fixed))
    assert max(fixed) < templates.DERIVED_ID_BASE
    assert templates.WEBEX_TEMPLATE_IDS["CallingDetailedCallHistory"].title == "Calling Detailed Call History"
    assert templates.WEBEX_TEMPLATE_IDS["CallingUsage"].title == "Calling Usage"


def test_derived_ids_are_stable_functions_of_the_name() -> None:
    a = templates.build_catalogue([("QueueAgentStats", None), ("CallList", "whatever")])
    b = templates.build_catalogue([("CallList", None), ("QueueAgentStats", "Queue Agent Stats")])
    ids_a = {t.name: t.id for t in a}
    assert ids_a == {t.name: t.id for t in b}
    assert ids_a["CallList"] == 102
    assert ids_a["QueueAgentStats"] == templates.derived_id("QueueAgentStats") >= templates.DERIVED_ID_BASE
    assert templates.title_of("QueueAgentStats") == "Queue Agent Stats"


def test_colliding_ids_refuse_to_build() -> None:
    with pytest.raises(RuntimeError, match="already used"):
        templates.build_catalogue([("CallList", None), ("CallList", None)])


def test_every_engine_template_has_a_distinct_webex_id() -> None:
    cat = templates.catalogue()
    names = {name for name, _ in templates.report_templates()}
    assert {t.name for t in cat} == names
    assert len({t.id for t in cat}) == len(cat)
    for t in cat:
        if t.name in templates.WEBEX_TEMPLATE_IDS:
            assert t.id == templates.WEBEX_TEMPLATE_IDS[t.name].id


# ---- table and migration ------------------------------------------------------------------------
def test_migration_creates_the_webex_table_exactly_as_the_model_declares(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import MetaData, inspect

    from callboard.store import Database
    from callboard.store.migrations import heads
    from callboard.store.models import Base
    from callboard.webex.models import WebexReport

    db = Database(f"sqlite:///{tmp_path / 'meta.sqlite'}")
    try:
        assert len(heads()) == 1  # one line of migrations, the Webex table's among them
        assert "webex_reports" in inspect(db.engine).get_table_names()
        ours = MetaData(naming_convention=Base.metadata.naming_convention)
        for name in ("tenants", "workspaces", "requests", "reports", WebexReport.__tablename__):
            Base.metadata.tables[name].to_metadata(ours)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), ours)
        mine = [d for d in diff if "webex_reports" in repr(d)]
        assert mine == []
    finally:
        db.dispose()


def test_every_v1_route_is_documented(tmp_path: Path) -> None:
    """Each operation of the OpenAPI description under /v1 appears in docs/webex.md as ``METHOD /path``."""
    from callboard.api.app import create_app
    from callboard.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, admin_token="doc-test-admin-token-123"), announce=False, workers=0)
    paths = app.openapi()["paths"]
    text = (Path(__file__).parents[2] / "docs" / "webex.md").read_text(encoding="utf-8")
    operations = [f"{m.upper()} {p}" for p, ops in paths.items() if p.startswith("/v1/") for m in ops]
    assert len(operations) == 11
    assert [op for op in operations if op not in text] == []
