"""The self-hosted Swagger UI page and its assets (no CDN: works offline and in locked-down accounts).

Only the minified bundle, its stylesheet and our initializer ship in the Lambda
package; they are read from disk once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalicelib.customers.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER_UI = STATIC / "swagger-ui"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "init.js": "application/javascript; charset=utf-8",
}


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def docs_page(base_path: str) -> str:
    """The page, with asset and document URLs under the base path the client used."""
    return _read(STATIC / "docs.html").replace("{base}", base_path)


def asset(name: str) -> tuple[str, str]:
    """(content, content type) of an allow-listed asset; anything else is a 404."""
    if name not in ASSET_TYPES:
        raise NotFound("No such documentation asset.")
    return _read(SWAGGER_UI / name), ASSET_TYPES[name]
