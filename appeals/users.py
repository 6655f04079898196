"""User accounts: create, hash and verify passwords, rate-limit logins, disable, reset.

Plain Python over a `Session`; the web layer and the CLI are thin wrappers around these functions.
Passwords are hashed with werkzeug's default (scrypt). Login attempts are kept in `LoginAttempt`
and on `User` so the limits hold across processes and restarts; sessions are `UserSession` rows.

Why login limits cannot be raced: an attempt is counted before its password is checked, by one
UPDATE whose WHERE clause holds the limit (`_claim_attempt`). Concurrent attempts are serialised
by the database on that row (SQLite's write lock, PostgreSQL's row lock, which re-reads the row
before applying the WHERE), so of any burst at most `MAX_FAILURES_PER_ACCOUNT` get a check, and
the count is committed before the slow hash runs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from appeals.models import LoginAttempt, Practice, User, UserSession, utcnow

ROLES: dict[str, str] = {
    "specialist": "Appeals specialist",
    "manager": "Manager",
    "admin": "Administrator",
}
ROLE_RANK = {"specialist": 1, "manager": 2, "admin": 3}

MIN_PASSWORD_LENGTH = 10
LOGIN_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
MAX_FAILURES_PER_ACCOUNT = 5  # then the account is locked for LOGIN_WINDOW, doubled per lockout
MAX_LOCKOUT = timedelta(hours=4)
# Per address, only what looks like guessing counts: each failure for an unknown username, and
# each distinct known username that failed. One person's typos from an office never lock out
# the office (their own account locks instead).
MAX_FAILURES_PER_ADDRESS = 20

SESSION_IDLE = timedelta(minutes=30)  # defaults; the web app passes its configuration
SESSION_LIFETIME = timedelta(hours=12)
SESSION_TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
SESSION_RETENTION = timedelta(days=90)  # ended sessions are kept this long (who was signed in)


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
    retry_after: timedelta | None = None  # when throttled: how long until an attempt is checked


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
    """Replace the password, end the user's sessions and lift a login lockout."""
    if problem := password_problem(password):
        raise UserError(problem, field="password")
    user.password_hash = hash_password(password)
    unlock(session, user)
    assert user.id is not None
    end_sessions(session, user.id, "password")


def is_locked(user: User, now: datetime | None = None) -> bool:
    """Whether too many failed logins keep the account locked now."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def unlock(session: Session, user: User) -> None:
    """Lift a login lockout and forget the failures (an admin who has checked with the user)."""
    user.failed_logins = 0
    user.locked_until = None
    user.lockouts = 0
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
        assert user.id is not None
        end_sessions(session, user.id, "disabled")
    session.add(user)


def logout_everywhere(session: Session, user: User) -> None:
    """End every session of this user, on every device."""
    assert user.id is not None
    end_sessions(session, user.id, "everywhere")


# --- sessions ------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    # The token is 256 random bits, so a fast hash is enough: a stolen table gives no cookie.
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User) -> str:
    """Open a session for `user` (caller commits); returns the token for the cookie, once."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            token_hash=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now
        )
    )
    return token


@dataclass(frozen=True)
class SessionCheck:
    """A session looked up by its token: the user while it is live, else why it ended now."""

    user: User | None
    ended: str = ""  # "idle" or "expired" when this check ended it
    wrote: bool = False  # an end or a new last-seen time, for the caller to commit


def resume_session(
    session: Session,
    token: str,
    *,
    idle: timedelta = SESSION_IDLE,
    lifetime: timedelta = SESSION_LIFETIME,
) -> SessionCheck:
    """The live session with this token, touched; ends it when idle or too old (caller commits).

    last_seen_at is written at most once per `SESSION_TOUCH_EVERY`, so idle time is measured
    to within that and most requests only read.
    """
    row = session.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)  # type: ignore[arg-type]
        .where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return SessionCheck(None)
    record, user = row
    if record.ended_at is not None or not user.active:
        return SessionCheck(None)
    now = utcnow()
    reason = ""
    if now - record.created_at > lifetime:
        reason = "expired"
    elif now - record.last_seen_at > idle:
        reason = "idle"
    if reason:
        _end(session, UserSession.id == record.id, reason, now)
        return SessionCheck(None, ended=reason, wrote=True)
    if now - record.last_seen_at >= SESSION_TOUCH_EVERY:
        session.exec(
            sa.update(UserSession)  # type: ignore[call-overload]
            .where(UserSession.id == record.id)
            .values(last_seen_at=now)
        )
        return SessionCheck(user, wrote=True)
    return SessionCheck(user)


def end_session(session: Session, token: str, reason: str = "logout") -> None:
    """End the session with this token (caller commits)."""
    _end(session, UserSession.token_hash == _token_hash(token), reason, utcnow())


def end_sessions(session: Session, user_id: int, reason: str) -> int:
    """End every live session of a user (caller commits); returns how many."""
    return _end(session, UserSession.user_id == user_id, reason, utcnow())


def _end(session: Session, which: Any, reason: str, now: datetime) -> int:
    result = session.exec(
        sa.update(UserSession)  # type: ignore[call-overload]
        .where(which, UserSession.ended_at.is_(None))  # type: ignore[union-attr]
        .values(ended_at=now, end_reason=reason)
    )
    return int(result.rowcount or 0)


def prune_sessions(session: Session, older_than: datetime | None = None) -> int:
    """Delete sessions not seen since `older_than` (default: the retention period)."""
    cutoff = older_than or utcnow() - SESSION_RETENTION
    result = session.exec(
        sa.delete(UserSession).where(UserSession.last_seen_at < cutoff)  # type: ignore[call-overload]
    )
    return int(result.rowcount or 0)


# --- login limits --------------------------------------------------------------------------


def address_failures(session: Session, address: str) -> int:
    """What counts against an address in the window: failures for unknown usernames, each,
    plus the number of distinct known usernames that failed from it. Throttled attempts never
    count."""
    since = utcnow() - LOGIN_WINDOW
    recent = sa.and_(
        LoginAttempt.address == address,
        LoginAttempt.at >= since,
        sa.not_(LoginAttempt.succeeded),
        sa.not_(LoginAttempt.throttled),
    )
    unknown = select(sa.func.count()).where(recent, sa.not_(LoginAttempt.known_user))
    known = select(sa.func.count(sa.distinct(LoginAttempt.username))).where(
        recent, LoginAttempt.known_user
    )
    return int(session.exec(unknown).one()) + int(session.exec(known).one())


def unknown_user_failures(session: Session, username: str) -> int:
    """Failures in the window for a username that does not exist (limited like an account, so
    a lockout does not tell which usernames exist)."""
    since = utcnow() - LOGIN_WINDOW
    query = select(sa.func.count()).where(
        LoginAttempt.username == username,
        LoginAttempt.at >= since,
        sa.not_(LoginAttempt.succeeded),
        sa.not_(LoginAttempt.throttled),
    )
    return int(session.exec(query).one())


def lockout_period(lockouts: int) -> timedelta:
    """How long the account locks on its (lockouts + 1)-th lockout: 15, 30, 60 … minutes."""
    return min(LOGIN_WINDOW * (2 ** min(lockouts, 16)), MAX_LOCKOUT)


def _claim_attempt(session: Session, user_id: int, now: datetime) -> int | None:
    """Count one attempt against the account before its password is checked.

    One UPDATE, refused (None) while the account is locked or has used its attempts in the
    window; else the attempt's number in the window (1 … MAX). The caller commits at once, so
    concurrent attempts see it.
    """
    column = User.__table__.c  # type: ignore[attr-defined]
    locked = sa.and_(column.locked_until.is_not(None), column.locked_until > now)
    # A new window starts after the last failure ages out or after a lock has run out.
    fresh = sa.or_(
        column.last_failed_at.is_(None),
        column.last_failed_at < now - LOGIN_WINDOW,
        column.locked_until.is_not(None),
    )
    statement = (
        sa.update(User.__table__)  # type: ignore[arg-type]
        .where(
            column.id == user_id,
            sa.not_(locked),
            sa.or_(fresh, column.failed_logins < MAX_FAILURES_PER_ACCOUNT),
        )
        .values(
            failed_logins=sa.case((fresh, 1), else_=column.failed_logins + 1),
            last_failed_at=now,
            locked_until=None,
        )
        .returning(column.failed_logins)
    )
    number = session.connection().execute(statement).scalar()
    return None if number is None else int(number)


def _lock(session: Session, user_id: int, now: datetime) -> None:
    """Lock the account after its last allowed attempt failed (unless a success reset it)."""
    user = session.get(User, user_id, populate_existing=True)
    if user is None or user.failed_logins < MAX_FAILURES_PER_ACCOUNT:
        return
    session.exec(
        sa.update(User)  # type: ignore[call-overload]
        .where(User.id == user_id, User.failed_logins >= MAX_FAILURES_PER_ACCOUNT)
        .values(locked_until=now + lockout_period(user.lockouts), lockouts=User.lockouts + 1)
    )


def _retry_after(session: Session, user_id: int | None, now: datetime) -> timedelta:
    if user_id is not None:
        user = session.get(User, user_id, populate_existing=True)
        if user is not None and user.locked_until is not None and user.locked_until > now:
            return user.locked_until - now
    return LOGIN_WINDOW


def authenticate(session: Session, username: str, password: str, address: str) -> LoginResult:
    """Check a login, within the limits; commits as it goes (see the module's docstring).

    The attempt is recorded, committed and counted before the password is checked; an attempt
    over a limit is refused without a check, so guessing stays slow even with the right
    password in the list. Unknown usernames check a dummy hash, so both paths take as long.
    """
    username = username.strip().lower()[:150]
    address = address[:64]
    user = get_by_username(session, username)
    user_id = user.id if user is not None else None
    attempt = LoginAttempt(username=username, address=address, known_user=user_id is not None)
    session.add(attempt)
    session.commit()
    now = utcnow()
    number: int | None = None
    allowed = address_failures(session, address) <= MAX_FAILURES_PER_ADDRESS
    if allowed and user_id is not None:
        number = _claim_attempt(session, user_id, now)
        allowed = number is not None
    elif allowed:
        allowed = unknown_user_failures(session, username) <= MAX_FAILURES_PER_ACCOUNT
    if not allowed:
        attempt.throttled = True
        session.add(attempt)
        retry_after = _retry_after(session, user_id, now)
        session.commit()
        return LoginResult(None, throttled=True, retry_after=retry_after)
    session.commit()  # the claimed attempt is visible before the slow check
    ok = False
    if user is not None:
        ok = check_password_hash(user.password_hash, password) and user.active
    else:
        check_password_hash(dummy_hash(), password)  # the same time as a known username
    if not ok or user_id is None:
        if number is not None and number >= MAX_FAILURES_PER_ACCOUNT and user_id is not None:
            _lock(session, user_id, now)
        session.commit()
        return LoginResult(None)
    attempt.succeeded = True
    session.add(attempt)
    session.exec(
        sa.update(User)  # type: ignore[call-overload]
        .where(User.id == user_id)
        .values(
            failed_logins=0,
            last_failed_at=None,
            locked_until=None,
            lockouts=0,
            last_login_at=utcnow(),
        )
    )
    prune_attempts(session)  # a successful login clears out old attempts (an indexed delete)
    prune_sessions(session)
    session.commit()
    signed_in = session.get(User, user_id, populate_existing=True)
    return LoginResult(signed_in)


def prune_attempts(session: Session, older_than: datetime | None = None) -> int:
    """Delete login attempts past the window (safe to run any time)."""
    cutoff = older_than or utcnow() - LOGIN_WINDOW * 4
    result = session.exec(sa.delete(LoginAttempt).where(LoginAttempt.at < cutoff))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


def has_role(user_role: str, needed: str) -> bool:
    """Roles are ordered: an admin can do what a manager can, a manager what a specialist can."""
    return ROLE_RANK.get(user_role, 0) >= ROLE_RANK[needed]
