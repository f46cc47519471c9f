"""Emails to residents: when a report they gave an email address for changes status, tell them. And to officers:
a password-reset link when they ask for one (:func:`send_password_reset`).

:func:`mapper.lifecycle.change` calls :func:`status_changed` once the change is durable (``Store.update`` has
returned). The email is short plain text (no HTML part): the new status label, the council's public note and the
tracking link. It never carries the officers' internal note or who made the change: those live in the private sidecar
and are not read here. Headers are ours: the subject is built from the report's reference and the layer's configured
status label, and the resident's address is only used after a strict check (no whitespace or control characters, so
nothing can be injected into the headers).

SMTP settings come from configuration (``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``,
``SMTP_STARTTLS``, ``SMTP_FROM``, ``SMTP_TIMEOUT``; ``MAPPER_SMTP_*`` environment variables override them). With no
``SMTP_HOST`` nothing is sent and that is logged. The tracking link starts with ``PUBLIC_URL`` when it is set, else the
host URL of the request that made the change. Sending never fails the change: an unreachable or refusing server is
logged and the officer's request still succeeds.

Every email goes out through the app's :class:`Outbox` (``app.extensions["outbox"]``): the request builds the message
(so its link and content are those of the moment of the change) and queues it; one background thread delivers
what is queued, one SMTP connection per batch, so a bulk change of 500 reports answers at once instead of waiting on
the mail server 500 times (up to ``SMTP_TIMEOUT`` each when it is down). A failed delivery is logged with the report's
reference (never the address) and tried again a few times, further apart each time; a permanent refusal (5xx) is not.

The trade-off: the outbox is in memory. An email still queued when the process is killed (``kill -9``, a crash, a
power cut) is lost; the status change itself is durable, and the resident's tracking page shows it. ``mapper serve``
waits for the outbox when it is stopped (Ctrl+C or SIGTERM), and tests call :meth:`Outbox.wait`. A durable queue (a
spool directory, Celery with a broker) would survive a kill at the price of another moving part to run; a council's
status emails are a courtesy next to the tracking page, so memory is enough for now.
"""

import heapq
import itertools
import logging
import queue
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

log = logging.getLogger("mapper.notify")

# Stricter than the intake validator: printable ASCII without spaces, one @, a dot in the domain.
ADDRESS = re.compile(r"^[!#-'*+\-./0-9=?A-Z^_`a-z{|}~]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")


def status_changed(store, layer, zone_id, feature):
    """Queue the email to the resident about ``feature``'s new status, if they gave an email; never raises.

    Inside the app it goes to the app's :class:`Outbox` and this returns at once; outside it (a script with no app
    context) it is sent before this returns, as nobody else would send it.
    """
    ref = (feature.get("properties") or {}).get("ref") or feature.get("id")
    try:
        send_status_email(store, layer, zone_id, feature, outbox=current_outbox())
    except Exception:  # noqa: BLE001 - the change is stored; a mail problem must not undo the officer's request
        log.exception("Could not email the resident about report %s", ref)


def send_status_email(store, layer, zone_id, feature, config=None, base_url=None, outbox=None):
    """Build the email and send it (or queue it in ``outbox``); return the EmailMessage, or None when there is
    nothing to send."""
    properties = feature.get("properties") or {}
    history = properties.get("history") or []
    last = history[-1] if history and isinstance(history[-1], dict) else None
    if last is None or last.get("from") == last.get("to"):
        return None  # a priority or a note only: the status did not change
    ref = properties.get("ref") or feature.get("id")
    address = (store.get_private(zone_id, layer.name, properties.get("id", feature.get("id"))) or {}).get(
        "contact_email")
    if not address:
        return None
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        log.warning("Report %s: the contact email is not one we can send to; no email sent", ref)
        return None
    config = settings() if config is None else config
    if not config.get("SMTP_HOST"):
        log.info("Report %s is now %r: no SMTP_HOST configured, so no email was sent", ref, last.get("to"))
        return None
    message = status_message(config, layer, ref, last, tracking_url(config, ref, base_url), address)
    return deliver(config, message, outbox, about=f"the resident about report {ref}",
                   sent=f"Report {ref} is now {last.get('to')!r}: the resident was emailed")


def status_message(config, layer, ref, record, url, address):
    """The plain-text email for one history ``record`` (``{"to", "public_note", ...}``)."""
    label = layer.status_label(record.get("to"))
    lines = ["Hello,", "", f"Your report {ref} has a new status: {label}.", ""]
    if record.get("public_note"):
        lines += ["A note from the council:", str(record["public_note"]), ""]
    lines += ["Follow your report here:", url, "",
              "This is an automatic message from the People Zones map. Please do not reply to it."]
    message = EmailMessage()
    message["Subject"] = one_line(f"Your report {ref}: {label}")
    message["From"] = config.get("SMTP_FROM") or "people-zones@localhost"
    message["To"] = address
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(message["From"])[1].rpartition("@")[2] or "localhost")
    message.set_content("\n".join(lines) + "\n")  # text/plain; utf-8, quoted-printable when it needs to be
    return message


def password_reset_message(config, account_name, address, url, lifetime_minutes=60):
    """The plain-text email carrying a password-reset link for ``account_name`` (the link is the only secret)."""
    lines = ["Hello,", "",
             f"Someone asked to reset the password of the People Zones map account {account_name}.", "",
             f"To choose a new password, open this link within {lifetime_minutes} minutes. It works once:", url, "",
             "If you did not ask for this, ignore this email: your password has not changed, and nobody can change "
             "it without this link.", "",
             "This is an automatic message from the People Zones map. Please do not reply to it."]
    message = EmailMessage()
    message["Subject"] = one_line(f"Reset your People Zones password ({account_name})")
    message["From"] = config.get("SMTP_FROM") or "people-zones@localhost"
    message["To"] = address
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(message["From"])[1].rpartition("@")[2] or "localhost")
    message.set_content("\n".join(lines) + "\n")
    return message


def send_password_reset(config, account_name, address, url, lifetime_minutes=60, outbox=None):
    """Email a reset link (or queue it in ``outbox``); return the EmailMessage, or None (no SMTP_HOST, or an address
    we will not use).

    Without an outbox, raises what ``smtplib`` raises: the caller decides whether a failure is logged or shown.
    """
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        log.warning("Account %s: the email is not one we can send to; no reset link sent", account_name)
        return None
    if not config.get("SMTP_HOST"):
        log.warning("Account %s asked for a password reset: no SMTP_HOST configured, so no email was sent",
                    account_name)
        return None
    message = password_reset_message(config, account_name, address, url, lifetime_minutes)
    return deliver(config, message, outbox, about=f"the password reset link of account {account_name}",
                   sent=f"Account {account_name}: a password reset link was emailed")


def deliver(config, message, outbox, *, about, sent):
    """Queue ``message`` on the app's outbox, or (outside an app) send it now; ``about`` names it in failure logs
    and ``sent`` is logged once it is delivered. Returns the message."""
    if outbox is not None:
        outbox.put(message, about=about, sent=sent)
    else:
        send(config, message)
        log.info("%s", sent)
    return message


def one_line(text):
    return " ".join(str(text).split())


def tracking_url(config, ref, base_url=None):
    """The absolute tracking link: ``PUBLIC_URL``, else the request's host URL, else the path alone."""
    base = config.get("PUBLIC_URL") or base_url
    if not base:
        try:
            from flask import has_request_context, request

            base = request.host_url if has_request_context() else ""
        except ImportError:  # pragma: no cover - Flask is a dependency
            base = ""
    return f"{base.rstrip('/')}/r/{ref}"


def settings():
    """The running app's configuration, or (from a command) defaults with the environment applied."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config
    from mapper import config

    return config.load()


def send(config, message):
    """Deliver ``message`` now through the configured SMTP server (STARTTLS and login when configured)."""
    with connect(config) as smtp:
        smtp.send_message(message)


def connect(config):
    """An SMTP connection to the configured server, after STARTTLS and login when they are configured."""
    host, port = config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25)
    smtp = smtplib.SMTP(host, port, timeout=float(config.get("SMTP_TIMEOUT") or 10))
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


# -- the outbox ----------------------------------------------------------------------------------------------------


def outbox_for(app):
    """The app's :class:`Outbox`, made on first use (its thread starts with the first email)."""
    with _OUTBOXES_LOCK:
        outbox = app.extensions.get("outbox")
        if outbox is None:
            outbox = app.extensions["outbox"] = Outbox(app.config)
        return outbox


def current_outbox():
    """The running app's outbox, or None outside an app context."""
    from flask import current_app, has_app_context

    return outbox_for(current_app._get_current_object()) if has_app_context() else None


_OUTBOXES_LOCK = threading.Lock()


@dataclass(order=True)
class Letter:
    """One email in the outbox, with what the log may say about it (``about`` names no address)."""

    due: float
    number: int
    message: object = field(compare=False)
    about: str = field(compare=False)
    sent: str = field(compare=False)
    attempt: int = field(default=1, compare=False)


class Outbox:
    """The app's emails, delivered by one background thread so that no request waits on the mail server.

    Hand-written on ``queue``, ``threading`` and ``smtplib`` (standard library) rather than Celery or RQ: those need
    a broker (Redis, RabbitMQ) that this service does not otherwise run, for a few emails an hour; and the standard
    library is what a Flask extension such as Flask-Mail would wrap anyway, without a queue. What is queued is kept
    in memory only (see the module docstring).

    - :meth:`put` queues a built message; :meth:`call` runs a function on the worker (the password reset looks the
      account up there, so the request takes the same time whether or not the name exists).
    - The worker takes everything queued at once and sends it over one SMTP connection.
    - A failed message is tried again after ``backoff`` seconds, then twice that, up to ``attempts`` tries in all;
      a 5xx answer (the server will never take it) is final at once. Each failure is logged (WARNING while it will
      be tried again, ERROR when it is given up) with ``about``, the SMTP code or the error's kind, never the
      address or the server's text (which may quote it); the traceback is logged at DEBUG.
    - :meth:`wait` blocks until nothing is left to send or retry (tests, and a clean shutdown).
    """

    attempts = 3
    backoff = 5.0  # seconds before the second try; doubled before each next one
    batch = 100  # messages per connection, so that a long queue still reconnects now and then

    def __init__(self, config, name="mapper-outbox"):
        self.config, self.name = config, name
        self.queue = queue.Queue()
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.pending = 0  # queued, being sent, or waiting to be tried again
        self.thread = None

    def put(self, message, *, about, sent):
        """Queue ``message``; ``about`` and ``sent`` are what the log says about it (no address)."""
        self._enqueue(Letter(0.0, next(self.numbers), message, about, sent))

    def call(self, function, *args):
        """Run ``function(*args)`` on the worker thread; the messages it puts are sent before :meth:`wait` returns."""
        self._enqueue((function, args))

    def wait(self, timeout=30):
        """Block until every queued email is sent or given up; return False if ``timeout`` came first."""
        with self.idle:
            return self.idle.wait_for(lambda: self.pending == 0, timeout)

    def _enqueue(self, item):
        with self.lock:
            self.pending += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self.thread.start()
        self.queue.put(item)

    def _done(self, count=1):
        with self.idle:
            self.pending -= count
            self.idle.notify_all()

    def _run(self):
        retries = []  # a heap of Letters by when they are due
        while True:
            wait = max(0.0, retries[0].due - time.monotonic()) if retries else None
            letters = []
            try:
                item = self.queue.get(timeout=wait)
                while True:
                    if isinstance(item, Letter):
                        letters.append(item)
                    else:
                        self._run_call(*item)
                    if len(letters) >= self.batch:
                        break
                    item = self.queue.get_nowait()
            except queue.Empty:
                pass
            now = time.monotonic()
            while retries and retries[0].due <= now and len(letters) < self.batch:
                letters.append(heapq.heappop(retries))
            for letter in self._deliver(letters):
                heapq.heappush(retries, letter)

    def _run_call(self, function, args):
        try:
            function(*args)
        except Exception:  # noqa: BLE001 - a worker thread has nobody to answer
            log.exception("An email job failed")
        finally:
            self._done()

    def _deliver(self, letters):
        """Send ``letters`` over one connection; return those to try again later."""
        if not letters:
            return []
        later = []
        try:
            smtp = connect(self.config)
        except Exception as error:  # noqa: BLE001 - unreachable, refused, TLS or login: every letter waits
            for letter in letters:
                self._failed(letter, error, later)
            return later
        try:
            for index, letter in enumerate(letters):
                try:
                    smtp.send_message(letter.message)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
                    self._failed(letter, error, later)  # refused by the server; the connection still works
                except Exception as error:  # noqa: BLE001 - (smtplib's errors are OSErrors too, hence the order)
                    # The connection is gone: this letter failed; the rest were not tried and go out next round.
                    self._failed(letter, error, later)
                    later += letters[index + 1:]
                    break
                else:
                    log.info("%s", letter.sent)
                    self._done()
        finally:
            try:
                smtp.quit()
            except Exception:  # noqa: BLE001 - the letters are sent or accounted for; a rude goodbye changes nothing
                smtp.close()
        return later

    def _failed(self, letter, error, later):
        """Log ``error`` for ``letter``; add it to ``later`` with its next due time, or give it up."""
        reason = describe(error)
        log.debug("Email to %s failed", letter.about, exc_info=error)
        if letter.attempt >= self.attempts or permanent(error):
            log.error("Could not email %s: %s; gave up after %d attempt%s", letter.about, reason, letter.attempt,
                      "" if letter.attempt == 1 else "s")
            self._done()
            return
        delay = self.backoff * 2 ** (letter.attempt - 1)
        log.warning("Could not email %s (attempt %d of %d: %s); trying again in %g s", letter.about, letter.attempt,
                    self.attempts, reason, delay)
        letter.attempt += 1
        letter.due = time.monotonic() + delay
        later.append(letter)


def smtp_codes(error):
    """The SMTP reply codes an smtplib error carries (none for a network error)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return [code for code, _text in error.recipients.values()]
    return [error.smtp_code] if isinstance(error, smtplib.SMTPResponseException) else []


def permanent(error):
    """A 5xx answer: the server will never take this message, so trying again is pointless."""
    codes = smtp_codes(error)
    return bool(codes) and all(500 <= int(code) < 600 for code in codes)


def describe(error):
    """What the log may say about ``error``: its kind and SMTP code, not its text (it may quote the address)."""
    codes = smtp_codes(error)
    if codes:
        return f"{type(error).__name__} {', '.join(str(code) for code in codes)}"
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__
