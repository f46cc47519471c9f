"""Officers' and administrators' accounts: who may change reports, in which zones, and how they prove it.

Accounts live in ``<data dir>/_private/users.json`` (never a public file), written whole and atomically under a lock.
Passwords are hashed with scrypt through Werkzeug (memory-hard, in the standard library's ``hashlib``, so no new
dependency; argon2 would be as good but needs a compiled package). API tokens are random and stored only as their
SHA-256: a token has 256 bits of entropy, so a fast hash is enough and lets a request find its account in one lookup.
"""

import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from mapper.durable import atomic_write, locked
from mapper.errors import MapperError, NotFound, ValidationError
from mapper.validate import format_datetime

ROLES = ("officer", "admin", "steering", "probation")
# Steering-group members (residents, police, fire) upload audit walks for their zone; they do not change repairs.
# Probation staff plan Community Payback projects (issue 7) in their zones; they do not change repairs either.
ZONED_ROLES = ("officer", "steering", "probation")
STAFF_ROLES = ("officer", "admin")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "mpr_"  # makes a leaked token recognisable to secret scanners
PASSWORD_METHOD = "scrypt"
# Hashed once so that a sign-in with an unknown name takes as long as one with a wrong password.
_DUMMY_HASH = generate_password_hash("not a password", method=PASSWORD_METHOD)


class AccountNotFound(NotFound):
    code = "account_not_found"


@dataclass(frozen=True)
class Account:
    """One officer or administrator. ``zones`` is empty for administrators, who see every zone."""

    name: str
    role: str
    zones: tuple = ()
    password_hash: str = ""
    tokens: tuple = field(default=(), repr=False)  # {"sha256", "created"}

    @property
    def is_admin(self):
        return self.role == "admin"

    def can_see(self, zone_id):
        return self.is_admin or zone_id in self.zones

    # Flask-Login's user protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self):
        return self.name

    def to_dict(self):
        return {"name": self.name, "role": self.role, "zones": list(self.zones), "password_hash": self.password_hash,
                "tokens": list(self.tokens)}


def token_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_new_account(name, role, zones, password):
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationError(f"Account name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'.",
                              field="name")
    if role not in ROLES:
        raise ValidationError(f"Role {role!r} must be one of: {', '.join(ROLES)}.", field="role")
    if role in ZONED_ROLES and not zones:
        raise ValidationError(f"A {role} account needs at least one zone (--zones a,b).", field="zones")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationError(f"The password must be at least {MIN_PASSWORD} characters.", field="password")


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
                self._accounts = {entry["name"]: Account(entry["name"], entry["role"], tuple(entry.get("zones", ())),
                                                         entry.get("password_hash", ""),
                                                         tuple(entry.get("tokens", ())))
                                  for entry in document.get("users", [])}
                self._stamp = stamp
            return self._accounts

    def all(self):
        return sorted(self._load().values(), key=lambda account: account.name)

    def get(self, name):
        return self._load().get(name)

    def authenticate(self, name, password):
        """The account if the password is right, else None (in the same time whether or not the name exists)."""
        account = self.get(name) if isinstance(name, str) else None
        if account is None or not account.password_hash or not isinstance(password, str):
            check_password_hash(_DUMMY_HASH, password if isinstance(password, str) else "")
            return None
        return account if check_password_hash(account.password_hash, password) else None

    def for_token(self, token):
        """The account holding the API token, else None."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            return None
        digest = token_digest(token)
        for account in self._load().values():
            if any(secrets.compare_digest(digest, entry.get("sha256", "")) for entry in account.tokens):
                return account
        return None

    # -- writing ------------------------------------------------------------------------------------------------

    def _modify(self, change):
        """Read, change and atomically rewrite the file under an exclusive lock; 0600 in a 0700 directory."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with locked(self.lock_path, exclusive=True):
            try:
                with open(self.path, "rb") as f:
                    users = json.load(f).get("users", [])
            except FileNotFoundError:
                users = []
            accounts = {entry["name"]: entry for entry in users}
            result = change(accounts)
            body = json.dumps({"users": list(accounts.values())}, indent=1, ensure_ascii=False).encode("utf-8")
            atomic_write(self.path, body)
            os.chmod(self.path, 0o600)
        return result

    def add(self, name, role, zones=(), password=None):
        """Create an account (a password is needed to sign in; machine clients may use tokens only)."""
        zones = tuple(dict.fromkeys(zone for zone in zones if zone)) if role in ZONED_ROLES else ()
        check_new_account(name, role, zones, password)
        password_hash = generate_password_hash(password, method=PASSWORD_METHOD) if password else ""

        def create(accounts):
            if name in accounts:
                raise MapperError(f"An account named {name!r} exists already.", field="name", code="conflict",
                                  status=409)
            accounts[name] = Account(name, role, zones, password_hash).to_dict()

        self._modify(create)
        return self.get(name)

    def new_token(self, name):
        """A new API token for ``name``, returned once: only its SHA-256 is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = format_datetime(datetime.now(timezone.utc))

        def add_token(accounts):
            if name not in accounts:
                raise AccountNotFound(f"No account named {name!r}.", field="name")
            accounts[name]["tokens"] = accounts[name].get("tokens", []) + [
                {"sha256": token_digest(token), "created": created}]

        self._modify(add_token)
        return token
