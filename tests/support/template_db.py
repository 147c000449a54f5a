"""A new, migrated newswatch database for a test, copied from one migrated once per process.

Migrating a new file commits once per migration, each commit an fsync: about 70 ms on this
machine's disk, against 5 ms for a copy of a database migrated the same way. Tests of
creation and migration themselves keep calling ``open_database`` on a new file.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from sqlite_utils import Database

from crawler.store.storage import open_database


@functools.cache
def _template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="newswatch-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "template.db"
    open_database(path).close()  # closed: its WAL checkpointed into the file, and removed
    return path


def new_database(path: str | Path) -> Database:
    """``open_database`` on ``path``, a file that must not exist yet, started from a copy of
    the migrated template (``open_database`` then finds nothing to migrate)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: new_database makes new files only")
    shutil.copyfile(_template(), path)
    return open_database(path)
