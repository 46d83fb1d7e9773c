# An app behind gatehouse, in Python: read the identity headers, verify the signed assertion with PyJWT.
# `headers` is any case-insensitive mapping: Flask's, Django's or Starlette's request.headers.
from urllib.parse import unquote

import jwt


def user_from_headers(headers):
    """The signed-in user from gatehouse's headers, or None for a request without a session (a public
    path). Every value is percent-encoded UTF-8; roles are comma-separated, each encoded."""

    def read(name):
        value = headers.get(name)
        return unquote(value) if value else None

    sub = read("X-Forwarded-User")
    if sub is None:
        return None
    roles = headers.get("X-Forwarded-Roles")
    return {
        "sub": sub,
        "email": read("X-Forwarded-Email"),
        "username": read("X-Forwarded-Preferred-Username"),
        "name": read("X-Forwarded-Name"),
        "roles": [unquote(role) for role in roles.split(",")] if roles else [],
    }


def assertion_verifier(jwks_url, issuer, audience):
    """A verifier for X-Gatehouse-Assertion; the arguments are those of the Node example."""
    keys = jwt.PyJWKClient(jwks_url, cache_keys=True)

    def verified_user(headers):
        token = headers.get("X-Gatehouse-Assertion")
        if not token:
            raise PermissionError("no identity assertion: the request did not come through gatehouse")
        claims = jwt.decode(
            token,
            keys.get_signing_key_from_jwt(token).key,
            algorithms=["ES256"],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub"]},
        )
        return {
            "sub": claims["sub"],
            "email": claims.get("email"),
            "username": claims.get("preferred_username"),
            "name": claims.get("name"),
            "roles": claims.get("roles", []),
        }

    return verified_user
