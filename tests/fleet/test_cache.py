"""--cache: unchanged targets are reused (the same JSON), changed ones are checked again, and the
folder is never trusted beyond JSON (no symlinks followed, damaged entries are misses)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from overfitlint.executor.cache import Cache
from overfitlint.report import Report
from overfitlint.settings import ProbeConfig, Settings
from overfitlint.targets import Target, group
from tests.builders.logs import keras_csv, overfit_curve
from tests.conftest import write
from tests.fleet.conftest import comparable, run

NO_PROBE = Settings(probe=ProbeConfig(enabled=False))
CHECK = ("check", "--no-probe", "--no-report", "--format", "json", "--cache", ".cache")


def cached_count(result) -> int:
    assert result.code in (0, 1), result.stderr[-2000:]
    return result.json()["run"]["cached"]


def test_a_rerun_reuses_every_report_and_writes_the_same_json(small_fleet):
    root, args = small_fleet
    first = run(*CHECK, *args, cwd=root)
    second = run(*CHECK, *args, cwd=root)
    assert cached_count(first) == 0 and cached_count(second) == 4
    assert comparable(first) == comparable(second)
    assert "4 reused from the cache" in second.stderr
    text = run(*CHECK[:-4], "--cache", ".cache", *args, "--jobs", "2", cwd=root)
    assert "Reused 4 of 4 reports from the cache" not in text.stdout  # text: no file hashes
    again = run(*CHECK[:-4], "--cache", ".cache", *args, cwd=root)
    assert "Reused 4 of 4 reports from the cache" in again.stdout


def test_a_changed_file_is_checked_again_alone(small_fleet):
    root, args = small_fleet
    run(*CHECK, *args, cwd=root)
    keras_csv(root / "models" / "m01" / "logs.csv", *overfit_curve(20, best=5))
    hparams = root / "models" / "l0" / "version_0" / "hparams.yaml"
    hparams.write_text(hparams.read_text().replace("batch_size: 32", "batch_size: 64"))
    result = run(*CHECK, *args, cwd=root)
    assert cached_count(result) == 2  # the log's model and the run beside hparams.yaml redone
    samples = {r["run"]["name"]: r["run"]["samples"] for r in result.json()["runs"]}
    assert samples["models/l0/model.onnx"] == 20 * 64


def test_a_changed_threshold_checks_everything_again(small_fleet):
    root, args = small_fleet
    config = write(root / "overfitlint.toml", "[thresholds.OFL301]\npatience = 5\n")
    assert cached_count(run(*CHECK, *args, cwd=root)) == 0
    assert cached_count(run(*CHECK, *args, cwd=root)) == 4
    config.write_text("[thresholds.OFL301]\npatience = 6\n")
    assert cached_count(run(*CHECK, *args, cwd=root)) == 0
    assert cached_count(run(*CHECK, *args, "--fail-on", "error", cwd=root)) == 0


def _one_target(root: Path) -> Target:
    from overfitlint.formats import detect

    return group([detect(root / "models" / "m00" / "model.onnx")])[0]


def _report(target: Target) -> Report:
    from overfitlint.pipeline import check_one

    return check_one(target, NO_PROBE)


def _same(found: Report | None, report: Report) -> bool:
    return found is not None and found.to_dict() == report.to_dict()


def test_entries_are_never_read_through_a_symlink(small_fleet, tmp_path_factory):
    root, _ = small_fleet
    target = _one_target(root)
    cache = Cache(root / ".cache")
    key = cache.key(target, NO_PROBE, hash_inputs=False, config_path=None)
    report = _report(target)
    cache.put(key, report)
    assert _same(cache.get(key), report)
    entry = root / ".cache" / "v1" / key[:2] / f"{key}.json"
    outside = tmp_path_factory.mktemp("outside") / "forged.json"
    outside.write_text(entry.read_text())
    entry.unlink()
    entry.symlink_to(outside)  # a planted link to a forged entry
    assert cache.get(key) is None
    shard = entry.parent
    for item in shard.iterdir():
        item.unlink()
    shard.rmdir()
    shard.symlink_to(outside.parent, target_is_directory=True)  # the shard folder a link
    assert cache.get(key) is None
    cache.put(key, report)  # refused: nothing is written through the link
    assert sorted(p.name for p in outside.parent.iterdir()) == ["forged.json"]


def test_a_damaged_or_foreign_entry_is_a_miss_and_is_rewritten(small_fleet):
    root, _ = small_fleet
    target = _one_target(root)
    cache = Cache(root / ".cache")
    key = cache.key(target, NO_PROBE, hash_inputs=False, config_path=None)
    report = _report(target)
    cache.put(key, report)
    entry = root / ".cache" / "v1" / key[:2] / f"{key}.json"
    for damage in ("{not json", json.dumps({"format": 1, "key": "other", "report": {}}), "[]"):
        entry.write_text(damage)
        assert cache.get(key) is None
    cache.put(key, report)
    assert _same(cache.get(key), report)


def test_concurrent_writers_leave_whole_entries(small_fleet):
    root, _ = small_fleet
    target = _one_target(root)
    key = Cache(root / ".cache").key(target, NO_PROBE, hash_inputs=False, config_path=None)
    report = _report(target)
    seen: list[Report | None] = []

    def write_and_read() -> None:
        cache = Cache(root / ".cache")  # each writer as its own run would
        for _ in range(20):
            cache.put(key, report)
            seen.append(cache.get(key))

    threads = [threading.Thread(target=write_and_read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 120 and all(_same(found, report) for found in seen)
    shard = root / ".cache" / "v1" / key[:2]
    assert [p.name for p in shard.iterdir()] == [f"{key}.json"]  # no temporary files left


def test_the_key_covers_the_files_the_loaders_read_beside_the_inputs(small_fleet):
    from overfitlint.executor.inputs import files_read
    from overfitlint.formats import detect

    root, _ = small_fleet
    onnx_target = _one_target(root)
    lightning = group(
        [
            detect(root / "models" / "l0" / "model.onnx"),
            detect(root / "models" / "l0" / "version_0" / "metrics.csv"),
        ]
    )[0]
    assert {p.name for p in files_read(onnx_target, NO_PROBE)} == {"model.onnx", "weights.bin"}
    assert {p.name for p in files_read(lightning, NO_PROBE)} == {
        "model.onnx",
        "metrics.csv",
        "hparams.yaml",
    }
    cache = Cache(root / ".cache")
    before = cache.key(onnx_target, NO_PROBE, hash_inputs=False, config_path=None)
    weights = root / "models" / "m00" / "weights.bin"
    weights.write_bytes(weights.read_bytes()[::-1])
    assert cache.key(onnx_target, NO_PROBE, hash_inputs=False, config_path=None) != before
