"""Who may call the API from where: CORS per stage.

Chalice reads CORS when each route is registered, i.e. when ``app.py`` is imported
(and `chalice package`/`deploy` import it with the stage's environment), so this one
setting is read at import rather than on first use like the rest of config.py.
"""

from __future__ import annotations

import os

from chalice.app import CognitoUserPoolAuthorizer, CORSConfig, Response

# What browsers may send and read beyond the CORS-safelisted ones.
ALLOWED_HEADERS = ["Content-Type", "Authorization", "If-Match", "If-None-Match", "Idempotency-Key"]
EXPOSED_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-Id", "Idempotent-Replayed"]


def cors_config() -> CORSConfig | bool:
    """The stage's CORS_ALLOW_ORIGIN (one origin, as API Gateway allows), or no CORS at all."""
    origin = os.environ.get("CORS_ALLOW_ORIGIN", "").strip()
    if not origin:
        return False
    return CORSConfig(allow_origin=origin, allow_headers=ALLOWED_HEADERS, expose_headers=EXPOSED_HEADERS, max_age=600)


def with_cors_headers(response: Response, cors: CORSConfig | bool) -> Response:
    """Chalice adds CORS headers only to what a view returns; errors raised through the
    middleware need them too, or browsers hide the real error behind a CORS failure."""
    if isinstance(cors, CORSConfig):
        for name, value in cors.get_access_control_headers().items():
            response.headers.setdefault(name, value)
    return response


AUTHORIZER_NAME = "CustomerApiUsers"
RESOURCE_SERVER = "customers"
READ_SCOPE = f"{RESOURCE_SERVER}/read"
WRITE_SCOPE = f"{RESOURCE_SERVER}/write"


def auth_enabled() -> bool:
    return bool(os.environ.get("COGNITO_USER_POOL_ARN", "").strip())


def authorizer(scope: str) -> CognitoUserPoolAuthorizer | None:
    """A Cognito user-pool authorizer asking for ``scope``, on stages that set COGNITO_USER_POOL_ARN.

    Read and write scopes let one client read without being able to change anything
    (OAuth client-credentials tokens from the pool's resource server). Without a pool
    (`local`, and `dev` unless configured) the API is open; `chalice local` would not
    enforce an authorizer anyway. Read at import, like CORS: routes are built then.
    """
    if not auth_enabled():
        return None
    pool_arn = os.environ["COGNITO_USER_POOL_ARN"].strip()
    return CognitoUserPoolAuthorizer(AUTHORIZER_NAME, provider_arns=[pool_arn]).with_scopes([scope])  # type: ignore[return-value]
