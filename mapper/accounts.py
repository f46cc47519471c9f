"""Officers' and administrators' accounts: who may change reports, in which zones, and how they prove it.

Accounts live in ``<data dir>/_private/users.json`` (never a public file), written whole and atomically under a lock.
Passwords are hashed with scrypt through Werkzeug (memory-hard, in the standard library's ``hashlib``, so no new
dependency; argon2 would be as good but needs a compiled package). API tokens are random and stored only as their
SHA-256: a token has 256 bits of entropy, so a fast hash is enough and lets a request find its account in one lookup.
Password-reset tokens are the same kind of secret, stored the same way, valid for an hour and used once.

Sessions live here, not only in the browser's cookie: each sign-in adds a record (a random secret kept as its
SHA-256, with when it began and was last seen) and the cookie carries ``name:account key:secret``
(:attr:`Account.sign_in_id`). Signing out deletes the record, so a copy of the cookie is nobody afterwards. A
sign-in ends after SESSION_IDLE without a request or SESSION_LIFETIME in all; an account keeps at most MAX_SESSIONS
(the least recently seen goes first). A password change, a reset or "sign out my other sessions" deletes the other
records and draws a new account key (:attr:`Account.session_id`), which every sign-in's cookie also has to match.
API tokens outlive a password change or reset: a password never reveals a token (only ``mapper users token`` makes
one, shown once), and they serve the council's machine clients; ``mapper users revoke-token NAME --all`` ends them. A deleted account's name is kept as a tombstone so that no new account can take it:
the repair histories that name it stay about the person who did the work.
"""

import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from mapper.durable import PRIVATE_DIRECTORY, PRIVATE_FILE, atomic_write, ensure_directory, locked
from mapper.errors import MapperError, NotFound, ValidationError
from mapper.notify import ADDRESS
from mapper.validate import format_datetime

ROLES = ("officer", "admin", "steering", "probation")
# Steering-group members (residents, police, fire) upload audit walks for their zone; they do not change repairs.
# Probation staff plan Community Payback projects (issue 7) in their zones; they do not change repairs either.
ZONED_ROLES = ("officer", "steering", "probation")
STAFF_ROLES = ("officer", "admin")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt reads all of it: a bound keeps a hostile form from costing the server
MAX_LABEL = 100
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
TOKEN_PREFIX = "mpr_"  # makes a leaked token recognisable to secret scanners
TOKEN_ID_LENGTH = 8  # hex digits of the token's SHA-256: names a token in lists without revealing it
PASSWORD_METHOD = "scrypt"
RESET_LIFETIME = timedelta(hours=1)
MAX_RESETS = 5  # outstanding reset links per account; older ones are dropped
# A token's "last used" is written at most this often, so an API client does not rewrite the account file each call.
TOKEN_USE_RESOLUTION = timedelta(hours=1)
# A sign-in lasts an officer's working day with its breaks, and ends overnight (a council PC left signed in, a lost
# phone); a tab kept busy all week signs in again after seven days.
SESSION_IDLE = timedelta(hours=12)
SESSION_LIFETIME = timedelta(days=7)
MAX_SESSIONS = 10  # per account: a desk PC, a laptop, a phone and a few browsers; the least recently seen go first
# A session's "last seen" is written at most this often: a page view does not rewrite the account file each time.
SESSION_SEEN_RESOLUTION = timedelta(minutes=5)
# Hashed once so that a sign-in with an unknown name takes as long as one with a wrong password.
_DUMMY_HASH = generate_password_hash("not a password", method=PASSWORD_METHOD)


class AccountNotFound(NotFound):
    code = "account_not_found"


class TokenNotFound(NotFound):
    code = "token_not_found"


class ResetLinkInvalid(NotFound):
    code = "reset_link_invalid"


class ResetLinkExpired(MapperError):
    status = 410
    code = "reset_link_expired"


class ResetLinkUsed(MapperError):
    status = 410
    code = "reset_link_used"


def utcnow():
    return datetime.now(timezone.utc)


def moment(text):
    """A stored timestamp as an aware datetime, or None when it is missing or unreadable."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def new_session_key():
    return secrets.token_urlsafe(16)


def session_live(record, now):
    """Whether a sign-in record is still good: seen within SESSION_IDLE and begun within SESSION_LIFETIME."""
    created, seen = moment(record.get("created")), moment(record.get("last_seen"))
    return created is not None and seen is not None and now - seen < SESSION_IDLE and now - created < SESSION_LIFETIME


def split_sign_in(sign_in_id):
    """``name:key:secret`` -> ("name:key", SHA-256 of the secret), or ("", "") for anything else."""
    account_part, _, secret = str(sign_in_id).rpartition(":")
    if not account_part or len(secret) < 32:
        return "", ""
    return account_part, token_digest(secret)


def find_session(sessions, digest):
    return next((record for record in sessions if secrets.compare_digest(digest, record.get("sha256", ""))), None)


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about an API token: never the token, nor its hash."""

    id: str
    label: str
    created: str
    last_used: str


@dataclass(frozen=True)
class Account:
    """One officer or administrator. ``zones`` is empty for administrators, who see every zone."""

    name: str
    role: str
    zones: tuple = ()
    password_hash: str = field(default="", repr=False)
    tokens: tuple = field(default=(), repr=False)  # {"sha256", "created", "label", "last_used"}
    email: str = ""
    session_key: str = field(default="", repr=False)
    resets: tuple = field(default=(), repr=False)  # {"sha256", "expires", "used"}
    password_changed: str = ""
    sessions: tuple = field(default=(), repr=False, compare=False)  # {"sha256", "created", "last_seen"}
    # Not stored: the sign-in this account object was loaded for (what the cookie carries), "" for none.
    sign_in_id: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_dict(cls, entry):
        return cls(entry["name"], entry["role"], tuple(entry.get("zones", ())), entry.get("password_hash", ""),
                   tuple(entry.get("tokens", ())), entry.get("email") or "", entry.get("session_key") or "",
                   tuple(entry.get("resets", ())), entry.get("password_changed") or "",
                   tuple(entry.get("sessions", ())))

    @property
    def is_admin(self):
        return self.role == "admin"

    def can_see(self, zone_id):
        return self.is_admin or zone_id in self.zones

    @property
    def session_id(self):
        """The account part of every sign-in's cookie: the name and the current account key (accounts written before
        keys existed use a digest of their password hash, which a password change replaces too)."""
        key = self.session_key or hashlib.sha256(f"session:{self.password_hash}".encode()).hexdigest()[:22]
        return f"{self.name}:{key}"

    @property
    def token_list(self):
        return [token_info(entry) for entry in self.tokens]

    # Flask-Login's user protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self):
        # Flask-Login stores this in the cookie: only a sign-in made by Accounts.start_session is ever somebody.
        return self.sign_in_id

    def to_dict(self):
        return {"name": self.name, "role": self.role, "zones": list(self.zones), "email": self.email,
                "password_hash": self.password_hash, "password_changed": self.password_changed,
                "session_key": self.session_key, "tokens": list(self.tokens), "resets": list(self.resets),
                "sessions": list(self.sessions)}


def token_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id(token):
    """The short id a token is listed and revoked by: the start of its SHA-256, which reveals nothing of it."""
    return token_digest(token)[:TOKEN_ID_LENGTH]


def token_info(entry):
    return TokenInfo(entry.get("sha256", "")[:TOKEN_ID_LENGTH], entry.get("label") or "", entry.get("created", ""),
                     entry.get("last_used") or "")


def check_password(password):
    """The rules every new password meets, from the command line or a form."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"The password must be at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"The password must be at most {MAX_PASSWORD} characters.", field="password")


def check_email(address):
    """An address we will send to (no spaces or control characters, so nothing reaches a mail header), or ''."""
    address = (address or "").strip()
    if address and (len(address) > MAX_EMAIL or not ADDRESS.fullmatch(address)):
        raise ValidationError(f"{address[:80]!r} is not an email address we can send to.", field="email")
    return address


def check_label(label):
    label = " ".join((label or "").split())
    if len(label) > MAX_LABEL or not label.isprintable():
        raise ValidationError(f"A token label is at most {MAX_LABEL} printable characters.", field="label")
    return label


def check_new_account(name, role, zones, password):
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationError(f"Account name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'.",
                              field="name")
    if role not in ROLES:
        raise ValidationError(f"Role {role!r} must be one of: {', '.join(ROLES)}.", field="role")
    if role in ZONED_ROLES and not zones:
        raise ValidationError(f"A {role} account needs at least one zone (--zones a,b).", field="zones")
    if password is not None:
        check_password(password)


def judge_reset(entry, now):
    if entry.get("used"):
        raise ResetLinkUsed("This link has been used already, or the password was changed after it was sent. "
                            "Ask for a new one if you still need it.")
    expires = moment(entry.get("expires"))
    if expires is None or expires <= now:
        raise ResetLinkExpired("This link has expired: reset links last an hour. Ask for a new one.")


INVALID_RESET = ("This password reset link is not one we sent. Check that you copied the whole link, or ask for a new "
                 "one.")


class Accounts:
    """The account file, re-read when it changes (``mapper users add`` while the server runs)."""

    def __init__(self, data_dir):
        self.path = Path(data_dir) / "_private" / "users.json"
        self.lock_path = self.path.with_name(".users.json.lock")
        self._stamp = None
        self._accounts = {}
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------------------------

    def _load(self):
        with self._lock:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                self._stamp, self._accounts = None, {}
                return self._accounts
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if stamp != self._stamp:
                with open(self.path, "rb") as f:
                    document = json.load(f)
                self._accounts = {entry["name"]: Account.from_dict(entry) for entry in document.get("users", [])}
                self._stamp = stamp
            return self._accounts

    def all(self):
        return sorted(self._load().values(), key=lambda account: account.name)

    def get(self, name):
        return self._load().get(name)

    def for_session(self, session_id):
        """The account ``name:key`` names, if that account key is still current: the account-wide half of
        :meth:`for_sign_in`."""
        name, _, _ = str(session_id).partition(":")
        account = self.get(name)
        if account is None or not secrets.compare_digest(account.session_id, str(session_id)):
            return None
        return account

    def for_sign_in(self, sign_in_id, now=None):
        """The account a session cookie names while that sign-in lasts (its record is there and live, and the
        account key is current), carrying ``sign_in_id``; else None: signed out, expired, or never signed in."""
        account_part, digest = split_sign_in(sign_in_id)
        account = self.for_session(account_part) if digest else None
        record = find_session(account.sessions, digest) if account is not None else None
        if record is None or not session_live(record, now or utcnow()):
            return None
        return replace(account, sign_in_id=sign_in_id)

    def authenticate(self, name, password):
        """The account if the password is right, else None (in the same time whether or not the name exists)."""
        account = self.get(name) if isinstance(name, str) else None
        if account is None or not account.password_hash or not isinstance(password, str) \
                or len(password) > MAX_PASSWORD:
            check_password_hash(_DUMMY_HASH, password if isinstance(password, str) else "")
            return None
        return account if check_password_hash(account.password_hash, password) else None

    def _find_token(self, token):
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            return None
        digest = token_digest(token)
        for account in self._load().values():
            for entry in account.tokens:
                if secrets.compare_digest(digest, entry.get("sha256", "")):
                    return account, entry
        return None

    def for_token(self, token):
        """The account holding the API token, else None."""
        found = self._find_token(token)
        return found[0] if found else None

    def for_reset_request(self, identifier):
        """The accounts a "forgot your password?" request names (by account name, else by email) that have an email."""
        identifier = identifier.strip() if isinstance(identifier, str) else ""
        if not identifier or len(identifier) > MAX_EMAIL:
            return []
        account = self.get(identifier)
        if account is not None:
            return [account] if account.email else []
        folded = identifier.casefold()
        return [account for account in self.all() if account.email and account.email.casefold() == folded]

    def _find_reset(self, token):
        if isinstance(token, str) and 20 <= len(token) <= 100:
            digest = token_digest(token)
            for account in self._load().values():
                for entry in account.resets:
                    if secrets.compare_digest(digest, entry.get("sha256", "")):
                        return account, entry
        raise ResetLinkInvalid(INVALID_RESET)

    def check_reset(self, token, now=None):
        """The account a reset link is for, if it is still good to use; else ResetLinkInvalid/-Expired/-Used."""
        account, entry = self._find_reset(token)
        judge_reset(entry, now or utcnow())
        return account

    # -- writing ------------------------------------------------------------------------------------------------

    def _modify(self, change):
        """Read, change and atomically rewrite the file under an exclusive lock; 0600 in a 0700 directory.

        ``change(accounts, deleted)`` gets the entries by name and the deleted names' tombstones; if it raises,
        nothing is written.
        """
        ensure_directory(self.path.parent, PRIVATE_DIRECTORY)
        with locked(self.lock_path, exclusive=True, mode=PRIVATE_FILE):
            try:
                with open(self.path, "rb") as f:
                    document = json.load(f)
            except FileNotFoundError:
                document = {}
            accounts = {entry["name"]: entry for entry in document.get("users", [])}
            deleted = document.get("deleted", [])
            result = change(accounts, deleted)
            body = json.dumps({"users": list(accounts.values()), "deleted": deleted}, indent=1,
                              ensure_ascii=False).encode("utf-8")
            atomic_write(self.path, body, PRIVATE_FILE)  # 0600 from the start: never readable, even for a moment
        return result

    @staticmethod
    def _entry(accounts, name):
        if name not in accounts:
            raise AccountNotFound(f"No account named {name!r}.", field="name")
        return accounts[name]

    def add(self, name, role, zones=(), password=None, email=None):
        """Create an account (a password is needed to sign in; machine clients may use tokens only)."""
        zones = tuple(dict.fromkeys(zone for zone in zones if zone)) if role in ZONED_ROLES else ()
        check_new_account(name, role, zones, password)
        email = check_email(email)
        password_hash = generate_password_hash(password, method=PASSWORD_METHOD) if password else ""
        changed = format_datetime(utcnow()) if password else ""

        def create(accounts, deleted):
            if name in accounts:
                raise MapperError(f"An account named {name!r} exists already.", field="name", code="conflict",
                                  status=409)
            for tombstone in deleted:
                if tombstone.get("name") == name:
                    raise MapperError(f"An account named {name!r} was deleted on {tombstone.get('deleted', '?')[:10]}"
                                      " and repair histories still name it: choose another name.", field="name",
                                      code="conflict", status=409)
            accounts[name] = Account(name, role, zones, password_hash, email=email, session_key=new_session_key(),
                                     password_changed=changed).to_dict()

        self._modify(create)
        return self.get(name)

    def new_token(self, name, label=None):
        """A new API token for ``name``, returned once: only its SHA-256 is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = format_datetime(utcnow())
        label = check_label(label)

        def add_token(accounts, deleted):
            entry = self._entry(accounts, name)
            entry["tokens"] = entry.get("tokens", []) + [{"sha256": token_digest(token), "created": created,
                                                          "label": label}]

        self._modify(add_token)
        return token

    def revoke_token(self, name, token_id):
        """Revoke the token with id ``token_id`` (from :attr:`Account.token_list`); TokenNotFound if none has it."""
        token_id = str(token_id).strip().lower()

        def revoke(accounts, deleted):
            entry = self._entry(accounts, name)
            tokens = entry.get("tokens", [])
            kept = [token for token in tokens if token_info(token).id != token_id]
            if len(token_id) != TOKEN_ID_LENGTH or len(kept) == len(tokens):
                raise TokenNotFound(f"{name} has no API token with the id {token_id[:40]!r}.", field="token_id")
            if len(tokens) - len(kept) > 1:
                raise MapperError(f"Two of {name}'s tokens share the id {token_id!r}: revoke them all instead.",
                                  field="token_id", code="conflict", status=409)
            entry["tokens"] = kept

        self._modify(revoke)

    def revoke_all_tokens(self, name):
        """Revoke every API token of ``name``; the number revoked."""
        def revoke(accounts, deleted):
            entry = self._entry(accounts, name)
            count, entry["tokens"] = len(entry.get("tokens", [])), []
            return count

        return self._modify(revoke)

    def record_token_use(self, token, now=None):
        """Note when a token was last used, at most once per TOKEN_USE_RESOLUTION (one file write an hour)."""
        found = self._find_token(token)
        now = now or utcnow()
        if found is None:
            return
        account, used = found
        last = moment(used.get("last_used")) if used.get("last_used") else None
        if last is not None and now - last < TOKEN_USE_RESOLUTION:
            return

        def touch(accounts, deleted):
            for entry in accounts.get(account.name, {}).get("tokens", []):
                if entry.get("sha256") == used["sha256"]:
                    entry["last_used"] = format_datetime(now)

        self._modify(touch)

    @staticmethod
    def _change_password(entry, password_hash, now):
        """A new password ends every session (its record and key) and every reset link still outstanding; API tokens
        stay (see the module doc)."""
        stamp = format_datetime(now)
        entry["password_hash"] = password_hash
        entry["password_changed"] = stamp
        entry["session_key"] = new_session_key()
        entry["sessions"] = []
        for reset in entry.get("resets", []):
            reset.setdefault("used", stamp)

    def set_password(self, name, password, now=None):
        """Set ``name``'s password; its other sessions and reset links stop working. The updated account."""
        check_password(password)
        password_hash = generate_password_hash(password, method=PASSWORD_METHOD)  # slow: outside the lock
        self._modify(lambda accounts, deleted: self._change_password(self._entry(accounts, name), password_hash,
                                                                     now or utcnow()))
        return self.get(name)

    # -- sessions -----------------------------------------------------------------------------------------------

    def start_session(self, name, now=None):
        """A new sign-in for ``name``: the account, carrying in ``sign_in_id`` what its cookie is to hold. Only the
        secret's SHA-256 is stored; ended and expired records are dropped, and the least recently seen beyond
        MAX_SESSIONS."""
        secret = secrets.token_urlsafe(32)
        now = now or utcnow()
        stamp = format_datetime(now)

        def add(accounts, deleted):
            entry = self._entry(accounts, name)
            live = [record for record in entry.get("sessions", []) if session_live(record, now)]
            live.append({"sha256": token_digest(secret), "created": stamp, "last_seen": stamp})
            live.sort(key=lambda record: moment(record["last_seen"]))  # stable: the newest sign-in stays last
            entry["sessions"] = live[-MAX_SESSIONS:]
            return Account.from_dict(entry).session_id

        sign_in_id = f"{self._modify(add)}:{secret}"
        return self.for_sign_in(sign_in_id, now)

    def record_session_use(self, sign_in_id, now=None):
        """Note that a sign-in is in use (what SESSION_IDLE counts from), at most once per SESSION_SEEN_RESOLUTION."""
        account_part, digest = split_sign_in(sign_in_id)
        now = now or utcnow()
        account = self.for_session(account_part) if digest else None
        record = find_session(account.sessions, digest) if account is not None else None
        if record is None or now - (moment(record.get("last_seen")) or now) < SESSION_SEEN_RESOLUTION:
            return

        def touch(accounts, deleted):  # the record may have ended meanwhile: then there is nothing to touch
            found = find_session(accounts.get(account.name, {}).get("sessions", []), digest)
            if found is not None and session_live(found, now):
                found["last_seen"] = format_datetime(now)

        self._modify(touch)

    def end_session(self, sign_in_id):
        """Sign out one sign-in: its record goes, so a copy of its cookie is nobody from now on."""
        account_part, digest = split_sign_in(sign_in_id)
        name = account_part.partition(":")[0]

        def remove(accounts, deleted):
            if name in accounts:
                accounts[name]["sessions"] = [record for record in accounts[name].get("sessions", [])
                                              if not secrets.compare_digest(digest, record.get("sha256", ""))]

        if digest:
            self._modify(remove)

    def end_sessions(self, name, keep=""):
        """Sign ``name`` out everywhere (a new account key, every record gone) except the sign-in ``keep``, which
        goes on under the new key. The updated account, carrying the kept sign-in's new id ("" if none was kept)."""
        _, kept_digest = split_sign_in(keep)

        def end(accounts, deleted):
            entry = self._entry(accounts, name)
            entry["session_key"] = new_session_key()
            kept = find_session(entry.get("sessions", []), kept_digest) if kept_digest else None
            entry["sessions"] = [kept] if kept is not None else []
            return Account.from_dict(entry).session_id if kept is not None else ""

        account_part = self._modify(end)
        if not account_part:
            return self.get(name)
        return self.for_sign_in(f"{account_part}:{keep.rpartition(':')[2]}") or self.get(name)

    def set_email(self, name, email):
        """Set (or, with '' or None, remove) the address reset links are sent to."""
        email = check_email(email)

        def change(accounts, deleted):
            self._entry(accounts, name)["email"] = email

        self._modify(change)
        return self.get(name)

    def delete(self, name, now=None):
        """Delete the account: its sessions and tokens stop at once. Its name stays taken (see the module doc)."""
        def remove(accounts, deleted):
            self._entry(accounts, name)
            del accounts[name]
            deleted.append({"name": name, "deleted": format_datetime(now or utcnow())})

        self._modify(remove)

    def new_reset(self, name, now=None):
        """A single-use password-reset token for ``name``, valid RESET_LIFETIME, returned once (kept as SHA-256)."""
        token = secrets.token_urlsafe(32)
        now = now or utcnow()

        def add_reset(accounts, deleted):
            entry = self._entry(accounts, name)
            # Expired links are forgotten; used ones are kept until they expire so that a second click says "used".
            kept = [reset for reset in entry.get("resets", []) if (moment(reset.get("expires")) or now) > now]
            entry["resets"] = (kept + [{"sha256": token_digest(token),
                                        "expires": format_datetime(now + RESET_LIFETIME)}])[-MAX_RESETS:]

        self._modify(add_reset)
        return token

    def reset_password(self, token, password, now=None):
        """Use a reset link: set the password, end the account's sessions and all its reset links. The account."""
        check_password(password)
        now = now or utcnow()
        self.check_reset(token, now)  # refuse a bad link before the slow hash
        password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        digest = token_digest(token)

        def use(accounts, deleted):  # judged again under the lock: two tabs cannot both use one link
            for entry in accounts.values():
                for reset in entry.get("resets", []):
                    if secrets.compare_digest(digest, reset.get("sha256", "")):
                        judge_reset(reset, now)
                        self._change_password(entry, password_hash, now)
                        return entry["name"]
            raise ResetLinkInvalid(INVALID_RESET)

        return self.get(self._modify(use))
