"""User accounts: create, hash and verify passwords, rate-limit logins, disable, reset.

Plain Python over a `Session`; the web layer and the CLI are thin wrappers around these functions.
Passwords are hashed with werkzeug's default (scrypt). Login attempts are kept in `LoginAttempt`
so the limit holds across processes and restarts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from appeals.models import LoginAttempt, Practice, User, utcnow

ROLES: dict[str, str] = {
    "specialist": "Appeals specialist",
    "manager": "Manager",
    "admin": "Administrator",
}
ROLE_RANK = {"specialist": 1, "manager": 2, "admin": 3}

MIN_PASSWORD_LENGTH = 10
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


class UserError(ValueError):
    """A user-management request that cannot be carried out (message is safe to show).

    `field` names the form field at fault (username, password, role or practice_id).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    throttled: bool = False


HASH_METHOD = "scrypt"  # werkzeug's default; tests switch to a cheap method for speed


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


# Verified against when the username is unknown, so both paths take the same time. Made on the
# first such login (not at import: scrypt costs every command), once per hash method.
_dummy_hashes: dict[str, str] = {}


def dummy_hash() -> str:
    """A hash of a random password, in the configured method (cached)."""
    if HASH_METHOD not in _dummy_hashes:
        _dummy_hashes[HASH_METHOD] = hash_password("not-a-real-password-" + secrets.token_hex(8))
    return _dummy_hashes[HASH_METHOD]


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if password.strip() != password:
        return "No spaces at the start or end."
    return None


def get_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: str = "specialist",
    practice_id: int | None = None,
    full_name: str = "",
    email: str = "",
) -> User:
    """Add a user (not committed). Raises UserError on a bad role, name, password or practice."""
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise UserError("Usernames use letters, digits, '.', '-' and '_'.", field="username")
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role")
    if problem := password_problem(password):
        raise UserError(problem, field="password")
    if get_by_username(session, username) is not None:
        raise UserError(f"User {username!r} already exists.", field="username")
    if practice_id is not None and session.get(Practice, practice_id) is None:
        raise UserError(f"No practice with id {practice_id}.", field="practice_id")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        practice_id=practice_id,
        full_name=full_name.strip(),
        email=email.strip(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace the password and end the user's other sessions."""
    if problem := password_problem(password):
        raise UserError(problem, field="password")
    user.password_hash = hash_password(password)
    user.session_version += 1
    session.add(user)


def reset_password(session: Session, user: User) -> str:
    """Give the user a new random password (returned once) and end their sessions."""
    password = secrets.token_urlsafe(12)
    set_password(session, user, password)
    return password


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable (ending every session) or re-enable an account."""
    user.active = active
    if not active:
        user.session_version += 1
    session.add(user)


def logout_everywhere(session: Session, user: User) -> None:
    """Invalidate every session of this user (the session version is part of the login token)."""
    user.session_version += 1
    session.add(user)


def recent_failures(
    session: Session, *, username: str | None = None, address: str | None = None
) -> int:
    since = utcnow() - LOGIN_WINDOW
    query = select(sa.func.count()).select_from(LoginAttempt)
    query = query.where(LoginAttempt.at >= since, sa.not_(LoginAttempt.succeeded))
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    if address is not None:
        query = query.where(LoginAttempt.address == address)
    return int(session.exec(query).one())


def is_throttled(session: Session, username: str, address: str) -> bool:
    return (
        recent_failures(session, username=username) >= MAX_FAILURES_PER_ACCOUNT
        or recent_failures(session, address=address) >= MAX_FAILURES_PER_ADDRESS
    )


def authenticate(session: Session, username: str, password: str, address: str) -> LoginResult:
    """Check a login and record the attempt (caller commits); a success prunes old attempts.

    A throttled account or address is refused without checking the password, so guessing stays
    slow even with the right password in the list.
    """
    username = username.strip().lower()[:150]
    address = address[:64]
    if is_throttled(session, username, address):
        session.add(LoginAttempt(username=username, address=address, succeeded=False))
        return LoginResult(None, throttled=True)
    user = get_by_username(session, username)
    ok = verify_password(user, password) if user else check_password_hash(dummy_hash(), password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, address=address, succeeded=ok))
    if not ok or user is None:
        return LoginResult(None)
    user.last_login_at = utcnow()
    session.add(user)
    prune_attempts(session)  # a successful login clears out old attempts (an indexed delete)
    return LoginResult(user)


def prune_attempts(session: Session, older_than: datetime | None = None) -> int:
    """Delete login attempts past the window (safe to run any time)."""
    cutoff = older_than or utcnow() - LOGIN_WINDOW * 4
    result = session.exec(sa.delete(LoginAttempt).where(LoginAttempt.at < cutoff))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


def has_role(user_role: str, needed: str) -> bool:
    """Roles are ordered: an admin can do what a manager can, a manager what a specialist can."""
    return ROLE_RANK.get(user_role, 0) >= ROLE_RANK[needed]
