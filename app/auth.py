"""Optional bearer API keys: when configured, every endpoint but health needs one."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, g, request

from app.errors import problem

OPEN_PATHS = frozenset({"/api/v1/health", "/api/v1/ready", "/actuator/health"})


def owner_of(key: str) -> str:
    """The stable owner id of an API key (its digest; the key itself is never stored)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def install_auth(app: Flask, keys: list[str]) -> None:
    """Check ``Authorization: Bearer <key>`` on every request when ``keys`` is not empty."""
    if not keys:
        return
    encoded = [k.encode() for k in keys]

    @app.before_request
    def _check_key() -> Response | None:
        if request.path in OPEN_PATHS or request.method == "OPTIONS":
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        given = token.strip().encode()
        if scheme.lower() == "bearer" and any(hmac.compare_digest(given, k) for k in encoded):
            g.owner = owner_of(token.strip())
            return None
        response = problem(401, "Unauthorized", "a valid API key is required (Bearer token)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="cinnamon"'
        return response
