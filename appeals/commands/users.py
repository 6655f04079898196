"""`appeals user create|list|disable|enable|reset-password`: account management from the shell.

The first administrator is created here (`appeals user create --username admin --role admin`).
"""

from __future__ import annotations

import click
from sqlmodel import select

from appeals import audit, db, users
from appeals.cli import with_appcontext
from appeals.models import Practice, User
from appeals.web import get_engine


def _find(session, username: str) -> User:  # type: ignore[no-untyped-def]
    user = users.get_by_username(session, username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@click.group("user")
def user_group() -> None:
    """Manage user accounts (specialists, managers, admins)."""


@user_group.command("create")
@with_appcontext
@click.option("--username", required=True)
@click.option(
    "--role", type=click.Choice(list(users.ROLES)), default="specialist", show_default=True
)
@click.option(
    "--practice",
    "practice",
    default=None,
    help="Practice id or exact name; omit for all practices.",
)
@click.option("--full-name", default="")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when omitted (at least 10 characters).",
)
def create_command(
    username: str, role: str, practice: str | None, full_name: str, password: str
) -> None:
    """Create a user account."""
    with db.session_scope(get_engine()) as session:
        practice_id = _practice_id(session, practice)
        try:
            user = users.create_user(
                session, username, password, role=role, practice_id=practice_id, full_name=full_name
            )
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        audit.record(session, None, "create", "user", user.id, {"role": role, "by": "cli"})
        scope = f"practice {practice_id}" if practice_id else "all practices"
        click.echo(f"created {user.username} ({role}, {scope})")


def _practice_id(session, value: str | None) -> int | None:  # type: ignore[no-untyped-def]
    if not value:
        return None
    if value.isdigit():
        found = session.get(Practice, int(value))
    else:
        found = session.exec(select(Practice).where(Practice.name == value)).first()
    if found is None:
        raise click.ClickException(f"no practice {value!r}")
    return int(found.id)


@user_group.command("list")
@with_appcontext
def list_command() -> None:
    """List user accounts."""
    with db.session_scope(get_engine()) as session:
        for user in session.exec(select(User).order_by(User.username)).all():
            scope = f"practice {user.practice_id}" if user.practice_id else "all practices"
            state = "active" if user.active else "disabled"
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
            click.echo(
                f"{user.username:<20} {user.role:<11} {scope:<16} {state:<9} last login {last}"
            )


@user_group.command("disable")
@with_appcontext
@click.argument("username")
def disable_command(username: str) -> None:
    """Disable an account and end its sessions."""
    with db.session_scope(get_engine()) as session:
        user = _find(session, username)
        users.set_active(session, user, False)
        audit.record(session, None, "disable", "user", user.id, {"by": "cli"})
        click.echo(f"disabled {user.username}")


@user_group.command("enable")
@with_appcontext
@click.argument("username")
def enable_command(username: str) -> None:
    """Re-enable a disabled account."""
    with db.session_scope(get_engine()) as session:
        user = _find(session, username)
        users.set_active(session, user, True)
        audit.record(session, None, "enable", "user", user.id, {"by": "cli"})
        click.echo(f"enabled {user.username}")


@user_group.command("reset-password")
@with_appcontext
@click.argument("username")
@click.option(
    "--password", default=None, help="The new password; a random one is printed when omitted."
)
def reset_password_command(username: str, password: str | None) -> None:
    """Set a new password (ending the user's sessions)."""
    with db.session_scope(get_engine()) as session:
        user = _find(session, username)
        try:
            if password:
                users.set_password(session, user, password)
            else:
                password = users.reset_password(session, user)
                click.echo(f"new password for {user.username}: {password}")
        except users.UserError as error:
            raise click.ClickException(str(error)) from error
        audit.record(session, None, "reset_password", "user", user.id, {"by": "cli"})
        click.echo(f"password reset for {user.username}; their sessions have ended")


COMMANDS = [user_group]
