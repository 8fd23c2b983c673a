"""The Webex routes in the OpenAPI description: typed create bodies (while the routes keep their own
validation and its wording) and documented answers that match what the server sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import BaseModel

from callboard.api.app import create_app
from callboard.api.routes import webex as routes
from callboard.settings import Settings
from callboard.webex.templates import WEBEX_TEMPLATE_IDS
from tests.support.webex import wait_partner
from tests.support.webex_live import Live

CALL_LIST = WEBEX_TEMPLATE_IDS["CallList"].id
WEEK = {"startDate": "2025-03-03", "endDate": "2025-03-09"}
REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi"), admin_token="openapi-test-admin-token-1"),
                     announce=False, workers=0)
    try:
        yield TestClient(app).get("/openapi.json").json()
    finally:
        app.state.ctx.close()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    assert ref.startswith(REF), schema
    return dict(spec["components"]["schemas"][ref.removeprefix(REF)])


@pytest.mark.parametrize(("path", "model", "own"), [
    ("/v1/reports", "WebexReportCreate", {"siteList"}),
    ("/v1/partner/reports", "PartnerReportCreate", {"regionId"}),
])
def test_create_bodies_are_typed_in_the_document(spec: dict[str, Any], path: str, model: str, own: set[str]) -> None:
    body = spec["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"$ref": REF + model}
    target = resolve(spec, schema)
    assert target["type"] == "object" and set(target["required"]) == {"templateId", "startDate", "endDate"}
    assert set(target["properties"]) == {"templateId", "startDate", "endDate", "timeZone", "workspaceId"} | own
    kinds = {s.get("type") for s in target["properties"]["templateId"]["anyOf"]}
    assert kinds == {"integer", "string"}  # a number, or a numeric string as the developer portal sends
    for name in ("startDate", "endDate"):
        assert target["properties"][name]["format"] == "date"
    assert target["properties"]["timeZone"]["default"] == "UTC"


@pytest.mark.parametrize(("path", "method", "model"), [
    ("/v1/report/templates", "get", "WebexTemplateList"),
    ("/v1/reports", "get", "WebexReportList"),
    ("/v1/reports", "post", "WebexReportCreated"),
    ("/v1/reports/{reportId}", "get", "WebexReportList"),
    ("/v1/partner/reports/templates", "get", "PartnerTemplateList"),
    ("/v1/partner/reports", "get", "PartnerReportList"),
    ("/v1/partner/reports", "post", "PartnerReportCreated"),
    ("/v1/partner/reports/{reportId}", "get", "PartnerReportItem"),
])
def test_answers_are_documented(spec: dict[str, Any], path: str, method: str, model: str) -> None:
    ok = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": REF + model}


def test_webex_operations_carry_the_bearer_scheme(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        if path.startswith("/v1/"):
            for method, op in ops.items():
                expected = [{}, {"bearerAuth": []}] if path.endswith("/download") else [{"bearerAuth": []}]
                assert op["security"] == expected, (path, method)


def test_the_schema_does_not_validate_the_body(live: Live) -> None:
    """The routes still read the body as JSON and answer each broken rule in Webex's words (a schema
    validator would have said "Input should be a valid integer" or listed missing fields)."""
    r = live.post("/v1/reports", json={"templateId": "call-list", **WEEK})
    assert r.status_code == 400 and r.json()["message"] == "templateId must be a number, got 'call-list'."
    r = live.post("/v1/partner/reports", json={"startDate": "2025-03-03"})
    assert r.status_code == 400
    assert r.json()["message"] == "templateId is required (validation rule: templateId required=yes)."
    r = live.post("/v1/reports", json=[1])
    assert r.status_code == 400 and "JSON object" in r.json()["message"]


def _conforms(model: type[BaseModel], doc: dict[str, Any]) -> None:
    """``doc`` has only documented keys, every required one, and values of the documented types."""
    assert set(doc) <= set(model.model_fields), set(doc) - set(model.model_fields)
    model.model_validate(doc)
    for name, field in model.model_fields.items():
        if field.is_required():
            assert name in doc, name


def test_real_answers_match_the_documented_models(live: Live) -> None:
    templates = live.get("/v1/report/templates").json()
    _conforms(routes.WebexTemplateList, templates)
    for item in templates["items"]:
        _conforms(routes.WebexTemplateItem, item)
    partner_templates = live.get("/v1/partner/reports/templates").json()
    _conforms(routes.PartnerTemplateList, partner_templates)
    for item in partner_templates["items"]:
        _conforms(routes.PartnerTemplateItem, item)

    created = live.post("/v1/partner/reports", json={"templateId": CALL_LIST, **WEEK}).json()
    _conforms(routes.PartnerReportCreated, created)
    _conforms(routes.PartnerReportItem, wait_partner(live, created["reportId"]))
    org = live.post("/v1/reports", json={"templateId": str(CALL_LIST), **WEEK, "siteList": "acme.webex.com"}).json()
    _conforms(routes.WebexReportCreated, org)
    rid = org["items"]["Id"]
    wait_partner(live, rid)
    details = live.get(f"/v1/reports/{rid}").json()
    _conforms(routes.WebexReportList, details)
    _conforms(routes.WebexReportItem, details["items"][0])
    listed = live.get("/v1/reports", params={"max": 5}).json()
    _conforms(routes.WebexReportList, listed)
    for item in listed["items"]:
        _conforms(routes.WebexReportItem, item)
    partner_list = live.get("/v1/partner/reports", params={"max": 5}).json()
    _conforms(routes.PartnerReportList, partner_list)
    for item in partner_list["items"]:
        _conforms(routes.PartnerReportItem, item)


def test_swagger_try_it_out_request_is_answered(live: Live) -> None:
    """What Swagger's "Try it out" sends after Authorize: the bearer header and the example body."""
    example = {"templateId": 102, "startDate": "2025-03-03", "endDate": "2025-03-09", "timeZone": "Europe/London"}
    r = requests.post(live.url("/v1/reports"), json=example, timeout=60,
                      headers={"Authorization": f"Bearer {live.tokens['write']}", "accept": "application/json"})
    assert r.status_code == 200, r.text
    assert set(r.json()["items"]) == {"Id"}


def test_docs_is_served_by_the_live_server(live: Live) -> None:
    r = requests.get(live.url("/docs"), timeout=30)
    assert r.status_code == 200 and "/docs/static/swagger-ui/swagger-ui-bundle.js" in r.text
    js = requests.get(live.url("/docs/static/swagger-ui/swagger-ui-bundle.js"), timeout=30)
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
