"""The Flask application factory (``gunicorn 'app:create_app()'``) and the CLI."""

from __future__ import annotations

from flask import Flask

from config.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; nothing happens at import time."""
    from app.errors import register_error_handlers
    from app.health import health_blueprint
    from app.synthesizers import synthesizers_blueprint

    app = Flask(__name__)
    app.config["SETTINGS"] = settings or Settings()
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(health_blueprint, url_prefix="/api/v1")
    app.register_blueprint(synthesizers_blueprint, url_prefix="/api/v1")
    register_error_handlers(app)
    return app
