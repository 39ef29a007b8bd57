"""The Flask application factory (``gunicorn 'app:create_app()'``) and the CLI."""

from __future__ import annotations

from flask import Flask

from config.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: settings, services, blueprints, errors; nothing happens at import time."""
    from app.auth import install_auth
    from app.cinnamon import cinnamon_blueprint
    from app.datasets import datasets_blueprint
    from app.errors import register_error_handlers
    from app.health import health_blueprint
    from app.jobs import jobs_blueprint
    from app.openapi import build_spec, openapi_blueprint
    from app.synthesizers import synthesizers_blueprint
    from jobs.service import open_services

    settings = settings or Settings()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    limits = settings.limits
    # multipart: the file part may be max_bytes; every other field is a small config
    app.config["MAX_CONTENT_LENGTH"] = limits.max_bytes + limits.max_config_bytes + 64 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = limits.max_config_bytes
    app.config["MAX_FORM_PARTS"] = 16
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["cinnamon"] = open_services(settings)
    app.extensions["cinnamon_openapi"] = build_spec()
    for blueprint in (
        health_blueprint,
        synthesizers_blueprint,
        datasets_blueprint,
        jobs_blueprint,
    ):
        app.register_blueprint(blueprint, url_prefix="/api/v1")
    app.register_blueprint(openapi_blueprint)
    app.register_blueprint(cinnamon_blueprint)  # the platform's own paths, at the root
    install_auth(app, settings.api_keys)
    if settings.cors_origins:
        _install_cors(app, settings.cors_origins)
    register_error_handlers(app)
    return app


def _install_cors(app: Flask, origins: list[str]) -> None:
    from flask import Response, request

    allowed = set(origins)

    @app.after_request
    def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and (origin in allowed or "*" in allowed):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, Idempotency-Key, If-None-Match"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = "Location, ETag, Retry-After"
        return response
