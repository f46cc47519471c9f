"""Signing in: the officers' login page, session cookies, API bearer tokens, and the zone check every officer route
makes.

Pages use Flask-Login's session cookie (HttpOnly, SameSite=Lax, Secure on HTTPS) and CSRF tokens; machine clients
send ``Authorization: Bearer <token>``. Failed sign-ins are throttled per address and name (Flask-Limiter, in memory:
one process per deployment today; a shared store would be configured with RATELIMIT_STORAGE_URI).
"""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField

from mapper.accounts import STAFF_ROLES, Accounts
from mapper.errors import MapperError

bp = Blueprint("auth", __name__)
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", strategy="fixed-window")
FAILED_SIGN_INS = "5 per minute"  # per address and name: guessing a password takes years, a typo costs nothing


class NotSignedIn(MapperError):
    status = 401
    code = "unauthorized"


class OutsideYourZones(MapperError):
    status = 403
    code = "forbidden"


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when the request came over HTTPS (or the config says so)."""

    def get_cookie_secure(self, app):
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


class LoginForm(FlaskForm):
    name = StringField()
    password = PasswordField()
    next = HiddenField()


def init_app(app):
    # Flask's defaults are HttpOnly, no SameSite and not Secure; a deployment's own setting wins.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    # Behind a proxy that terminates TLS, request.is_secure is False: PREFERRED_URL_SCHEME=https says it is HTTPS.
    if not app.config.get("SESSION_COOKIE_SECURE"):
        app.config["SESSION_COOKIE_SECURE"] = app.config.get("PREFERRED_URL_SCHEME") == "https"
    app.session_interface = SessionInterface()
    app.extensions["accounts"] = Accounts(app.config["DATA_DIR"])
    manager = LoginManager(app)
    manager.session_protection = "basic"
    manager.user_loader(lambda name: get_accounts().get(name))
    manager.request_loader(account_for_bearer)
    manager.unauthorized_handler(lambda: (_ for _ in ()).throw(NotSignedIn("Sign in to do this.")))
    limiter.init_app(app)

    @app.errorhandler(NotSignedIn)
    def not_signed_in(error):
        from mapper.web.errors import wants_json

        if wants_json() or request.headers.get("Authorization"):
            # A client that sent a token is a machine: JSON whatever it accepts.
            response = make_response(jsonify(error.to_dict()), error.status)
            response.headers["WWW-Authenticate"] = 'Bearer realm="mapper"'
            return response
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def get_accounts():
    return current_app.extensions["accounts"]


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def account_for_bearer(request_):
    token = bearer_token()
    return get_accounts().for_token(token) if token else None


def current_officer():
    """The signed-in officer or administrator (session or bearer token), or None.

    A request with an ``Authorization`` header is judged by it alone: a bad token never falls back to the cookie.
    """
    if request.headers.get("Authorization"):
        return account_for_bearer(request)
    return current_user if current_user.is_authenticated else None


def require_officer():
    officer = current_officer()
    if officer is None:
        raise NotSignedIn("Sign in, or send Authorization: Bearer <token>, to do this.")
    return officer


def require_zone(zone_id, roles=STAFF_ROLES):
    """The current account if it may work in ``zone_id``: 401 when nobody is signed in, 403 outside its zones or when
    its role is not one of ``roles`` (a steering-group member uploads walks but does not change repairs)."""
    officer = require_officer()
    if officer.role not in roles:
        raise OutsideYourZones(f"Your account ({officer.name}) is a {officer.role} account, which cannot do this.",
                               field="role")
    if not officer.can_see(zone_id):
        raise OutsideYourZones(f"Your account ({officer.name}) does not cover the zone {zone_id!r}.", field="zone")
    return officer


def safe_next(target):
    """Only a path on this site: never an absolute or protocol-relative URL (an open redirect)."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("pages.index")
    return target


def throttle_key():
    return f"{get_remote_address()}|{request.form.get('name', '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(FAILED_SIGN_INS, key_func=throttle_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 303,
               error_message="Too many failed sign-ins. Wait a minute and try again.")
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if request.method == "GET":
        return render_template("login.html", form=form, error=None)
    account = get_accounts().authenticate(request.form.get("name", "").strip(), request.form.get("password", ""))
    if account is None:
        return render_template("login.html", form=form, error="That name and password do not match."), 401
    login_user(account)
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":  # a link cannot sign anyone out (CSRF): the page's button posts the form
        return render_template("login.html", form=LoginForm(), error=None, signing_out=True)
    logout_user()
    return redirect(url_for("pages.index"), code=303)
