"""Signing in: the officers' login page, session cookies, API bearer tokens, and the zone check every officer route
makes.

Pages use Flask-Login's session cookie (HttpOnly, SameSite=Lax, Secure on HTTPS) and CSRF tokens; machine clients
send ``Authorization: Bearer <token>``. Failed sign-ins are throttled per address and name (the app's one limiter,
:mod:`mapper.web.limits`, counting in RATELIMIT_STORAGE_URI, shared by every worker given the same Redis).

Also here: "forgot your password?" (a single-use link by email, valid an hour; the answer is the same whatever name
is entered) and "Your account" (change the password, sign out other sessions, see and revoke API tokens). Each
sign-in has a record in the accounts store and the session cookie carries its id (see :mod:`mapper.accounts`):
signing out deletes the record, so a copied cookie is nobody afterwards, and a password change, a reset or a deleted
account ends the other sessions at their next request.
"""

import logging
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, jsonify, make_response, redirect, render_template, request,
                   url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField

from mapper import notify
from mapper.accounts import MAX_PASSWORD, MIN_PASSWORD, RESET_LIFETIME, STAFF_ROLES, Accounts
from mapper.errors import MapperError, ValidationError
from mapper.web import deployment
from mapper.web.limits import limiter

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
FAILED_SIGN_INS = "5 per minute"  # per address and name: guessing a password takes years, a typo costs nothing
# Per address, whatever the name: one common password sprayed over every account name, each try an scrypt hash
# (~170 ms of CPU). Loose enough for a council office of officers behind one NAT address who mistype.
FAILED_SIGN_INS_PER_ADDRESS = "20 per minute; 100 per hour"
# "Forgot your password?": enough for a real person who mistypes, too few to flood an inbox or probe for names.
RESET_REQUESTS_PER_ADDRESS = "10 per hour"
RESET_REQUESTS_PER_NAME = "3 per hour"
RESET_PATH = "/password-reset"


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
    # The cookie names a sign-in: one signed out, expired or ended by a password change, or a deleted account, is nobody.
    manager.user_loader(account_for_session)
    manager.request_loader(account_for_bearer)
    app.extensions["reset_mailer"] = ResetMailer(app.extensions["accounts"], app.config, notify.outbox_for(app))
    manager.unauthorized_handler(lambda: (_ for _ in ()).throw(NotSignedIn("Sign in to do this.")))
    # The account forms check their CSRF token themselves, after the sign-in check (401 first, as everywhere).
    for view in (change_password, end_other_sessions, revoke_token):
        app.extensions["csrf"].exempt(view)
    app.context_processor(lambda: {"min_password": MIN_PASSWORD})

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
    if not token:
        return None
    accounts = get_accounts()
    account = accounts.for_token(token)
    if account is not None:
        try:
            accounts.record_token_use(token)
        except OSError:  # a full or read-only disk must not turn away a client whose token is good
            log.warning("Could not record the use of an API token of %s", account.name, exc_info=True)
    return account


def account_for_session(sign_in_id):
    accounts = get_accounts()
    account = accounts.for_sign_in(sign_in_id)
    if account is not None:
        try:
            accounts.record_session_use(sign_in_id)
        except OSError:  # a full or read-only disk must not sign out someone whose session is good
            log.warning("Could not record the use of a session of %s", account.name, exc_info=True)
    return account


def current_officer():
    """The signed-in officer or administrator (session or bearer token), or None.

    A request with an ``Authorization`` header is judged by it alone: a bad token never falls back to the cookie.
    """
    if request.headers.get("Authorization"):
        return account_for_bearer(request)
    return current_user if current_user.is_authenticated else None


def protect_session_writes():
    """The ``before_request`` of the staff blueprints (exempt from the app-wide CSRF check in ``create_app``): a
    signed-in browser's write must carry its CSRF token, checked once we know who is asking (a stranger hears 401, not
    about forms); a bearer-token client reads no cookie, so a cross-site page cannot forge its requests, and needs
    none."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and bearer_token() is None:
        require_officer()
        current_app.extensions["csrf"].protect()


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
@limiter.limit(FAILED_SIGN_INS_PER_ADDRESS, key_func=get_remote_address, methods=["POST"],
               deduct_when=lambda response: response.status_code != 303,
               error_message="Too many failed sign-ins from your connection. Wait a few minutes and try again.")
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if request.method == "GET":
        return render_template("login.html", form=form, error=None)
    account = get_accounts().authenticate(request.form.get("name", "").strip(), request.form.get("password", ""))
    if account is None:
        return render_template("login.html", form=form, error="That name and password do not match."), 401
    login_user(get_accounts().start_session(account.name))
    return redirect(safe_next(request.form.get("next")), code=303)


# -- forgot your password? -----------------------------------------------------------------------------------------


class ResetMailer:
    """Finds the account, makes its reset link and emails it, all on the app's outbox thread
    (:class:`mapper.notify.Outbox`, which also retries a failed delivery).

    The request only hands the entered text over, so the answer takes the same time whether or not the name
    exists or has an email (no account enumeration by timing either). The throttles bound how many can queue.
    """

    def __init__(self, accounts, config, outbox):
        self.accounts, self.config, self.outbox = accounts, config, outbox

    def submit(self, identifier, base_url):
        self.outbox.call(self.send, identifier, base_url)

    def wait(self, timeout=30):
        """Until every queued request is handled and its email sent or given up (tests, and a clean shutdown)."""
        return self.outbox.wait(timeout)

    def send(self, identifier, base_url):
        for account in self.accounts.for_reset_request(identifier):
            if base_url is None:
                log.warning("Account %s asked for a password reset: no PUBLIC_URL (or TRUSTED_HOSTS) configured, so "
                            "no link was sent (a link built from the request's Host header could point anywhere)",
                            account.name)
                return
            token = self.accounts.new_reset(account.name)
            notify.send_password_reset(self.config, account.name, account.email, reset_link(base_url, token),
                                       int(RESET_LIFETIME.total_seconds() // 60), outbox=self.outbox)


def reset_link(base_url, token):
    return f"{base_url.rstrip('/')}{RESET_PATH}/{token}"


def trusted_base_url():
    """The site's address for links in emails: PUBLIC_URL, or the request's host when Flask checks it against
    TRUSTED_HOSTS; else None. Never an unchecked Host header: an attacker could have the victim's reset link point
    at their own server."""
    if current_app.config.get("PUBLIC_URL"):
        return current_app.config["PUBLIC_URL"]
    if current_app.config.get("TRUSTED_HOSTS"):
        return request.host_url
    return None


def reset_name_key():
    return f"reset|{request.form.get('identifier', '').strip().casefold()}"


@bp.route(RESET_PATH, methods=["GET", "POST"])
@limiter.limit(RESET_REQUESTS_PER_ADDRESS, methods=["POST"],
               error_message="Too many password reset requests from here. Wait an hour and try again.")
@limiter.limit(RESET_REQUESTS_PER_NAME, key_func=reset_name_key, methods=["POST"],
               error_message="Too many password reset requests for this name. Wait an hour and try again.")
def forgot_password():
    """Ask for a reset link. Every POST gets the same redirect, whatever was entered (no account enumeration)."""
    if request.method == "POST":
        current_app.extensions["reset_mailer"].submit(request.form.get("identifier", ""), trusted_base_url())
        return redirect(url_for("auth.reset_requested"), code=303)
    return render_template("password_reset_request.html")


@bp.route(f"{RESET_PATH}/sent")
def reset_requested():
    return render_template("password_reset_request.html", sent=True)


@bp.route(f"{RESET_PATH}/<token>", methods=["GET", "POST"])
@deployment.exempt  # the link is the authority, not the cookie; its no-referrer page posts with Origin: null
def reset_password(token):
    """Choose a new password from an emailed link. Opening the link (a mail scanner may) does not use it up."""
    accounts = get_accounts()
    try:
        account = accounts.check_reset(token)
        if request.method == "GET":
            return private_page(render_template("password_reset.html", account=account, error=None))
        try:
            accounts.reset_password(token, confirmed_password())
        except ValidationError as error:
            return private_page(render_template("password_reset.html", account=account, error=error.message),
                                error.status)
    except MapperError as error:
        if error.code not in ("reset_link_invalid", "reset_link_expired", "reset_link_used"):
            raise
        return private_page(render_template("password_reset.html", account=None, invalid=error.code),
                            error.status)
    logout_user()  # whoever was signed in on this browser, the next sign-in is with the new password
    flash(_("Your password has been changed and every session of %(name)s has been signed out. Sign in with the "
            "new password.", name=account.name))
    return redirect(url_for("auth.login"), code=303)


def confirmed_password():
    """The new password from a form, checked against the rules of ``mapper users add`` (said in the reader's
    language; :func:`mapper.accounts.check_password` checks the same again) and against its confirmation."""
    password, confirmation = request.form.get("password", ""), request.form.get("confirm", "")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(_("The new password must be at least %(count)d characters.", count=MIN_PASSWORD),
                              field="password")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(_("The new password must be at most %(count)d characters.", count=MAX_PASSWORD),
                              field="password")
    if password != confirmation:
        raise ValidationError(_("The two new passwords are not the same."), field="confirm")
    return password


def private_page(body, status=200, referrer="no-referrer"):
    """A private page: never cached, its URL (a reset link's holds a secret) never sent on as a Referer
    (``referrer="same-origin"``: not to another site, for a page whose forms need a real Origin; see
    :mod:`mapper.web.deployment`)."""
    response = make_response(body, status)
    response.headers["Referrer-Policy"] = referrer
    response.headers["Cache-Control"] = "no-store"
    return response


# -- your account --------------------------------------------------------------------------------------------------


def signed_in_account(form=False):
    """The account of this browser's session (a page for people: bearer tokens do not manage accounts). With
    ``form``, the posted form's CSRF token is checked next: a stranger hears 401 before anything about the form."""
    if request.headers.get("Authorization") or not current_user.is_authenticated:
        raise NotSignedIn(_("Sign in to see your account."))
    if form:
        current_app.extensions["csrf"].protect()
    return current_user


def work_links(account):
    """``[(zone, [(url, label), ...]), ...]``: the pages the account works from in each of its zones. Who may open
    each page is the roles its own blueprint checks, so this list cannot offer a page that answers 403."""
    from mapper.accounts import ROLES
    from mapper.web.audits import WALKERS
    from mapper.web.community_payback import READ_ROLES
    from mapper.web.context import get_zones

    pages = (("repairs.repairs_page", _("Lighting repairs"), STAFF_ROLES),
             ("moderation.moderation_page", _("Moderation"), STAFF_ROLES),
             ("community_payback.planning_page", _("Community Payback planning"), READ_ROLES),
             ("audits.upload_page", _("Upload an audit walk"), WALKERS),
             ("analysts.police_upload", _("Upload police data"), STAFF_ROLES),
             ("analysts.hotspots_page", _("Hotspots"), ROLES),
             ("progress.progress_page", _("Progress"), ROLES))
    mine = [(endpoint, label) for endpoint, label, roles in pages if account.role in roles]
    return [(zone, [(url_for(endpoint, zone_id=zone.id), label) for endpoint, label in mine])
            for zone in get_zones() if account.can_see(zone.id)]


def account_page(account, error=None, status=200):
    account = get_accounts().get(account.name) or account
    return private_page(render_template("account.html", account=account, work=work_links(account), error=error),
                        status, referrer="same-origin")  # its forms are cookie-authorised: Origin is checked


def account_key():
    return f"account|{current_user.name if current_user.is_authenticated else get_remote_address()}"


@bp.route("/account")
def account():
    return account_page(signed_in_account())


@bp.route("/account/password", methods=["POST"])
@limiter.limit(FAILED_SIGN_INS, key_func=account_key, deduct_when=lambda response: response.status_code == 403,
               error_message="Too many wrong passwords. Wait a minute and try again.")
def change_password():
    """Change the password (the current one is needed); the other sessions end, this one goes on."""
    account = signed_in_account(form=True)
    if get_accounts().authenticate(account.name, request.form.get("current_password", "")) is None:
        return account_page(account, _("Your current password is not right."), 403)
    try:
        updated = get_accounts().set_password(account.name, confirmed_password())
    except ValidationError as error:
        return account_page(account, error.message, error.status)
    login_user(get_accounts().start_session(updated.name))  # every sign-in ended: this browser gets a new one
    flash(_("Your password has been changed. Your other sessions have been signed out."))
    return redirect(url_for("auth.account"), code=303)


@bp.route("/account/sessions/end-others", methods=["POST"])
def end_other_sessions():
    account = signed_in_account(form=True)
    login_user(get_accounts().end_sessions(account.name, keep=account.sign_in_id))  # this one goes on, re-keyed
    flash(_("Your other sessions have been signed out."))
    return redirect(url_for("auth.account"), code=303)


@bp.route("/account/tokens/<token_id>/revoke", methods=["POST"])
def revoke_token(token_id):
    """Revoke one of your API tokens: the next request that sends it gets a 401."""
    get_accounts().revoke_token(signed_in_account(form=True).name, token_id)
    flash(_("The API token %(id)s has been revoked.", id=token_id))
    return redirect(url_for("auth.account"), code=303)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":  # a link cannot sign anyone out (CSRF): the page's button posts the form
        return render_template("login.html", form=LoginForm(), error=None, signing_out=True)
    if current_user.is_authenticated:  # a bearer token's account has no sign-in to end
        get_accounts().end_session(current_user.sign_in_id)  # on the server too: a copy of the cookie is nobody now
    logout_user()
    return redirect(url_for("pages.index"), code=303)
