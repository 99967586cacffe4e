"""vae_lib's modules import downwards only: no module reaches, directly or through others, back
to a module that imports it (DESIGN.md). Imports for type annotations count too: a circle
hidden behind ``if TYPE_CHECKING`` still means two modules that cannot be read one at a time.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vae_lib"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_vae_lib_modules(path: Path, known: set[str]) -> set[str]:
    """Every vae_lib module that ``path`` imports anywhere (top level, functions, TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from vae_lib import x` imports the module vae_lib.x when there is one
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def _import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph = {}
    for name, path in paths.items():
        # A package's __init__ re-exporting its submodules is not a layer violation.
        graph[name] = {m for m in _imported_vae_lib_modules(path, known)
                       if m != name and not (name and m.startswith(name + "."))}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path back to itself for every module that lies on a cycle (depth-first search)."""
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_vae_lib_modules_import_downwards_only():
    # vae_lib/__init__ imports the public modules for `import vae_lib`; leave it out.
    graph = {name: targets for name, targets in _import_graph().items() if name != "vae_lib"}
    graph = {name: targets - {"vae_lib"} for name, targets in graph.items()}
    cycles = [" → ".join(cycle) for cycle in _cycles(graph)]
    assert not cycles, "Modules that import each other in a circle:\n" + "\n".join(cycles)
