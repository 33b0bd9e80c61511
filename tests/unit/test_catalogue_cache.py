"""The parsed rule catalogue is cached, and any change to a rule file parses it again."""

from __future__ import annotations

import shutil

import pytest

from overfitlint import catalogue


@pytest.fixture
def rules(tmp_path, monkeypatch):
    """A copy of the rule folder, the catalogue read from it, and a cache folder of its own."""
    folder = tmp_path / "rules"
    shutil.copytree(catalogue.rules_dir(), folder)
    monkeypatch.setattr(catalogue, "rules_dir", lambda: folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    catalogue.load_catalogue.cache_clear()
    yield folder
    catalogue.load_catalogue.cache_clear()


def _fresh():
    catalogue.load_catalogue.cache_clear()
    return catalogue.load_catalogue()


def test_the_cached_catalogue_is_the_parsed_one(rules, tmp_path):
    parsed = _fresh()
    written = list((tmp_path / "cache" / "overfitlint").glob("catalogue-*.json"))
    assert len(written) == 1
    cached = _fresh()
    assert cached == parsed
    assert cached["OFL301"].thresholds["smoothing"].default == 5
    assert cached["OFL301"].path == str(rules / "OFL301.toml")


def test_an_edited_rule_is_parsed_again(rules):
    _fresh()
    path = rules / "OFL308.toml"
    text = path.read_text()
    path.write_text(text.replace('title = "', 'title = "Edited: ', 1))
    assert _fresh()["OFL308"].title.startswith("Edited: ")
    path.write_text(text.replace('code = "OFL308"', 'code = "OFL999"'))
    with pytest.raises(catalogue.CatalogueError, match="does not match the file name"):
        _fresh()


def test_a_damaged_or_unwritable_cache_is_ignored(rules, tmp_path, monkeypatch):
    parsed = _fresh()
    for cache in (tmp_path / "cache" / "overfitlint").glob("catalogue-*.json"):
        cache.write_text('{"key": [1], "rules": "not a list"')
    assert _fresh() == parsed
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert _fresh() == parsed


def test_a_cache_folder_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = catalogue.cache_folder()
    assert folder == tmp_path / "overfitlint" and folder.is_dir()
    folder.chmod(0o777)
    assert catalogue.cache_folder() is None
    folder.chmod(0o700)
    assert catalogue.cache_folder() == folder
