"""The harness itself: each property it checks fails when broken, and holds when not.

The corpus proves the CLI held only if the harness would have seen it fail; these tests feed
``judge`` runs made by hand, and ``execute`` small real processes past its caps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.security import corpus
from tests.security.harness import Expect, Limits, Run, Scratch, action_step, execute, judge

pytestmark = pytest.mark.security

ANNOTATION = "::warning file=models/a/logs.csv,line=3,title=OFL301 x (high confidence)::rises"


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    s = Scratch(tmp_path)
    for folder in (s.repo, s.outside, s.home, s.markers):
        folder.mkdir()
    return s


def run(stdout: str = "", stderr: str = "", code: int = 1, **fields) -> Run:
    return Run([], code, stdout.encode(), stderr.encode(), 0.1, 0, **fields)


def properties(problems: list[str]) -> list[str]:
    return [problem.split(": ")[1] for problem in problems]


def test_a_clean_run_holds(scratch):
    assert judge("c", run("report\n", "HTML report: reports/a.html\n"), scratch, Expect()) == []


def test_a_copy_of_an_own_annotation_is_caught_by_the_count(scratch):
    report = b'{"findings": [{"code": "OFL301"}]}'
    once = run(ANNOTATION + "\n", outputs={"out/result.json": report})
    twice = run(f"{ANNOTATION}\n{ANNOTATION}\n", outputs={"out/result.json": report})
    assert judge("c", once, scratch, Expect(github=True)) == []
    assert properties(judge("c", twice, scratch, Expect(github=True))) == [
        "forged workflow command"
    ]


def test_own_annotations_pass_only_with_the_github_format(scratch):
    assert judge("c", run(ANNOTATION + "\n"), scratch, Expect(github=True)) == []
    assert properties(judge("c", run(ANNOTATION + "\n"), scratch, Expect())) == [
        "forged workflow command"
    ]


@pytest.mark.parametrize(
    "line",
    [
        "::add-mask::x",
        "  ::stop-commands::t",
        "##[set-output name=x;]y",
        "::error file=README.md,line=1::forged",
        ANNOTATION + " ::error file=README.md::again",
        "::warning file=a:b,title=t::m",
    ],
)
def test_forged_commands_fail(scratch, line):
    problems = judge("c", run(f"ok\n{line}\n"), scratch, Expect(github=True))
    assert properties(problems) == ["forged workflow command"]
    assert problems[0].startswith("c: ")


@pytest.mark.parametrize("char", ["\x1b", "\r", "\x07", "\x00", "\x7f"])
def test_control_characters_fail_tabs_and_newlines_do_not(scratch, char):
    assert judge("c", run("a\tb\n"), scratch, Expect()) == []
    assert properties(judge("c", run(f"a{char}b\n"), scratch, Expect())) == ["control character"]


@pytest.mark.parametrize(
    "stderr",
    [
        "Usage: overfitlint check\nError: bad\n",
        "overfitlint: error: internal error: RecursionError: x\n",
        "warning: something\n",
    ],
)
def test_exit_2_needs_one_clear_line(scratch, stderr):
    assert properties(judge("c", run(code=2, stderr=stderr), scratch, Expect())) == [
        "one clear error line"
    ]
    assert (
        judge("c", run(code=2, stderr="overfitlint: error: a.onnx: bad\n"), scratch, Expect()) == []
    )


def test_signals_timeouts_and_tracebacks_fail(scratch):
    assert properties(judge("c", run(code=-11), scratch, Expect())) == ["crash"]
    assert properties(judge("c", run(code=-9, killed="time"), scratch, Expect())) == ["time cap"]
    traceback = "Traceback (most recent call last):\n  File x\n"
    assert properties(judge("c", run(stderr=traceback), scratch, Expect())) == ["traceback"]


def test_markers_secrets_and_outside_changes_fail(scratch):
    scratch.marker("gadget").write_text("['-c']\n")
    (scratch.repo / "ofl-marker-x").write_text("")
    leaked = run(
        stdout=f"layer secret_{scratch.token}\n",
        outside_changes=["created home/.keras"],
        read_outside=[str(scratch.outside / "secret.txt")],
        outputs={"reports/a.html": scratch.token.encode()},
    )
    problems = judge("c", leaked, scratch, Expect())
    assert sorted(set(properties(problems))) == [
        "code ran",
        "outside the repository",
        "secret leaked",
    ]
    assert "written by -c" in problems[0]
    assert any("repo/reports/a.html" in p for p in problems)


def test_the_probe_must_reach_the_model(scratch):
    ran = b'{"run": {"probe": {"status": "ran", "stopped_by_budget": false}}}'
    skipped = b'{"run": {"probe": {"status": "skipped", "reason": "--no-probe"}}}'
    assert judge("c", run(outputs={"out/probe.json": ran}), scratch, Expect(probe=True)) == []
    problems = judge("c", run(outputs={"out/probe.json": skipped}), scratch, Expect(probe=True))
    assert properties(problems) == ["probe"] and "--no-probe" in problems[0]


def test_execute_kills_at_the_time_and_memory_caps(tmp_path):
    slow = execute(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        tmp_path,
        {},
        Limits(seconds=0.5),
        tmp_path / "slow",
    )
    assert slow.killed == "time" and slow.seconds < 5
    hungry = execute(
        [sys.executable, "-c", "x = bytearray(400 << 20); import time; time.sleep(30)"],
        tmp_path,
        {},
        Limits(rss_bytes=200 << 20),
        tmp_path / "hungry",
    )
    assert hungry.killed == "memory" and hungry.peak_rss > 200 << 20


def test_the_action_step_is_read_from_action_yml():
    pytest.importorskip("yaml")
    script, env, defaults = action_step()
    assert "-m overfitlint check" in script
    assert env["PATHS"] == "${{ inputs.paths }}"
    assert defaults["fail-on"] == "warning"


def test_every_open_entry_names_a_case():
    assert set(corpus.OPEN) <= set(corpus.CASES)
    assert set(corpus.CASES[name].section for name in corpus.OPEN) <= set(corpus.SECTIONS)
