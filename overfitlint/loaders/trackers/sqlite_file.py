"""SQLite files: told apart by their first bytes and their tables, opened read-only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

from overfitlint.errors import InputError

SQLITE_MAGIC = b"SQLite format 3\x00"
MLFLOW_TABLES = frozenset({"experiments", "runs", "metrics", "params"})
OPTUNA_TABLES = frozenset({"studies", "trials", "trial_intermediate_values", "trial_values"})


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def path_of_url(url: str) -> Path | None:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL (None: not one)."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :].split("?", 1)[0])


@contextmanager
def connect_read_only(path: Path) -> Iterator[sqlite3.Connection]:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open the SQLite file: {exc}") from exc
    with closing(connection):
        yield connection


def tables(path: Path) -> set[str]:
    with connect_read_only(path) as db:
        try:
            return {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{path}: not a readable SQLite database: {exc}") from exc


def store_kind(path: Path) -> str | None:
    """ "mlflow" or "optuna" from the tables a SQLite file holds; None: neither."""
    names = tables(path)
    if names >= OPTUNA_TABLES:
        return "optuna"
    if names >= MLFLOW_TABLES:
        return "mlflow"
    return None
