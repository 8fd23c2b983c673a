"""The OpenAPI description and the interactive docs: the bearer scheme on every protected operation,
list shapes as documented, ``Allow`` on a 405 naming every method of the path, and Swagger UI /
ReDoc served from the package with same-origin URLs only (they work with no internet)."""

from __future__ import annotations

import glob
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from callboard.api.app import STATIC_DIR
from tests.support.api import ADMIN, Api, V

ROOT = Path(__file__).resolve().parents[2]
SCHEME = "bearerAuth"
UNPROTECTED = {("/health", "get")}
OPTIONAL = {("/v1/reports/{reportId}/download", "get")}  # the signed link is the credential


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


# ---- the bearer scheme --------------------------------------------------------------------------
def test_bearer_scheme_is_declared_and_every_protected_operation_uses_it(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"][SCHEME]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    ops = operations(spec)
    assert len(ops) > 30
    for path, method, op in ops:
        if (path, method) in UNPROTECTED:
            assert "security" not in op, (path, method)
        elif (path, method) in OPTIONAL:
            assert op["security"] == [{}, {SCHEME: []}], (path, method)
        else:
            assert op.get("security") == [{SCHEME: []}], (path, method)


def test_the_scheme_changes_no_answer_of_the_auth_dependency(api: Api) -> None:
    """What Swagger's "Try it out" sends works; everything else is answered as before."""
    _, token = api.tenant()
    url = f"{V}/workspaces"
    assert api.client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert api.client.get(url, headers={"Authorisation": f"Bearer {token}"}).status_code == 200
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer cb_unknown"}):
        r = api.client.get(url, headers=headers)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer", (headers, r.text)
        body = r.json()
        assert set(body) == {"message", "errors", "trackingId"} and body["trackingId"] == r.headers["TrackingID"]
    assert api.client.get("/health").status_code == 200


# ---- list shapes --------------------------------------------------------------------------------
def test_templates_are_a_list_document(api: Api) -> None:
    from callboard.reports.templates import TEMPLATES

    _, token = api.tenant()
    r = api.client.get(f"{V}/templates", headers=api.auth(token))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert set(doc) == {"data", "count"} and doc["count"] == len(doc["data"]) == len(TEMPLATES)
    assert [t["name"] for t in doc["data"]] == list(TEMPLATES)
    for t in doc["data"]:
        assert {"name", "description", "kind", "fields"} <= set(t) and t["fields"]
        assert {"name", "type", "title", "additive", "defaultDisplay", "description"} <= set(t["fields"][0])


def test_every_results_api_list_is_data_and_count(api: Api) -> None:
    """No Results-API answer is a bare array: each list operation answers a ``{data, count}`` schema."""
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    lists = []
    for path, method, op in operations(spec):
        if not path.startswith(V) or method != "get":
            continue
        schema = op["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", path
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/ListOf_"):
            target = schemas[ref.rsplit("/", 1)[1]]
            assert set(target["required"]) == {"data", "count"}
            assert target["properties"]["data"]["type"] == "array"
            lists.append(path)
    assert sorted(lists) == sorted([f"{V}/tenants", f"{V}/workspaces", f"{V}/templates",
                                    f"{V}/workspaces/{{workspaceId}}/reports",
                                    f"{V}/workspaces/{{workspaceId}}/reports/{{reportId}}/requests"])


# ---- Allow on 405 -------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "allow"), [
    ("OPTIONS", f"{V}/workspaces", "GET, POST"),
    ("PATCH", f"{V}/workspaces", "GET, POST"),
    ("PUT", f"{V}/tenants", "GET, POST"),
    ("OPTIONS", f"{V}/workspaces/00000000-0000-0000-0000-000000000000/reports/x", "GET, PUT, DELETE"),
    ("POST", f"{V}/workspaces/w/requests/r", "GET, DELETE"),
    ("OPTIONS", "/v1/reports", "GET, POST"),
    ("PUT", "/v1/partner/reports/abc", "GET, DELETE"),
    ("POST", "/health", "GET"),
    ("POST", "/docs/static/swagger-ui/swagger-ui.css", "GET, HEAD"),
])
def test_a_405_allows_every_method_of_the_path(api: Api, method: str, path: str, allow: str) -> None:
    r = api.client.request(method, path, headers=api.auth(ADMIN))
    assert r.status_code == 405, r.text
    assert r.headers["Allow"] == allow
    body = r.json()
    assert body["message"] == f"Method {method} is not allowed on {path}."
    assert body["trackingId"] == r.headers["TrackingID"]


# ---- the docs pages -----------------------------------------------------------------------------
class _Links(HTMLParser):
    """Every URL a page makes the browser fetch: src, href and ReDoc's spec-url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]


def page_urls(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    # Swagger UI's own configuration names the document it loads in script
    return parser.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)


EXPECTED_TYPE = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",),
                 ".png": ("image/png",), ".json": ("application/json",)}


def assert_same_origin_assets(client: TestClient, page: str, prefix: str = "") -> list[str]:
    r = client.get(prefix + page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    # ReDoc's bundle draws its vendor's logo from a CDN: the page allows images from this server only
    assert r.headers["Content-Security-Policy"] == "img-src 'self' data:"
    urls = page_urls(html)
    assert urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith(prefix + "/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        media = asset.headers["content-type"].split(";")[0]
        suffix = Path(parts.path).suffix
        assert media in EXPECTED_TYPE[suffix], (url, media)
        assert asset.content
    return urls


def test_swagger_ui_uses_only_packaged_assets(api: Api) -> None:
    urls = assert_same_origin_assets(api.client, "/docs")
    assert {"/openapi.json", "/docs/static/swagger-ui/swagger-ui-bundle.js",
            "/docs/static/swagger-ui/swagger-ui.css"} <= set(urls)
    html = api.client.get("/docs").text
    assert '"validatorUrl": null' in html  # no badge fetched from swagger.io


def test_redoc_uses_only_packaged_assets(api: Api) -> None:
    urls = assert_same_origin_assets(api.client, "/redoc")
    assert {"/openapi.json", "/docs/static/redoc/redoc.standalone.js"} <= set(urls)
    assert "fonts.googleapis" not in api.client.get("/redoc").text


def test_docs_follow_the_root_path_behind_a_proxy(app_factory: Any) -> None:
    app: FastAPI = app_factory()
    client = TestClient(app, root_path="/callboard")
    urls = assert_same_origin_assets(client, "/docs", prefix="/callboard")
    assert "/callboard/openapi.json" in urls


def test_assets_are_the_npm_files_with_their_licences_and_are_package_data() -> None:
    expected = {
        "swagger-ui": {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"},
        "redoc": {"redoc.standalone.js", "LICENSE"},
    }
    for folder, names in expected.items():
        assert names <= {p.name for p in (STATIC_DIR / folder).iterdir()}, folder
    assert "Apache License" in (STATIC_DIR / "swagger-ui" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in (STATIC_DIR / "redoc" / "LICENSE").read_text(encoding="utf-8")
    # every file of the folder ships in the wheel
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["callboard"]
    package = ROOT / "src" / "callboard"
    shipped = {f for g in globs for f in glob.glob(g, root_dir=package)}  # setuptools' own (non-recursive) glob
    files = [p.relative_to(package).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert files and [f for f in files if f not in shipped] == []


def test_static_misses_are_the_usual_404(api: Api) -> None:
    for path in ("/docs/static/nope.js", "/docs/static/../app.py", "/docs/static/"):
        r = api.client.get(path)
        assert r.status_code == 404, path
        assert r.json()["trackingId"] == r.headers["TrackingID"]
