"""The OpenAPI document and the Swagger UI page the app serves."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from app import app
from chalicelib.api.docs import ASSET_TYPES, SWAGGER_UI
from tests.support import Api, assert_error, body

ROOT = Path(__file__).resolve().parents[2]
UNDOCUMENTED = {"/openapi.json", "/docs", "/docs/{asset_name}"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = body(response)
    return result


def test_openapi_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/"}]


def test_openapi_documents_exactly_the_routes_the_app_has(document: dict[str, Any]) -> None:
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item if method in METHODS
    }
    served = {(path, method) for path, methods in app.routes.items() if path not in UNDOCUMENTED for method in methods}
    assert documented == served


def test_every_operation_has_examples_and_the_error_envelope(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            name = f"{method.upper()} {path}"
            if "requestBody" in operation:
                assert "example" in operation["requestBody"]["content"]["application/json"], name
            successes = [r for status, r in operation["responses"].items() if str(status).startswith("2")]
            assert any(
                "example" in r.get("content", {}).get("application/json", {}) or "content" not in r for r in successes
            ), name
            for status in ("400", "500", "503"):
                assert operation["responses"][status] == {"$ref": f"#/components/responses/Error{status}"}, name


def test_openapi_describes_the_headers_clients_use(api: Api) -> None:
    text = api.get("/openapi.json").body.decode()
    for header in ("ETag", "If-Match", "If-None-Match", "Idempotency-Key", "Location", "Retry-After"):
        assert f'"{header}"' in text, header


def test_docs_page_loads_self_hosted_assets(api: Api) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert 'data-openapi-url="/openapi.json"' in page
    for name in ASSET_TYPES:
        assert f'"/docs/{name}"' in page
    assert "http" not in page.replace("http-equiv", "")  # no CDN, nothing fetched from elsewhere


@pytest.mark.parametrize("name", sorted(ASSET_TYPES))
def test_docs_assets_are_served_with_their_type(api: Api, name: str) -> None:
    response = api.get(f"/docs/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ASSET_TYPES[name]
    assert response.body == (SWAGGER_UI / name).read_bytes()


@pytest.mark.parametrize("name", ["index.html", "..%2Fdocs.html", "swagger-ui-bundle.js.map", "LICENSE"])
def test_docs_unknown_asset_is_404_envelope(api: Api, name: str) -> None:
    assert_error(api.get(f"/docs/{name}"), 404, "not_found")


def test_vendored_swagger_ui_is_the_pinned_npm_release() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    installed = ROOT / "node_modules" / "swagger-ui-dist"
    assert json.loads((installed / "package.json").read_text())["version"] == pinned, "run npm ci"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        vendored = hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest()
        assert vendored == hashlib.sha256((installed / name).read_bytes()).hexdigest(), name
