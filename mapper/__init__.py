"""mapper: street-lighting faults, community assets and hotspot layers for Leicestershire's People Zones.

A report's journey reads down the package: ``web`` (views) -> ``validate`` -> ``zones`` -> ``store`` ->
``analysis`` -> ``render`` or ``export``. No module calls back up that list.
"""

import logging

from flask import Flask

from mapper import config as configuration
from mapper.config import PROJECT_DIR

__version__ = "0.1.0"


def create_app(config=None):
    """The Flask application, configured from defaults, ``MAPPER_*`` environment variables and ``config``."""
    settings = configuration.load(config)
    app = Flask(__name__, template_folder=str(PROJECT_DIR / "templates"), static_folder="static")
    app.config.update(settings)
    if not app.config.get("SECRET_KEY"):
        import secrets

        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a draft saved offline may be sent hours later
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    from flask_compress import Compress
    from flask_wtf.csrf import CSRFError, CSRFProtect

    from mapper.web import (analysts, api, audits, auth, community_payback, context, errors, i18n, limits, officers,
                            pages, progress, repairs, report, security_headers, vendor)
    from mapper.web import deployment
    from mapper.web import moderation as moderation_page  # not mapper.moderation, which does the work

    context.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    security_headers.init_app(app)  # CSP, nosniff, no framing, Referrer-/Permissions-Policy, HSTS behind HTTPS
    Compress(app)
    csrf = CSRFProtect(app)
    deployment.init_app(app)  # ProxyFix for PROXY_HOPS, HTTPS (Secure cookies), Origin of cookie-authenticated writes
    limits.init_app(app)  # the one rate limiter (sign-ins, public writes, analysis), its storage from the config
    auth.init_app(app)
    # The JSON API takes only application/json bodies, which a cross-site form cannot send without CORS; forms
    # (the report page) carry a token.
    csrf.exempt(api.bp)
    # Staff blueprints check the token themselves (auth.protect_session_writes): after the sign-in check, so a
    # stranger hears 401 first, and only for sessions, since a bearer token reads no cookie.
    for blueprint in (audits.bp, community_payback.bp, moderation_page.bp, officers.bp, repairs.bp):
        csrf.exempt(blueprint)
    app.register_error_handler(CSRFError, report.csrf_failed)

    app.register_blueprint(audits.bp)  # its /audits and /lights.gpx rules outrank the API's <layer_name> ones
    app.register_blueprint(analysts.bp)  # its hotspots.<ext>/targets.<ext> rules outrank the API's <layer_name> ones
    app.register_blueprint(officers.bp)  # before the API: its /<feature_id>/private rule is more specific
    # Its /api/zones/<zone>/cp-sites... rules (staff only) outrank the public API's <layer_name> ones.
    app.register_blueprint(community_payback.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(moderation_page.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(progress.bp)
    app.register_blueprint(repairs.bp)
    app.register_blueprint(report.bp)
    app.register_blueprint(vendor.bp)
    logging.getLogger("mapper").setLevel(logging.INFO)
    return app
