"""`appeals letter` and `appeals letters check|list|zip` through Flask's CLI runner."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import Result
from flask.testing import FlaskCliRunner
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals import create_app, letters
from appeals.commands.letters import letter_command, letters_group
from appeals.models import Letter
from tests.core.test_letters import FULL_DOC, _edited_copy, docx_text, make_world


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    folder.mkdir()
    return folder


@pytest.fixture
def runner(database_url: str, engine: Engine, instance: Path) -> FlaskCliRunner:
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    app.instance_path = str(instance)
    return app.test_cli_runner()


def invoke(runner: FlaskCliRunner, *args: str) -> Result:
    command = letter_command if args[0] == "letter" else letters_group
    return runner.invoke(command, list(args[1:]))


def test_letter_writes_the_docx_and_stores_a_version(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    world = make_world(session)
    out = tmp_path / "letter.docx"
    sets = [f"--set=doc.{k}={v}" for k, v in FULL_DOC.items()]
    ids = [str(d.id) for d in world.denials]
    result = invoke(runner, "letter", *ids, "--out", str(out), *sets)
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    text = docx_text(out.read_bytes())
    assert "ICN-2026-0001" in text and "$385.00" in text
    docx.Document(io.BytesIO(out.read_bytes()))
    result = invoke(runner, "letter", ids[0], "--template", "duplicate", "--out", str(out), *sets)
    assert result.exit_code == 0, result.output
    assert "duplicate, version 1" in result.output
    session.expire_all()
    assert len(session.exec(select(Letter)).all()) == 2


def test_letter_lists_the_missing_fields_and_fails(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    world = make_world(session, category="timely_filing", carc="29")
    out = tmp_path / "letter.docx"
    result = invoke(runner, "letter", str(world.denials[0].id), "--out", str(out))
    assert result.exit_code != 0
    assert "timely_filing" in result.output
    assert "doc.original_submission_date" in result.output
    assert "doc.submission_proof" in result.output
    assert not out.exists()


def test_letter_refuses_an_unknown_template_or_denial(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    world = make_world(session)
    out = str(tmp_path / "x.docx")
    result = invoke(runner, "letter", str(world.denials[0].id), "--template", "nope", "--out", out)
    assert result.exit_code != 0 and "unknown letter template 'nope'" in result.output
    result = invoke(runner, "letter", "424242", "--out", out)
    assert result.exit_code != 0 and "no denial with id 424242" in result.output


def test_letters_check_passes_the_defaults_and_reports_a_broken_copy(
    runner: FlaskCliRunner, instance: Path
) -> None:
    result = invoke(runner, "letters", "check")
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output
    practice = instance / "letter_templates"
    practice.mkdir()
    _edited_copy(
        letters.BUILTIN_FOLDER / "duplicate.docx",
        practice / "duplicate.docx",
        "{{ doc.distinguishing_facts }}",
        "{{ doc.distinguishing_facts }} {{ claim.colour }}",
    )
    result = invoke(runner, "letters", "check")
    assert result.exit_code != 0
    assert "duplicate: claim.colour: unknown field" in result.output
    result = invoke(runner, "letters", "check", "--folder", str(practice))
    assert result.exit_code != 0 and "claim.colour" in result.output


def test_letters_list_and_zip(runner: FlaskCliRunner, session: Session, tmp_path: Path) -> None:
    result = invoke(runner, "letters", "list")
    assert result.exit_code == 0
    assert "cosmetic_vs_medical: Cosmetic versus medical" in result.output
    world = make_world(session)
    out = tmp_path / "letters.zip"
    ids = [str(d.id) for d in world.denials]
    result = invoke(runner, "letters", "zip", *ids, "--out", str(out))
    assert result.exit_code == 1  # every denial lacked its documentation
    reason = "needs diagnosis (ICD-10-CM) and clinical findings"
    assert f"skipped denial {ids[0]}: {reason}" in result.output
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == [letters.INDEX_FILE]
        index = archive.read(letters.INDEX_FILE).decode()
    assert index.splitlines()[1].startswith(f",skipped,{ids[0]},ICN-2026-0001,99213,")
    assert index.splitlines()[1].endswith(reason)
