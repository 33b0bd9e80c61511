"""Every case of the hostile-input corpus through the real CLI: it must hold (harness.judge).

A case that does not hold today is a strict xfail whose reason says what fails ("open: ..."):
the fix turns it into a pass, and strict makes that pass fail until the marker is removed.
``python -m pytest tests/security -k NAME`` runs one case; ``--runxfail`` shows why an open one
fails.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.security import corpus
from tests.security.harness import run_case

pytestmark = pytest.mark.security


def _param(case: corpus.Case):
    marks = []
    if case.name in corpus.OPEN:
        marks.append(pytest.mark.xfail(strict=True, reason=f"open: {corpus.OPEN[case.name]}"))
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in corpus.CASES.values()])
def test_hostile_input_is_held(case: corpus.Case, scratch, shared) -> None:
    missing = corpus.requirements_missing(case.needs)
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    if case.unprivileged and os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: file modes do not stop root")
    s = scratch()
    case.build(s, shared)
    run, problems = run_case(
        case.name,
        s,
        list(case.args),
        form=case.form,
        env=case.env,
        action_inputs=case.action_inputs,
        limits=case.limits,
        expect=case.expect,
    )
    assert not problems, (
        f"case {case.name} ({corpus.SECTIONS[case.section]}) did not hold "
        f"(exit {run.code}, {run.seconds:.1f} s, peak {run.peak_rss / 2**20:.0f} MiB):\n"
        + "\n".join(problems)
    )
