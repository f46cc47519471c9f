"""Residents' emails, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1 and read back as they arrived."""

import logging

import pytest

from mapper import config as configuration
from mapper import create_app, lifecycle, notify
from mapper.accounts import Accounts
from tests.helpers import light
from tests.smtp import free_port, inbox  # noqa: F401  (inbox: a fixture)

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


def test_a_status_change_emails_the_resident_the_label_public_note_and_link(mail_app, inbox, token):
    handler, _ = inbox
    client = mail_app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    ref = report["properties"]["ref"]
    response = patch(client, report, {"status": "action-scheduled", "public_note": "A crew is booked for Tuesday.",
                                       "internal_note": "Cable fault, call DNO ref 8841"}, token)
    assert response.status_code == 200
    [envelope] = handler.envelopes
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
    assert handler.envelopes == []
    report = new_report(client, contact_email="resident@example.org")
    assert patch(client, report, {"priority": "short"}, token).status_code == 200
    assert patch(client, report, {"status": "open", "public_note": "Still looking."}, token).status_code == 200
    assert handler.envelopes == []
    assert patch(client, report, {"status": "confirmed"}, token).status_code == 200
    assert len(handler.envelopes) == 1


def test_smtp_down_still_changes_the_status(data_dir, token, caplog):
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    client = app.test_client()
    report = new_report(client, contact_email="resident@example.org")
    with caplog.at_level(logging.ERROR, logger="mapper.notify"):
        response = patch(client, report, {"status": "fixed"}, token)
    assert response.status_code == 200 and response.get_json()["properties"]["status"] == "fixed"
    assert client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]["status"] == "fixed"
    assert any(report["properties"]["ref"] in record.getMessage() for record in caplog.records)


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
