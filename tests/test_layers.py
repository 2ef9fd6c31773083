"""The dependency layers, read from the source with ``ast``: no import cycle between modules,
no arrow the wrong way.

Every ``import`` of a project module in ``agents/``, ``model/``, ``experiments/`` and
``viz/`` counts, at the top of a module or inside a function; imports of other packages
(numpy, mesa, ...) do not. The allowed arrows::

    agents                -> model.units, model.stance_hazard, model.mining_costs; model.config for type hints only
                             (under TYPE_CHECKING)
    model                 -> agents
    experiments.base      -> model            (provenance, outdir: shared by runs, sweeps, studies)
    experiments.runs      -> model, base      (one run's outputs and figures)
    experiments.sweep     -> model, base      (the engine)
    experiments.analysis  -> sweep            (reads sweep folders), model, base
    experiments.studies   -> sweep, analysis, model, base
    experiments.validation-> model, sweep, analysis, ensemble, base (the backtests' ensembles)
    experiments.ema       -> sweep, analysis, model, base
    experiments.ensemble  -> sweep, analysis, model, base (ensembles: a sweep and its bands)
    experiments.cli       -> everything       (the command line; ``__main__`` too)
    viz                   -> model
    data                  <- anyone           (the packaged tables; imports nothing of ours)

Imports under ``if TYPE_CHECKING:`` are never executed: they count for the arrows (an agent's
type hint still may only name ``model.config``) but not for cycles. A failure prints each
offending import as ``file:line``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "model", "experiments", "viz")
FIRST_PARTY = set(PACKAGES) | {"data"}

ALLOWED: dict[str, set[str]] = {
    "agents": set(),  # plus the modules in AGENTS_MAY_USE, checked apart
    "model": {"agents"},
    "experiments.base": {"model"},
    "experiments.runs": {"model", "experiments.base"},
    "experiments.sweep": {"model", "experiments.base"},
    "experiments.analysis": {"model", "experiments.base", "experiments.sweep"},
    "experiments.studies": {"model", "experiments.base", "experiments.sweep", "experiments.analysis"},
    "experiments.validation": {"model", "experiments.base", "experiments.sweep", "experiments.analysis",
                               "experiments.ensemble"},
    "experiments.ema": {"model", "experiments.base", "experiments.sweep", "experiments.analysis"},
    "experiments.ensemble": {"model", "experiments.base", "experiments.sweep", "experiments.analysis"},
    "experiments.cli": {"agents", "model", "experiments.base", "experiments.runs", "experiments.sweep",
                        "experiments.analysis", "experiments.studies", "experiments.validation", "experiments.ema",
                        "experiments.ensemble", "viz"},
    "viz": {"model"},
    "data": set(),
}
#: What an agent may import from the model: its units at run time, the stance hazard's one
#: statement (the form fitted to the policy panel, shared with experiments/validation/policy_fit.py,
#: so the equation exists once), a machine's costs (shared with the validation's data-only
#: checks, experiments/validation/halving_margins.py, for the same reason), its config only as types.
AGENTS_MAY_USE = {"model.units": "always", "model.stance_hazard": "always", "model.mining_costs": "always",
                  "model.config": "types"}
#: Arrows the wrong way that are known and being removed, with why; the test fails when one
#: of them is gone (delete its entry then), so this list cannot go stale.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    source: str       # the importing module
    target: str       # the imported project module (or package)
    file: Path
    line: int
    types_only: bool  # under ``if TYPE_CHECKING:``

    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}: {self.source} -> {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module ``name`` names: itself, or the longest known prefix (a package)."""
    if name.split(".")[0] not in FIRST_PARTY:
        return None
    while name and name not in known and name.split(".")[0] != "data":
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    typed = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[:len(up) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            # ``from pkg import mod`` imports the module pkg.mod when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for t in dict.fromkeys(targets):
            target = resolve(t, known)
            if target is not None and target != name:
                found.append(Import(name, target, path, node.lineno, node.lineno in typed))
    return found


def layer(module: str) -> str:
    top = module.split(".")[0]
    if top != "experiments":
        return top
    parts = module.split(".")
    sub = parts[1] if len(parts) > 1 else ""
    if sub in ("sweep", "analysis", "studies", "validation", "cli", "runs", "ema", "ensemble"):
        return f"experiments.{sub}"
    if sub == "__main__":
        return "experiments.cli"
    return "experiments.base"  # experiments (the package), provenance, outdir


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    known = modules()
    return [imp for name, path in known.items() for imp in imports_of(name, path, known)]


def test_the_graph_is_read(graph):
    """The reader sees what it must (so that the tests below cannot pass on an empty graph)."""
    edges = {(i.source, i.target) for i in graph}
    assert ("model.model", "agents.miner") in edges
    assert ("experiments.cli", "experiments.analysis.analyze") in edges  # a function-level import
    assert ("experiments.analysis.analyze", "experiments.sweep.results") in edges
    assert any(i.types_only and i.source.startswith("agents.") for i in graph)
    assert {layer(i.source) for i in graph} >= set(ALLOWED) - {"data"}


def test_every_arrow_points_the_allowed_way(graph):
    wrong, seen_known = [], set()
    for imp in graph:
        src, dst = layer(imp.source), layer(imp.target)
        if src == dst or dst == "data":
            continue
        if src == "agents" and imp.target in AGENTS_MAY_USE:
            if AGENTS_MAY_USE[imp.target] == "types" and not imp.types_only:
                wrong.append(f"{imp.where()}  ({imp.target} is for type hints only: import it under "
                             "TYPE_CHECKING)")
            continue
        if dst in ALLOWED[src]:
            continue
        if (imp.source, imp.target) in KNOWN:
            seen_known.add((imp.source, imp.target))
            continue
        wrong.append(f"{imp.where()}  ({src} may import {', '.join(sorted(ALLOWED[src])) or 'nothing of ours'}"
                     + (", model.units, model.stance_hazard and model.config (types)" if src == "agents" else "")
                         + ")")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)
    stale = set(KNOWN) - seen_known
    assert not stale, f"KNOWN lists arrows that are gone: delete {sorted(stale)} from tests/test_layers.py"


def test_no_import_cycle_between_modules(graph):
    edges: dict[str, dict[str, Import]] = {}
    for imp in graph:
        if not imp.types_only:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    cycles = _cycles(edges)
    text = []
    for cycle in cycles:
        text.append(" -> ".join(cycle + [cycle[0]]))
        for a, b in zip(cycle, cycle[1:] + cycle[:1]):
            text.append(f"    {edges[a][b].where()}")
    assert not cycles, "import cycles:\n" + "\n".join(text)


def _cycles(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """One cycle (as a list of modules) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [_one_cycle(sorted(c)[0], set(c), edges) for c in components]


def _one_cycle(start: str, members: set[str], edges: dict[str, dict[str, Import]]) -> list[str]:
    """A shortest cycle through ``start`` inside one component (breadth first)."""
    prev: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in edges.get(v, {}):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return path[::-1]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def test_the_checks_catch_a_wrong_arrow_and_a_cycle():
    """The two checks on a made-up graph: a cycle is found and printed with its lines."""
    f = ROOT / "experiments" / "cli.py"
    a_b = Import("x.a", "x.b", f, 3, False)
    b_a = Import("x.b", "x.a", f, 7, False)
    cycles = _cycles({"x.a": {"x.b": a_b}, "x.b": {"x.a": b_a}})
    assert cycles == [["x.a", "x.b"]]
    assert layer("experiments.sweep.runner") == "experiments.sweep"
    assert "experiments.studies" not in ALLOWED[layer("experiments.sweep.spec")]
    assert layer("experiments.provenance") == "experiments.base" and layer("experiments.__main__") == "experiments.cli"
