"""The CI integrations kept in the repository: the GitHub Action, pre-commit hooks, GitLab."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def action():
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_action_is_composite_and_uses_only_declared_inputs(action):
    assert action["runs"]["using"] == "composite"
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    assert {"paths", "fail-on", "format"} <= set(action["inputs"])
    uses = [step.get("uses", "") for step in action["runs"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)


def test_action_scripts_never_splice_inputs(action):
    # inputs reach the scripts through env: no ${{ }} inside a run script (script injection)
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def test_action_runs_the_check_with_sarif_and_annotations(action):
    script = next(s["run"] for s in action["runs"]["steps"] if s.get("id") == "check")
    assert "overfitlint check" in script
    assert '--format sarif --output "$SARIF_FILE"' in script
    assert "formats=(--format github)" in script


@pytest.fixture(scope="module")
def hooks():
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("path", "taken"),
    [
        ("models/a/model.onnx", True),
        ("ckpt/best.pt", True),
        ("m.keras", True),
        ("runs/a/logs.csv", True),
        ("runs/a/metrics.csv", True),
        ("out/trainer_state.json", True),
        ("history.json", True),
        ("data/train.csv", False),
        ("src/model.py", False),
        ("package.json", False),
    ],
)
def test_hook_files_pattern(hooks, path, taken):
    hook = next(h for h in hooks if h["id"] == "overfitlint")
    assert bool(re.search(hook["files"], path)) is taken


def test_hooks_run_the_check(hooks):
    assert {h["id"] for h in hooks} == {"overfitlint", "overfitlint-manifest"}
    for hook in hooks:
        assert shlex.split(hook["entry"])[:2] == ["overfitlint", "check"]
        assert hook["language"] == "python"
    manifest = next(h for h in hooks if h["id"] == "overfitlint-manifest")
    assert manifest["pass_filenames"] is False


def test_gitlab_example_publishes_junit():
    job = yaml.safe_load((ROOT / "docs" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    (config,) = job.values()
    junit = config["artifacts"]["reports"]["junit"]
    assert any("--format junit" in line for line in config["script"])
    assert junit == "overfitlint-results/overfitlint-junit.xml"
