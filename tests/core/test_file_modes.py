"""Practice data on disk is owner-only from the moment it exists: folders 0700, files 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from appeals import db
from appeals.files import open_private, private_folder, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what most systems give a service: files 0644 unless we say so
    yield
    os.umask(old)


def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "practice.db"
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        written = [p for p in tmp_path.iterdir() if p.name.startswith("practice.db")]
        assert path in written and len(written) >= 2  # the database and its -wal (and -shm)
        assert all(mode(p) == 0o600 for p in written)
    finally:
        engine.dispose()


def test_the_default_instance_folder_is_created_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    instance = tmp_path / "new" / "instance"
    url = db.default_url(instance)
    assert url.endswith("instance/appeals.db")
    assert mode(instance) == 0o700 and mode(instance.parent) == 0o700


def test_the_secret_key_is_owner_only(tmp_path: Path) -> None:
    from appeals.web import _instance_secret

    key = _instance_secret(tmp_path / "instance")
    assert len(key) == 64 and _instance_secret(tmp_path / "instance") == key
    assert mode(tmp_path / "instance") == 0o700
    assert mode(tmp_path / "instance" / "secret_key") == 0o600
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["secret_key"]


def test_private_writes_narrow_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o600
    with open_private(tmp_path / "export.csv", "w", encoding="utf-8") as handle:
        handle.write("a,b\n")
    assert mode(tmp_path / "export.csv") == 0o600
    folder = private_folder(tmp_path / "models" / "abc")
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700


def test_trained_model_files_are_owner_only(tmp_path: Path) -> None:
    from sklearn.dummy import DummyClassifier

    from classifiers import model

    fields = {f: None for f in model.Card.__dataclass_fields__}
    card = model.Card(**fields)  # type: ignore[arg-type]
    path = model.save(tmp_path / "models" / "key", DummyClassifier(), card)
    assert mode(tmp_path / "models") == 0o700 and mode(path.parent) == 0o700
    assert mode(path) == 0o600 and mode(path.with_suffix(".json")) == 0o600
