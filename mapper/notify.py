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
"""

import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

log = logging.getLogger("mapper.notify")

# Stricter than the intake validator: printable ASCII without spaces, one @, a dot in the domain.
ADDRESS = re.compile(r"^[!#-'*+\-./0-9=?A-Z^_`a-z{|}~]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")


def status_changed(store, layer, zone_id, feature):
    """Email the resident about ``feature``'s new status, if they gave an email; never raises."""
    ref = (feature.get("properties") or {}).get("ref") or feature.get("id")
    try:
        send_status_email(store, layer, zone_id, feature)
    except Exception:  # noqa: BLE001 - the change is stored; a mail problem must not undo the officer's request
        log.exception("Could not email the resident about report %s", ref)


def send_status_email(store, layer, zone_id, feature, config=None, base_url=None):
    """Send the email; return the EmailMessage sent, or None when there is nothing to send."""
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
    send(config, message)
    log.info("Report %s is now %r: the resident was emailed", ref, last.get("to"))
    return message


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


def send_password_reset(config, account_name, address, url, lifetime_minutes=60):
    """Email a reset link; return the EmailMessage sent, or None (no SMTP_HOST, or an address we will not use).

    Raises what ``smtplib`` raises: the caller decides whether a failure is logged or shown.
    """
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        log.warning("Account %s: the email is not one we can send to; no reset link sent", account_name)
        return None
    if not config.get("SMTP_HOST"):
        log.warning("Account %s asked for a password reset: no SMTP_HOST configured, so no email was sent",
                    account_name)
        return None
    message = password_reset_message(config, account_name, address, url, lifetime_minutes)
    send(config, message)
    log.info("Account %s: a password reset link was emailed", account_name)
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
    """Deliver ``message`` through the configured SMTP server (STARTTLS and login when configured)."""
    host, port = config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25)
    with smtplib.SMTP(host, port, timeout=float(config.get("SMTP_TIMEOUT") or 10)) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)
