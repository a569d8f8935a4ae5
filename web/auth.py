"""Accounts, passwords, sessions, CSRF tokens and sign-in rate limiting.

Passwords are hashed with argon2id (argon2-cffi's defaults). A session is a random token in
a cookie (HttpOnly, SameSite=Strict, Secure unless turned off for plain-HTTP development);
the database keeps only its SHA-256, its expiry and the session's CSRF token, which every
form posts back. Failed sign-ins are counted per account and per client address; past the
allowance further attempts are refused until the window has passed. The sign-in form has a
token of its own, signed with the workspace's key and the time it was issued, so that the
server takes back only the tokens it issued, and only for `LOGIN_FORM_SECONDS`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config.errors import ConfigError
from config.workspace import WorkspaceSettings
from web.db import Store
from web.roles import ROLES
from web.trail import wall_time

MIN_PASSWORD = 10
CLIENT_FACTOR = 4
"""How many times the per-account allowance of failed sign-ins one client address gets."""
LOGIN_FORM_SECONDS = 600
"""How long the sign-in form's token (and its cookie) is taken: ten minutes."""
LOGIN_KEY = "login_form_key"
"""The name of the key that signs the sign-in forms' tokens (`web.db.Store.secret`)."""
_LOGIN_TOKEN = re.compile(r"([0-9]{1,12})\.[A-Za-z0-9_-]{1,64}")
_USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,59}")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person."""

    username: str
    role: str
    desk: str | None

    @classmethod
    def of(cls, account: Mapping[str, Any]) -> User:
        """The user of an account's row (its name, role and desk)."""
        return cls(account["username"], account["role"], account["desk"])

    @property
    def reads_only(self) -> bool:
        return self.role == "auditor"

    @property
    def may_approve(self) -> bool:
        return self.role in ("approver", "admin")


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    token_hash: str
    csrf: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(store: Store, username: str, password: str, role: str,
             desk: str | None = None) -> None:
    """Create an account, or replace the password, role and desk of an existing one (its
    sessions end)."""
    if not _USERNAME.fullmatch(username):
        raise ConfigError("a user name is 2-60 characters: lower-case letters, digits, . _ -, "
                          "starting with a letter")
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters")
    store.put_user({"username": username, "password_hash": _hasher.hash(password),
                    "role": role, "desk": desk, "created_at": wall_time(), "disabled": False})
    store.drop_sessions_of(username)


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    """Disable an account (it can no longer sign in, and its sessions end) or enable it."""
    row = store.user(username)
    if row is None:
        raise ConfigError(f"no account {username!r}")
    store.put_user({**row, "disabled": disabled})
    store.drop_sessions_of(username)


def check_password(store: Store, username: str, password: str) -> User | None:
    """The user when the password is right (and the account enabled), else None. A missing
    account costs the same hash check, so timing does not tell which accounts exist."""
    row = store.user(username)
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row["disabled"]:
        return None
    return User.of(row)


class Sessions:
    """Starts, finds and ends sessions; counts failed sign-ins."""

    def __init__(self, store: Store, settings: WorkspaceSettings) -> None:
        self.store = store
        self.settings = settings

    def start(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: the cookie's token and the session."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        token_hash = hash_token(token)
        self.store.add_session({"token_hash": token_hash, "username": user.username,
                                "csrf": csrf, "created_at": now,
                                "expires_at": now + self.settings.session_hours * 3600})
        return token, Session(user, token_hash, csrf)

    def find(self, token: str | None) -> Session | None:
        if not token or len(token) > 200:
            return None
        row = self.store.session(hash_token(token), time.time())
        if row is None:
            return None
        account = self.store.user(row["username"])
        if account is None or account["disabled"]:
            return None
        return Session(User.of(account), row["token_hash"], row["csrf"])

    def end(self, session: Session) -> None:
        self.store.drop_session(session.token_hash)

    def attempt(self, username: str, client: str) -> float | None:
        """Count a sign-in attempt for this account and from this address as failed before
        its password is checked, and return its time; None when either has used up its
        attempts of the window (an address, which a whole office may share, is allowed
        more). Counted first because checking a password takes a while: attempts sent at
        once were each let through before any of them was counted. A refused attempt is
        forgotten again: it checked no password, and retrying does not prolong the wait."""
        now = time.time()
        since = now - self.settings.login_window_minutes * 60
        allowed = self.settings.login_failures_allowed
        keys = _keys(username, client)
        self.store.add_failure(keys, now, since)
        user, address = keys
        if (self.store.failures(user, since) > allowed
                or self.store.failures(address, since) > allowed * CLIENT_FACTOR):
            for key in keys:  # a refused attempt is no failure: the window ends as it would
                self.store.forget_failure(key, now)
            return None
        return now

    def succeeded(self, username: str, client: str, attempt: float) -> None:
        """The ``attempt`` signed in: the account's failures are forgotten, and the attempt
        does not count against its address."""
        user, address = _keys(username, client)
        self.store.clear_failures(user)
        self.store.forget_failure(address, attempt)


def _keys(username: str, client: str) -> list[str]:
    return ["user:" + username[:120], "client:" + client[:100]]


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a posted CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def login_token(key: bytes, issued: float | None = None) -> str:
    """A token for the sign-in form's field and cookie: the time it is issued (now, unless
    ``issued`` says), a random part, and their signature with ``key``, the workspace's
    (`LOGIN_KEY`), so that `login_token_age` knows the server issued it, and when."""
    body = f"{int(time.time() if issued is None else issued)}.{secrets.token_urlsafe(24)}"
    return f"{body}.{_signature(key, body)}"


def login_token_age(key: bytes, token: str) -> float | None:
    """How many seconds ago `login_token` issued ``token`` with ``key``; None for a token it
    did not issue (made up, its time or random part changed, or signed with another key)."""
    body, _, signature = token.rpartition(".")
    shape = _LOGIN_TOKEN.fullmatch(body)
    if shape is None or not same_token(signature, _signature(key, body)):
        return None
    return time.time() - int(shape.group(1))


def _signature(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()
