"""The layering contract: imports flow one way, no cycles, no rule codes in probe/ or render/.

The contracts live in pyproject.toml ([tool.importlinter]); `lint-imports` checks them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "overfitlint"
RULE_CODE = re.compile(rb"OFL[0-9]{3}")
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout


def test_a_broken_contract_fails_the_run(tmp_path: Path):
    config = tmp_path / "contracts.toml"
    config.write_text(
        f'[tool.importlinter]\nroot_package = "{PACKAGE}"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "checks without the engine"\n'
        'type = "forbidden"\n'
        'source_modules = ["overfitlint.checks"]\n'
        'forbidden_modules = ["overfitlint.engine"]\n'
    )
    result = lint_imports("--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checks without the engine BROKEN" in result.stdout
    assert "overfitlint.checks." in result.stdout  # it names the importing module


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the graph (its nodes, the first repeated at the end), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles_between_top_level_subpackages():
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    tops = sorted(graph.find_children(PACKAGE))
    edges = {
        top: {
            other
            for other in tops
            if other != top
            and graph.direct_import_exists(importer=top, imported=other, as_packages=True)
        }
        for top in tops
    }
    assert len(tops) > 10  # the graph was built from the package, not an empty stand-in
    assert any(edges.values())
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or ())


def test_probe_and_render_name_no_rule_code():
    """Rule codes belong to the rule files and the checks; the probe and the renderers read
    what they need from the catalogue."""
    hits = []
    for folder in ("probe", "render"):
        for path in sorted((ROOT / PACKAGE / folder).rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            for number, line in enumerate(path.read_bytes().splitlines(), 1):
                if RULE_CODE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.decode().strip()}")
    assert not hits, "\n".join(hits)
