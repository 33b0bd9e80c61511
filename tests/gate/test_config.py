"""Repository config: discovery, precedence (flags win), rule selection layers, and errors."""

from __future__ import annotations

import json

import pytest

from tests.conftest import write


def codes(result) -> set[str]:
    return {f["code"] for f in result.json()["findings"]}


def run_json(cli, project, *args, cwd=None):
    return cli(
        "check",
        "models/a/model.onnx",
        "models/a/logs.csv",
        "--format",
        "json",
        *args,
        cwd=cwd or project,
    )


def one_line_error(result) -> str:
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_pyproject_is_found_from_a_subfolder(cli, project):
    write(project / "pyproject.toml", "[tool.overfitlint]\nsamples = 100\nno-report = true\n")
    (project / "sub" / "deeper").mkdir(parents=True)
    result = cli(
        "check", "../../models/a/model.onnx", "--format", "json", cwd=project / "sub" / "deeper"
    )
    report = result.json()
    assert report["run"]["samples"] == 100
    assert report["run"]["config"] == str(project / "pyproject.toml")
    assert not (project / "sub" / "deeper" / "reports").exists()  # no-report came from the file


def test_pyproject_without_our_table_is_skipped(cli, project, tmp_path):
    write(project / "pyproject.toml", '[project]\nname = "x"\n')
    report = run_json(cli, project, "--no-report").json()
    assert "config" not in report["run"]


def test_overfitlint_toml_wins_over_pyproject_in_the_same_folder(cli, project):
    write(project / "pyproject.toml", "[tool.overfitlint]\nsamples = 100\n")
    write(project / "overfitlint.toml", "samples = 7\n")
    report = run_json(cli, project, "--no-report").json()
    assert report["run"]["samples"] == 7


def test_flags_win_over_the_file(cli, project):
    write(project / "overfitlint.toml", 'samples = 100\nfail-on = "never"\nno-report = true\n')
    from_file = run_json(cli, project)
    assert from_file.code == 0  # fail-on never from the file
    assert from_file.json()["run"]["samples"] == 100
    flagged = run_json(cli, project, "--samples", "5000", "--fail-on", "error")
    assert flagged.code == 1
    assert flagged.json()["run"]["samples"] == 5000


def test_config_option_and_no_config(cli, project):
    write(project / "elsewhere" / "gate.toml", 'fail-on = "never"\n')
    write(project / "overfitlint.toml", 'fail-on = "error"\n')
    named = run_json(cli, project, "--no-report", "--config", "elsewhere/gate.toml")
    assert named.json()["run"]["fail_on"] == "never"
    isolated = run_json(cli, project, "--no-report", "--no-config")
    assert isolated.json()["run"]["fail_on"] == "warning"
    assert "config" not in isolated.json()["run"]
    both = cli(
        "check", "models/a/logs.csv", "--config", "overfitlint.toml", "--no-config", cwd=project
    )
    assert "exclude each other" in one_line_error(both)


def test_selection_layers(cli, project):
    def chosen(*args):  # among four rules that fire here, so that later rules change nothing
        return codes(run_json(cli, project, *args)) & {"OFL101", "OFL201", "OFL211", "OFL301"}

    write(
        project / "overfitlint.toml",
        'select = ["OFL1", "OFL2", "OFL301"]\nignore = ["OFL2"]\nno-report = true\n',
    )
    assert chosen() == {"OFL101", "OFL301"}  # select OFL2 vs ignore OFL2: a tie goes to ignore
    # extend-select on the command line adds a rule on top of the file's choice
    assert chosen("--extend-select", "no-dropout") == {"OFL101", "OFL201", "OFL301"}
    # --select on the command line starts afresh: the file's ignore no longer applies
    assert chosen("--select", "OFL201,OFL211") == {"OFL201", "OFL211"}
    # --ignore on the command line takes from the file's choice
    assert chosen("--ignore", "OFL1") == {"OFL301"}
    # within one layer the most specific selector wins
    write(project / "overfitlint.toml", 'select = ["OFL201", "OFL211"]\nignore = ["OFL2"]\n')
    assert chosen("--no-report") == {"OFL201", "OFL211"}
    write(project / "overfitlint.toml", 'select = ["OFL2"]\nignore = ["OFL211"]\n')
    assert chosen("--no-report") == {"OFL201"}


def test_severity_and_threshold_overrides(cli, project):
    write(
        project / "pyproject.toml",
        "[tool.overfitlint]\nno-report = true\n"
        '[tool.overfitlint.severity]\nno-weight-decay = "error"\n'
        "[tool.overfitlint.thresholds.OFL301]\npatience = 50\nshort-min-after = 50\n"
        "[tool.overfitlint.thresholds.no-dropout]\nmin-params = 1000000\n",
    )
    report = run_json(cli, project).json()
    found = {f["code"]: f for f in report["findings"]}
    assert "OFL301" not in found  # patience 50 > the 19 epochs past the best
    assert "OFL201" not in found  # the model is below the raised min_params
    assert found["OFL211"]["severity"] == "error"
    assert report["rules"]["thresholds"]["OFL301"]["patience"] == 50


def test_paths_in_the_file_are_relative_to_it(cli, project):
    write(
        project / "overfitlint.toml",
        'no-report = true\nbaseline = "ci/baseline.json"\n[output]\njunit = "ci/junit.xml"\n',
    )
    (project / "sub").mkdir()
    first = cli(
        "check",
        "../models/a/logs.csv",
        "--write-baseline",
        "../ci/baseline.json",
        "--format",
        "junit",
        cwd=project / "sub",
    )
    assert first.code == 0, first.stderr
    recorded = len(json.loads((project / "ci" / "baseline.json").read_text())["findings"])
    assert recorded >= 1
    assert (project / "ci" / "junit.xml").is_file()
    again = cli("check", "../models/a/logs.csv", "--format", "json", cwd=project / "sub")
    assert again.json()["baseline"]["path"] == str(project / "ci" / "baseline.json")
    assert again.json()["baseline"]["suppressed"] == recorded
    assert again.json()["findings"] == []


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("selct = ['OFL3']\n", ["unknown key 'selct'", "did you mean 'select'", "allowed:"]),
        ("fail_on = 'error'\n", ["unknown key 'fail_on'", "did you mean 'fail-on'"]),
        ("samples = '2000'\n", ["samples must be an integer, not a string"]),
        ("samples = 0\n", ["samples", "0"]),
        ("fail-on = 'fatal'\n", ["fail-on", "'fatal' is not one of"]),
        ("probe = 'no'\n", ["probe must be true or false"]),
        ("ignore = 'OFL777'\n", ["ignore", "'OFL777' matches no rule"]),
        ("select = [3]\n", ["select must be a list of strings"]),
        (
            "[severity]\nOFL301 = 'fatal'\n",
            ["[severity] OFL301 must be one of info, warning, error"],
        ),
        ("[severity]\nOFL31 = 'error'\n", ["names no rule 'OFL31'", "did you mean"]),
        (
            "[thresholds.OFL399]\npatience = 3\n",
            ["[thresholds] names no rule 'OFL399'", "did you mean 'OFL", "rules are: OFL101"],
        ),
        (
            "[thresholds.diverging-validation-los]\npatience = 3\n",
            ["did you mean 'diverging-validation-loss'"],
        ),
        (
            "[thresholds.OFL301]\npatiense = 3\n",
            ["has no threshold 'patiense'", "did you mean 'patience'", "OFL301 has: min_epochs"],
        ),
        ("[thresholds.OFL301]\npatience = 'long'\n", ["patience must be an integer (default "]),
        ("[thresholds.OFL301]\nmin_rise = true\n", ["min_rise must be a number"]),
        ("[output]\nsarf = 'x'\n", ["has no format 'sarf'", "did you mean 'sarif'"]),
        ("[[models]]\nmodle = 'x.onnx'\n", ["unknown key 'modle'", "did you mean 'model'"]),
        ("[[models]]\nlogs = 'none/*.csv'\n", ["matches no file"]),
        ("[tool.overfitlint]\nsamples = 3\n", ["unknown key 'tool'", "settings are top-level"]),
        ("trust-pickle = true\n", ["unknown key 'trust-pickle'"]),
        ("device = 'tpu'\n", ["device: expected auto, cpu"]),  # the option's own check
        ("samples = \n", ["not valid TOML"]),
    ],
)
def test_config_errors_name_the_file_the_key_and_what_is_allowed(cli, project, toml, expected):
    config = write(project / "overfitlint.toml", toml)
    line = one_line_error(cli("check", "models/a/logs.csv", "--no-report", cwd=project))
    assert line.startswith(f"overfitlint: error: {config}: ")
    for text in expected:
        assert text in line, line


def test_pyproject_errors_name_the_table(cli, project):
    config = write(project / "pyproject.toml", "[tool.overfitlint]\njobs = -1\n")
    line = one_line_error(cli("check", "models/a/logs.csv", cwd=project))
    assert f"{config}: [tool.overfitlint] jobs" in line


def test_missing_config_file(cli, project):
    line = one_line_error(cli("check", "models/a/logs.csv", "--config", "nope.toml", cwd=project))
    assert "nope.toml: no such config file" in line


def test_unknown_selector_on_the_command_line_suggests(cli, project):
    line = one_line_error(cli("check", "models/a/logs.csv", "--ignore", "no-dropot", cwd=project))
    assert "matches no rule" in line and "did you mean 'no-dropout'" in line
