"""Residents' emails, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1 and read back as they arrived."""

import logging
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from mapper import config as configuration
from mapper import create_app, lifecycle, notify
from mapper.accounts import Accounts
from tests.helpers import light
from tests.smtp import Inbox, free_port, inbox  # noqa: F401  (inbox: a fixture)

ZONE = "bell-foundry"
PASSWORD = "correct horse battery"


def make_app(data_dir, **settings):
    return create_app({"DATA_DIR": data_dir, "TESTING": True, "SMTP_STARTTLS": False,
                       "SMTP_FROM": "People Zones <no-reply@people-zones.example>", **settings})


@pytest.fixture
def mail_app(data_dir, inbox):
    return make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox[1])


@pytest.fixture
def token(data_dir):
    accounts = Accounts(data_dir)
    accounts.add("alice", "officer", [ZONE], PASSWORD)
    return accounts.new_token("alice")


def new_report(client, **properties):
    created = client.post(f"/api/zones/{ZONE}/lights", json=light(ZONE, description="Out since Friday",
                                                                   **properties))
    assert created.status_code == 201
    return created.get_json()


def patch(client, report, body, token):
    return client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json=body,
                        headers={"Authorization": f"Bearer {token}"})


def delivered(app, handler):
    """What the server was given once the app's outbox has sent (or given up) everything queued."""
    assert app.extensions["outbox"].wait(timeout=30)
    return handler.envelopes


def test_a_status_change_emails_the_resident_the_label_public_note_and_link(mail_app, inbox, token):
    handler, _ = inbox
    client = mail_app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    ref = report["properties"]["ref"]
    response = patch(client, report, {"status": "action-scheduled", "public_note": "A crew is booked for Tuesday.",
                                       "internal_note": "Cable fault, call DNO ref 8841"}, token)
    assert response.status_code == 200
    [envelope] = delivered(mail_app, handler)
    assert envelope.rcpt_tos == ["resident@example.org"]
    assert envelope.mail_from == "no-reply@people-zones.example"
    [message] = handler.messages
    assert message["To"] == "resident@example.org"
    assert message["Subject"] == f"Your report {ref}: Repair scheduled"
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "Repair scheduled" in body and "A crew is booked for Tuesday." in body
    assert f"http://localhost/r/{ref}" in body
    raw = handler.envelopes[0].content.decode()
    for secret in ("Cable fault", "8841", "alice"):
        assert secret not in raw
    # The link works: it is the resident's tracking page.
    assert client.get(f"/r/{ref}").status_code == 200


def test_public_url_makes_the_link_and_reopen_sends_one_too(data_dir, inbox, token):
    handler, port = inbox
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=port, PUBLIC_URL="https://zones.example.gov.uk/")
    client = app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    ref = report["properties"]["ref"]
    assert patch(client, report, {"status": "fixed", "public_note": "New lamp fitted."}, token).status_code == 200
    with app.app_context():  # the resident's reopen, outside any request: the link comes from PUBLIC_URL
        store = app.extensions["mapper"].store
        layer = app.extensions["mapper"].schema.layer("lights")
        stages = lifecycle.lifecycle_for(app.config["LAYERS_FILE"], layer)
        lifecycle.reopen(store, layer, stages, ZONE, report["id"], "Out again <b>tonight</b>")
    delivered(app, handler)
    fixed, reopened = handler.messages
    assert fixed["Subject"] == f"Your report {ref}: Fixed"
    assert f"https://zones.example.gov.uk/r/{ref}" in fixed.get_content().splitlines()
    assert reopened["Subject"] == f"Your report {ref}: Reported"
    body = reopened.get_content()
    assert "Reopened by a resident: the fault is back." in body
    assert "Out again" not in body  # the resident's reason is an internal note
    assert f"https://zones.example.gov.uk/r/{ref}" in body


def test_no_email_without_a_contact_email_or_without_a_new_status(mail_app, inbox, token):
    handler, _ = inbox
    client = mail_app.test_client()
    anonymous = new_report(client)
    assert patch(client, anonymous, {"status": "confirmed"}, token).status_code == 200
    assert delivered(mail_app, handler) == []
    report = new_report(client, contact_email="resident@example.org")
    assert patch(client, report, {"priority": "short"}, token).status_code == 200
    assert patch(client, report, {"status": "open", "public_note": "Still looking."}, token).status_code == 200
    assert delivered(mail_app, handler) == []
    assert patch(client, report, {"status": "confirmed"}, token).status_code == 200
    assert len(delivered(mail_app, handler)) == 1


def test_smtp_down_still_changes_the_status_and_is_retried_then_given_up(data_dir, token, caplog):
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)  # nobody listens there
    app.extensions["outbox"].backoff = 0.05
    client = app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    ref = report["properties"]["ref"]
    with caplog.at_level(logging.DEBUG, logger="mapper.notify"):
        response = patch(client, report, {"status": "fixed"}, token)
        assert app.extensions["outbox"].wait(timeout=30)
    assert response.status_code == 200 and response.get_json()["properties"]["status"] == "fixed"
    assert client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]["status"] == "fixed"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(warnings) == 2 and "attempt 1 of 3" in warnings[0] and "attempt 2 of 3" in warnings[1]
    assert all(ref in message and "ConnectionRefusedError" in message for message in warnings)
    [gave_up] = errors
    assert ref in gave_up and "gave up after 3 attempts" in gave_up
    assert not any("resident@example.org" in r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)


class SilentServer:
    """Takes connections and never greets: an SMTP server that hangs, so a client waits its whole timeout."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        try:
            while True:
                self.connections.append(self.listener.accept()[0])
        except OSError:  # closed by stop()
            pass

    def stop(self):
        """Hang up on everyone and stop listening: a waiting client fails at once instead of at its timeout."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone would leave it blocked
        except OSError:  # stopped already
            pass
        self.listener.close()
        self.thread.join()
        for connection in self.connections:
            connection.close()


def test_a_bulk_change_answers_without_waiting_for_the_mail_server(data_dir, token, caplog):
    server = SilentServer()
    timeout = 3
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=timeout)
    outbox = app.extensions["outbox"]
    outbox.attempts = 1
    client = app.test_client()
    reports = [new_report(client, contact_email=f"resident{n}@example.org") for n in range(4)]
    try:
        with caplog.at_level(logging.INFO, logger="mapper.notify"):
            started = time.monotonic()
            response = client.post(f"/zones/{ZONE}/repairs/change", headers={"Authorization": f"Bearer {token}"},
                                   data={"id": [r["id"] for r in reports], "status": "confirmed"})
            answered = time.monotonic() - started
            # Sending even one of the four would have taken the whole SMTP timeout: the page did not wait for it.
            assert response.status_code == 200 and "4 reports changed" in response.get_data(as_text=True)
            assert answered < timeout and outbox.pending == 4 and not outbox.wait(timeout=0)
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
            server.stop()  # the hanging server goes away: the outbox's attempt fails now, not in three seconds
            assert outbox.wait(timeout=30)
    finally:
        server.stop()
    for report in reports:
        assert client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]["status"] == (
            "confirmed")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sorted(m.split("report ")[1].split(":")[0] for m in errors) == sorted(
        r["properties"]["ref"] for r in reports)
    assert not any("@example.org" in r.getMessage() for r in caplog.records)


class Fussy(Inbox):
    """An inbox that counts connections, answers the first ``busy`` messages "451 try later" and refuses every
    recipient in ``unknown`` with a 550 that quotes the address (as real servers do)."""

    def __init__(self, busy=0, unknown=()):
        super().__init__()
        self.busy, self.unknown, self.connections = busy, set(unknown), 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def fussy():
    """Start a :class:`Fussy` server: ``fussy(busy=..., unknown=...)`` -> ``(handler, port)``."""
    controllers = []

    def start(**options):
        handler = Fussy(**options)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return handler, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def test_a_temporary_refusal_is_tried_again_and_delivered_unchanged(data_dir, token, fussy, caplog):
    handler, port = fussy(busy=1)
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    app.extensions["outbox"].backoff = 0.05
    client = app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    with caplog.at_level(logging.INFO, logger="mapper.notify"):
        assert patch(client, report, {"status": "fixed", "public_note": "New lamp fitted."}, token).status_code == 200
        [envelope] = delivered(app, handler)
    assert envelope.rcpt_tos == ["resident@example.org"]
    [message] = handler.messages
    assert message["Subject"] == f"Your report {report['properties']['ref']}: Fixed"
    assert "New lamp fitted." in message.get_content()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "SMTPDataError 451" in warning and "attempt 1 of 3" in warning
    assert any("the resident was emailed" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_permanent_refusal_is_not_tried_again_and_the_log_never_quotes_the_address(data_dir, token, fussy,
                                                                                       caplog):
    handler, port = fussy(unknown={"gone@example.org"})
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    client = app.test_client()
    gone = new_report(client, contact_email="gone@example.org")
    here = new_report(client, contact_email="resident@example.org")
    with caplog.at_level(logging.INFO, logger="mapper.notify"):
        response = client.post(f"/zones/{ZONE}/repairs/change", headers={"Authorization": f"Bearer {token}"},
                               data={"id": [gone["id"], here["id"]], "status": "confirmed"})
        assert response.status_code == 200
        [envelope] = delivered(app, handler)
    assert envelope.rcpt_tos == ["resident@example.org"]
    [gave_up] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert gone["properties"]["ref"] in gave_up and "SMTPRecipientsRefused 550" in gave_up
    assert "gave up after 1 attempt" in gave_up
    assert not any("@example.org" in r.getMessage() for r in caplog.records)


def test_what_is_queued_together_goes_over_one_connection(fussy):
    handler, port = fussy()
    outbox = notify.Outbox({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": False})
    messages = [notify.password_reset_message({}, f"user{n}", f"user{n}@example.org", f"https://x.example/{n}")
                for n in range(3)]

    def queue_three():  # on the worker itself, so all three are waiting when it next looks
        for n, message in enumerate(messages):
            outbox.put(message, about=f"account user{n}", sent=f"user{n} emailed")

    outbox.call(queue_three)
    assert outbox.wait(timeout=30)
    assert [e.rcpt_tos for e in handler.envelopes] == [[f"user{n}@example.org"] for n in range(3)]
    assert handler.connections == 1


def test_no_smtp_configured_sends_nothing_and_says_so(data_dir, token, caplog):
    client = make_app(data_dir).test_client()
    report = new_report(client, contact_email="resident@example.org")
    with caplog.at_level(logging.INFO, logger="mapper.notify"):
        assert patch(client, report, {"status": "fixed"}, token).status_code == 200
    assert any("no SMTP_HOST" in record.getMessage() for record in caplog.records)


def test_user_text_stays_in_the_plain_text_body(mail_app, inbox, token):
    handler, _ = inbox
    client = mail_app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    note = "Bcc: victim@example.net <script>alert(1)</script>"
    assert patch(client, report, {"status": "confirmed", "public_note": note}, token).status_code == 200
    delivered(mail_app, handler)
    [message] = handler.messages
    assert handler.envelopes[0].rcpt_tos == ["resident@example.org"]
    assert message["Bcc"] is None and "<script>" in message.get_content()
    assert message.get_content_type() == "text/plain"


class FakeLayer:
    name = "lights"

    @staticmethod
    def status_label(status):
        return status


class FakeStore:
    def __init__(self, address):
        self.address = address

    def get_private(self, zone, layer, feature_id):
        return {"contact_email": self.address}


@pytest.mark.parametrize("address", ["a@example.org\r\nBcc: b@example.net", "a b@example.org", "a@example.org\n",
                                     "<a@example.org>", "a@localhost"])
def test_an_address_that_could_inject_headers_is_never_used(address):
    feature = {"id": "x", "properties": {"id": "x", "ref": "BF-ABCDE",
                                         "history": [{"from": "open", "to": "fixed", "public_note": None}]}}
    config = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port()}
    assert notify.send_status_email(FakeStore(address), FakeLayer(), ZONE, feature, config=config) is None


def test_smtp_settings_come_from_the_environment():
    config = configuration.load(environ={"MAPPER_SMTP_HOST": "mail.example.gov.uk", "MAPPER_SMTP_PORT": "2525",
                                         "MAPPER_SMTP_USER": "mapper", "MAPPER_SMTP_PASSWORD": "secret",
                                         "MAPPER_SMTP_STARTTLS": "false", "MAPPER_SMTP_FROM": "a@example.gov.uk",
                                         "MAPPER_PUBLIC_URL": "https://zones.example.gov.uk"})
    assert (config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_USER"], config["SMTP_PASSWORD"],
            config["SMTP_STARTTLS"], config["SMTP_FROM"], config["PUBLIC_URL"]) == (
        "mail.example.gov.uk", 2525, "mapper", "secret", False, "a@example.gov.uk", "https://zones.example.gov.uk")
    assert configuration.load(environ={})["SMTP_HOST"] is None
