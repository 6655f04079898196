"""Login limits that hold under concurrency, lock out with backoff, and spare an office.

Password checks are counted by wrapping `users.check_password_hash`, the one place a hash is
verified, so "at most five passwords checked" is observed, not inferred.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals import models, users
from appeals.models import LoginAttempt, User
from tests.web.conftest import PASSWORD, World, csrf_token, make_user

ADDRESS = "203.0.113.7"


def _counting_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    lock = threading.Lock()
    real = users.check_password_hash

    def counting(hash_: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return real(hash_, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    return checked


def _attempt(engine: Engine, username: str, password: str, address: str = ADDRESS):  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        return users.authenticate(session, username, password, address)


def _burst(count: int, attempt: Callable[[int], object]) -> list[object]:
    start = threading.Barrier(count)

    def run(number: int) -> object:
        start.wait()
        return attempt(number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _clock(monkeypatch: pytest.MonkeyPatch, ahead: timedelta) -> None:
    real = models.utcnow
    monkeypatch.setattr(users, "utcnow", lambda: real() + ahead)


def test_a_burst_of_40_wrong_passwords_checks_at_most_five(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = _counting_checks(monkeypatch)
    results = _burst(40, lambda n: _attempt(engine, "manager", f"wrong-{n}"))
    assert len(checked) <= users.MAX_FAILURES_PER_ACCOUNT
    assert sum(1 for r in results if r.throttled) >= 40 - users.MAX_FAILURES_PER_ACCOUNT  # type: ignore[attr-defined]
    assert _attempt(engine, "manager", PASSWORD).user is None  # locked now


def test_the_right_password_hidden_in_a_burst_does_not_log_in(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """39 wrong guesses race; the right one is sent once five checks are under way, while they
    are still running (each wrong check waits for it), which is when the old count-then-check
    limit still saw no failures and let it through."""
    checked: list[str] = []
    lock = threading.Lock()
    five_running = threading.Event()
    right_done = threading.Event()
    real = users.check_password_hash

    def slow_wrong_checks(hash_: str, password: str) -> bool:
        with lock:
            checked.append(password)
            if len(checked) >= users.MAX_FAILURES_PER_ACCOUNT:
                five_running.set()
        if password != PASSWORD:
            right_done.wait(timeout=60)  # a safety net only; the test never relies on it
        return real(hash_, password)

    monkeypatch.setattr(users, "check_password_hash", slow_wrong_checks)

    def attempt(number: int):  # type: ignore[no-untyped-def]
        if number == 39:
            five_running.wait(timeout=60)
            try:
                return _attempt(engine, "manager", PASSWORD)
            finally:
                right_done.set()
        return _attempt(engine, "manager", f"wrong-{number}")

    results = _burst(40, attempt)
    right = results[39]
    assert right.user is None and right.throttled  # type: ignore[attr-defined]
    assert PASSWORD not in checked
    assert len(checked) <= users.MAX_FAILURES_PER_ACCOUNT


def test_attempts_are_recorded_before_the_check(
    engine: Engine, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []
    real = users.check_password_hash

    def looking(hash_: str, password: str) -> bool:
        with Session(engine) as other:  # what a concurrent request sees during the check
            user = other.exec(select(User).where(User.username == "manager")).one()
            attempts = other.exec(select(LoginAttempt)).all()
            seen.append((user.failed_logins, len(attempts)))
        return real(hash_, password)

    monkeypatch.setattr(users, "check_password_hash", looking)
    _attempt(engine, "manager", "wrong")
    assert seen == [(1, 1)]


def test_lockouts_back_off_and_a_success_resets_them(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        assert not _attempt(engine, "manager", "wrong").throttled
    first = _attempt(engine, "manager", PASSWORD)
    assert first.throttled and first.retry_after is not None
    assert timedelta(minutes=14) < first.retry_after <= timedelta(minutes=15)
    _clock(monkeypatch, timedelta(minutes=16))
    for _ in range(5):
        assert not _attempt(engine, "manager", "wrong").throttled
    second = _attempt(engine, "manager", PASSWORD)
    assert second.throttled and second.retry_after is not None
    assert timedelta(minutes=29) < second.retry_after <= timedelta(minutes=30)
    _clock(monkeypatch, timedelta(minutes=16 + 20))
    assert _attempt(engine, "manager", PASSWORD).throttled  # still inside the longer lock
    _clock(monkeypatch, timedelta(minutes=16 + 31))
    assert _attempt(engine, "manager", PASSWORD).user is not None
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "manager")).one()
        assert (user.failed_logins, user.lockouts, user.locked_until) == (0, 0, None)


def test_failures_older_than_the_window_are_forgotten(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        _attempt(engine, "manager", "wrong")
    _clock(monkeypatch, users.LOGIN_WINDOW + timedelta(minutes=1))
    for _ in range(4):
        assert not _attempt(engine, "manager", "wrong").throttled
    assert _attempt(engine, "manager", PASSWORD).user is not None


def test_a_password_reset_lifts_the_lockout(engine: Engine, world: World, session: Session) -> None:
    for _ in range(6):
        _attempt(engine, "manager", "wrong")
    user = session.get(User, world.users["manager"])
    assert user is not None
    users.set_password(session, user, "a-brand-new-password")
    session.commit()
    assert _attempt(engine, "manager", "a-brand-new-password").user is not None


def _post_login(client: FlaskClient, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ADDRESS},
    )


def test_one_users_failures_do_not_lock_out_the_office(
    anonymous: FlaskClient, world: World
) -> None:
    for _ in range(25):
        _post_login(anonymous, "specialist", "bad")
    assert _post_login(anonymous, "specialist", PASSWORD).status_code == 429
    response = _post_login(anonymous, "colleague", PASSWORD)
    assert response.status_code == 303
    anonymous.post("/auth/logout", headers={"X-CSRFToken": csrf_token(anonymous, "/queue")})
    assert _post_login(anonymous, "manager", PASSWORD).status_code == 303


def test_one_address_trying_many_real_usernames_is_throttled(
    engine: Engine, world: World, session: Session
) -> None:
    for number in range(users.MAX_FAILURES_PER_ADDRESS):
        make_user(session, f"staff{number}", "specialist", world.practice_a)
    session.commit()
    for number in range(users.MAX_FAILURES_PER_ADDRESS):
        assert not _attempt(engine, f"staff{number}", "guess").throttled
    assert _attempt(engine, "admin", PASSWORD).throttled
    assert _attempt(engine, "admin", PASSWORD, address="198.51.100.1").user is not None


def test_an_unknown_username_locks_like_a_real_one(engine: Engine, world: World) -> None:
    """Otherwise a lockout after five tries would tell which usernames exist."""
    for _ in range(5):
        assert not _attempt(engine, "nobody", "guess").throttled
    assert _attempt(engine, "nobody", "guess").throttled
    for _ in range(5):
        assert not _attempt(engine, "manager", "guess", address="198.51.100.2").throttled
    assert _attempt(engine, "manager", "guess", address="198.51.100.2").throttled


def test_the_throttled_message_says_how_long_to_wait(anonymous: FlaskClient, world: World) -> None:
    for _ in range(5):
        _post_login(anonymous, "manager", "bad")
    response = _post_login(anonymous, "manager", PASSWORD)
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Too many failed attempts" in text and "15 minutes" in text
