"""Fixtures of the hostile-input corpus: the session's shared folder (slow-to-make files, one
template repository per section) and a fresh scratch folder per case."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.security import corpus, payloads
from tests.security.harness import Scratch


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Path:
    """Files several cases start from, made once: Keras' own files, bombs, templates."""
    return tmp_path_factory.mktemp("security-shared")


@pytest.fixture
def scratch(tmp_path: Path, shared: Path):
    """A scratch folder for one case: repo/ (the case's section template), outside/ and home/
    with the secrets planted, markers/ empty. Made readable again afterwards (mode 000 cases)."""

    def prepare(section: str) -> Scratch:
        folder = shared / "templates" / section
        if not folder.exists():
            corpus.template(section, folder)
        s = Scratch(tmp_path)
        shutil.copytree(folder, s.repo, symlinks=True)
        payloads.plant_secrets(s)
        return s

    yield prepare
    for path in tmp_path.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
