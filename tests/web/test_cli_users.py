"""`appeals user ...` commands."""

from __future__ import annotations

from flask import Flask
from sqlmodel import Session, select

from appeals.cli import main
from appeals.models import User
from tests.web.conftest import PASSWORD, World, log_in


def test_first_admin_from_the_command_line(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        main,
        ["user", "create", "--username", "Boss", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created boss (admin, all practices)" in result.output
    user = session.exec(select(User)).one()
    assert user.username == "boss" and user.role == "admin"
    log_in(app.test_client(), "boss")


def test_create_refuses_bad_input(app: Flask, world: World) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(main, ["user", "create", "--username", "x", "--password", "short"])
    assert weak.exit_code != 0 and "at least 10" in weak.output
    nowhere = runner.invoke(
        main, ["user", "create", "--username", "y", "--password", PASSWORD, "--practice", "999"]
    )
    assert nowhere.exit_code != 0 and "no practice" in nowhere.output
    scoped = runner.invoke(
        main,
        [
            "user",
            "create",
            "--username",
            "z",
            "--password",
            PASSWORD,
            "--practice",
            "Sunrise Dermatology",
        ],
    )
    assert scoped.exit_code == 0 and f"practice {world.practice_a}" in scoped.output


def test_list_disable_and_reset(app: Flask, world: World, session: Session) -> None:
    runner = app.test_cli_runner()
    listing = runner.invoke(main, ["user", "list"])
    assert "specialist" in listing.output and "outsider" in listing.output
    client = log_in(app.test_client(), "colleague")
    assert runner.invoke(main, ["user", "disable", "colleague"]).exit_code == 0
    assert client.get("/queue").status_code == 302
    assert "disabled" in runner.invoke(main, ["user", "list"]).output
    reset = runner.invoke(main, ["user", "reset-password", "manager"])
    assert reset.exit_code == 0
    new = reset.output.split("new password for manager: ")[1].split()[0]
    log_in(app.test_client(), "manager", new)
    assert runner.invoke(main, ["user", "disable", "nobody"]).exit_code != 0
