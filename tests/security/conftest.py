"""Fixtures of the hostile-input corpus: the session's shared folder (slow-to-make files and the
template repository) and a fresh scratch folder per case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.security import corpus, payloads
from tests.security.harness import Scratch


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Path:
    """Files several cases start from, made once: Keras' own files, bombs, the template."""
    return tmp_path_factory.mktemp("security-shared")


@pytest.fixture
def scratch(tmp_path: Path, shared: Path):
    """A scratch folder for one case: repo/ (a copy of the template), outside/ and home/ with
    the secrets planted, markers/ empty. Made readable again afterwards (mode 000 cases)."""

    def prepare() -> Scratch:
        folder = shared / "template"
        if not folder.exists():
            corpus.template(folder)
        s = Scratch(tmp_path)
        shutil.copytree(folder, s.repo, symlinks=True)
        payloads.plant_secrets(s)
        return s

    yield prepare
    for folder, dirs, files in os.walk(tmp_path):  # links not followed
        for name in [*dirs, *files]:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
