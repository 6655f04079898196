"""Files and folders that hold practice data are created readable by their owner only.

The instance folder (the SQLite database, the secret key, trained models, uploads, edited
letter templates) and what the CLI writes for a person (letters, exported appeal history) carry
patients' names and account numbers. Each is created with its permissions from the start
(0700 folders, 0600 files), never written first and tightened after, so no other local account
can read one even for a moment, whatever the process's umask.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: str | os.PathLike[str]) -> Path:
    """Create `path` (and missing parents) as owner-only folders; an existing folder is kept
    as it is (an administrator may have chosen its permissions)."""
    folder = Path(path)
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(created, FOLDER_MODE)  # mkdir's mode is narrowed by the umask, never widened
    return folder


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create an empty owner-only file at `path` unless one exists; True if it was created."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(descriptor)
    return True


@contextmanager
def open_private(
    path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any
) -> Iterator[IO[Any]]:
    """`open(path, mode)` for writing, the file created (or replaced) owner-only.

    An existing file is narrowed to 0600 before anything is written into it.
    """
    if not any(flag in mode for flag in "wax"):
        raise ValueError("open_private is for writing")
    flags = os.O_WRONLY | os.O_CREAT
    if "a" in mode:
        flags |= os.O_APPEND
    elif "x" in mode:
        flags |= os.O_EXCL
    else:
        flags |= os.O_TRUNC
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
        handle = os.fdopen(descriptor, mode, **kwargs)
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle


def write_private(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` to an owner-only file at `path` (replacing its content)."""
    if isinstance(data, str):
        with open_private(path, "w", encoding="utf-8") as handle:
            handle.write(data)
    else:
        with open_private(path, "wb") as handle:
            handle.write(data)
