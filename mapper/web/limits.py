"""Rate limits: the app's one Flask-Limiter, its storage from configuration, and every budget the public has.

Counts live in ``RATELIMIT_STORAGE_URI`` (``MAPPER_RATELIMIT_STORAGE``; ``memory://`` by default, one process), so
several workers or hosts given the same ``redis://`` URL share one count per address and per zone. Each budget is a
configuration value (``RATELIMIT_*`` in :mod:`mapper.config`, where the numbers are justified); the decorators below
read it at request time, so tests and deployments change numbers without code.

- public writes (API POSTs, the report form, reopening) per address, and per zone for everything that is stored;
- "me too" per address, and per address and report;
- photos per address (each costs a decode);
- analysis per address for anonymous callers (signed-in staff are exempt).

A refusal is a 429 with ``Retry-After``: JSON ``{"error": {"code": "rate_limited", ...}}`` for the API and the
page's scripts, and a page in the resident's language for a form.
"""

import functools
import math
import threading
import time

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage

from mapper.analysis.cache import Busy
from mapper.errors import MapperError


class AppLimiter(Limiter):
    """Flask-Limiter with each app's counts in that app's own storage.

    Flask-Limiter keeps the storage on the extension object, and the limits below are declared once on one object,
    so a second app in the same process (the test suite; two "hosts" in one test) would count in whichever storage
    was set up last. Here each app keeps the storage made for it by ``init_app`` in ``app.extensions``."""

    def init_app(self, app):
        # Flask-Limiter takes a missing RATELIMIT_ENABLED from the previous app: each app says its own.
        app.config.setdefault("RATELIMIT_ENABLED", True)
        super().init_app(app)
        if type(self._storage) is MemoryStorage:
            self._storage = LockedMemoryStorage()
            self._limiter = type(self._limiter)(self._storage)
        if app.config["RATELIMIT_ENABLED"]:
            app.extensions["rate_limit_storage"] = (self._storage, self._limiter)

    @property
    def enabled(self):
        """RATELIMIT_ENABLED of the app at hand (one extension object serves every app of the process)."""
        from flask import has_app_context

        if has_app_context():
            return bool(current_app.config.get("RATELIMIT_ENABLED", True))
        return self._enabled

    @enabled.setter
    def enabled(self, value):
        self._enabled = value

    def _for_app(self, position, fallback):
        from flask import has_app_context

        if has_app_context() and "rate_limit_storage" in current_app.extensions:
            return current_app.extensions["rate_limit_storage"][position]
        return fallback

    @property
    def storage(self):
        return self._for_app(0, self._storage)

    @property
    def limiter(self):
        return self._for_app(1, self._limiter)


def _serialised(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.serial:
            return method(self, *args, **kwargs)
    return locked


class LockedMemoryStorage(MemoryStorage):
    """``memory://`` with every operation, and its expiry timer, under one lock.

    limits 5.8.0 (the newest release) races between server threads: two requests can both find the expiry timer
    dead and start it twice (``RuntimeError: threads can only be started once``, a 500 seen once in 14,587 requests
    of benchmarks/load.py), and the timer iterates the counters while a request pops them (KeyError in the timer).
    A count is a few dict operations, so one lock per storage costs nothing next to a request."""

    def __init__(self, *args, **kwargs):
        self.serial = threading.RLock()  # before MemoryStorage starts its timer, which takes it
        super().__init__(*args, **kwargs)


# The public operations, and MemoryStorage's private timer methods by their mangled names (its own calls reach
# these); a later limits that renames them still works, only unserialised where it changed.
for _name in ("incr", "decr", "get", "clear", "reset", "get_expiry", "acquire_entry", "get_moving_window",
              "acquire_sliding_window_entry", "get_sliding_window", "clear_sliding_window",
              "_MemoryStorage__expire_events", "_MemoryStorage__schedule_expiry"):
    if hasattr(MemoryStorage, _name):
        setattr(LockedMemoryStorage, _name, _serialised(getattr(MemoryStorage, _name)))


limiter = AppLimiter(key_func=get_remote_address, strategy="fixed-window")


class RateLimited(MapperError):
    status = 429
    code = "rate_limited"

    def __init__(self, message, retry_after, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def budget(name):
    """The limit string configured as ``name`` (read per request: configuration, not code)."""
    return lambda: current_app.config[name]


def is_staff():
    """A signed-in account (session or bearer token): accountable, and exempt from the anonymous limits."""
    from mapper.web.auth import current_officer

    return current_officer() is not None


def address_and_report():
    return f"{get_remote_address()}|{(request.view_args or {}).get('feature_id', '')}"


def has_photo():
    photo = request.files.get("photo")
    return bool(photo and photo.filename)


# -- the budgets, as decorators for the views ----------------------------------------------------------------------

public_posts = limiter.shared_limit(
    budget("RATELIMIT_PUBLIC_POSTS"), scope="public-posts", methods=["POST"],
    error_message=lambda: _("Too many reports have been sent from your connection in a short time, so this one has "
                            "not been sent."))
confirmations = limiter.shared_limit(
    budget("RATELIMIT_CONFIRMATIONS"), scope="confirmations",
    error_message=lambda: _("Too many \u201cme too\u201ds have been sent from your connection in a short time."))
confirmations_per_report = limiter.limit(
    budget("RATELIMIT_CONFIRMATIONS_PER_REPORT"), key_func=address_and_report,
    error_message=lambda: _("This report has already been confirmed from your connection as often as we count."))
photos = limiter.shared_limit(
    budget("RATELIMIT_PHOTOS"), scope="photos", methods=["POST"], exempt_when=lambda: not has_photo(),
    error_message=lambda: _("Too many photos have been sent from your connection in a short time, so this report "
                            "has not been sent. Send it without the photo, or later."))
analysis = limiter.shared_limit(
    budget("RATELIMIT_ANALYSIS"), scope="analysis", exempt_when=is_staff,
    error_message=lambda: _("Too many analysis requests from your connection in a short time."))


def charge_zone(zone_id):
    """Count one submission against its zone's budget (``RATELIMIT_ZONE_POSTS``), or raise :class:`RateLimited`.

    Given to :func:`mapper.intake.submit` as ``admit``, so it is asked once a submission is valid and placed, just
    before it is stored: the zone comes from the point for ``/api/reports`` and the form, so no decorator could know
    it, and refused submissions do not use up the zone's budget for its residents."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    identifiers = [part for part in (prefix, "zone-posts", zone_id) if part]
    for item in parse_many(current_app.config["RATELIMIT_ZONE_POSTS"]):
        if not strategy.hit(item, *identifiers):
            reset = strategy.get_window_stats(item, *identifiers).reset_time
            raise RateLimited(_("Too many reports have been sent for this area in a short time, so this one has not "
                                "been sent."), retry_after=seconds_until(reset), field="zone")


def seconds_until(moment):
    return max(1, math.ceil(moment - time.time()))


def try_again(seconds):
    if seconds < 120:
        wait = ngettext("%(num)d second", "%(num)d seconds", seconds)
    else:
        minutes = math.ceil(seconds / 60)
        wait = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return _("Try again in %(wait)s.", wait=wait)


def refusal(message, retry_after):
    """The 429 (or 503) answer through the app's one error answer (``mapper.web.errors.answer``: JSON for the API
    and scripts, a page for a person, ``Retry-After`` from the error), saying when to try again."""
    from mapper.web.errors import answer

    error = message if isinstance(message, MapperError) else RateLimited(message, retry_after)
    if "try again" not in error.message.lower():
        error.message = f"{error.message} {try_again(retry_after)}"
    return answer(error)


def init_app(app):
    """The limiter on ``app`` with the configured storage; 429 and 503 answers with Retry-After."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many(error):
        current = limiter.current_limit
        retry_after = seconds_until(current.reset_at) if current is not None else 60
        return refusal(error.description, retry_after)

    @app.errorhandler(RateLimited)
    def zone_full(error):
        return refusal(error, error.retry_after)

    @app.errorhandler(Busy)
    def busy(error):
        error.message = _("Many analyses are running just now. Try again in a few seconds.")
        return refusal(error, error.retry_after)
