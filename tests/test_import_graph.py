"""The package's modules import one another without cycles (``TYPE_CHECKING`` and function-level imports count).

Every module of ``src/swapnet`` is parsed with :mod:`ast`; each ``import`` / ``from ... import``
anywhere in it (module level, under ``if TYPE_CHECKING:``, inside functions) that names a
``swapnet`` module becomes an edge of the module graph:

- ``import swapnet.a.b`` and ``from swapnet.a import b`` (``b`` a submodule) are edges to
  ``swapnet.a.b``; ``from swapnet.a import name`` (``name`` not a submodule) is an edge to
  ``swapnet.a`` (its ``__init__``); relative imports are resolved against the importing module.
- Importing a submodule runs its packages' ``__init__`` first, but that is not counted as an edge
  from the importer to those packages: only a package named literally is (``import swapnet.a``,
  ``from swapnet import a`` where ``a`` is a package, ``from swapnet.a import name``).
- A package's ``__init__`` importing its own submodules is an ordinary edge.

The test fails listing every cycle it finds (one per strongly connected component, shortest).
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = "swapnet"


def _modules(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``src/swapnet`` (packages as their ``__init__``)."""
    out: dict[str, Path] = {}
    for f in sorted((src / ROOT).rglob("*.py")):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _is_package(name: str, mods: dict[str, Path]) -> bool:
    return name in mods and mods[name].name == "__init__.py"


def _resolve_from(node: ast.ImportFrom, module: str, mods: dict[str, Path]) -> str | None:
    """The absolute module a ``from X import ...`` names (relative levels resolved), or None if foreign."""
    if node.level:
        base = module.split(".") if _is_package(module, mods) else module.split(".")[:-1]
        if node.level > 1:
            base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    return target if target == ROOT or target.startswith(ROOT + ".") else None


def imports_of(module: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The ``swapnet`` modules ``module`` imports anywhere in its file (see the module docstring)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if name == ROOT or name.startswith(ROOT + "."):
                    # the longest known module the dotted name names
                    while name not in mods and "." in name:
                        name = name.rsplit(".", 1)[0]
                    if name in mods:
                        out.add(name)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_from(node, module, mods)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in mods:
                    out.add(sub)  # a submodule (or subpackage, i.e. its __init__)
                elif target in mods:
                    out.add(target)  # a name defined in (or re-exported by) the module/package
    out.discard(module)
    return out


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the ``swapnet`` modules it imports."""
    mods = _modules(src)
    return {m: imports_of(m, p, mods) for m, p in mods.items()}


def _sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative) with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _shortest_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first within the component)."""
    members = set(comp)
    start = comp[0]
    parent: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if w not in seen:
                seen.add(w)
                parent[w] = v
                queue.append(w)
    return comp  # pragma: no cover - a component always holds a cycle


def cycles(src: Path = SRC) -> dict[tuple[str, ...], list[str]]:
    """Each cyclic component (sorted modules) -> one shortest cycle in it."""
    graph = import_graph(src)
    return {tuple(c): _shortest_cycle(graph, c) for c in _sccs(graph)}


# ------------------------------------------------------------------ the checker's own tests
def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        f = root / ROOT / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return root


def test_checker_sees_type_checking_function_and_relative_imports(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from swapnet.b import B\n",
            "b.py": "def f():\n    from .c import g\n",
            "c.py": "import swapnet.a\n",
            "d.py": "from swapnet import a\n",
        },
    )
    found = cycles(src)
    assert list(found) == [("swapnet.a", "swapnet.b", "swapnet.c")]
    assert found[("swapnet.a", "swapnet.b", "swapnet.c")] == ["swapnet.a", "swapnet.b", "swapnet.c", "swapnet.a"]


def test_checker_package_rules(tmp_path: Path) -> None:
    """``__init__`` -> own submodule is an edge; a sibling import through the package is not one to ``__init__``."""
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "p/__init__.py": "from swapnet.p.x import X\n",
            "p/x.py": "from swapnet.p.y import Y\nfrom swapnet.p import y\n",
            "p/y.py": "from . import z\n",
            "p/z.py": "",
        },
    )
    graph = import_graph(src)
    assert graph["swapnet.p"] == {"swapnet.p.x"}
    assert graph["swapnet.p.x"] == {"swapnet.p.y"}
    assert graph["swapnet.p.y"] == {"swapnet.p.z"}
    assert cycles(src) == {}
    # a submodule naming the package itself is an edge to its __init__, hence a cycle here
    (src / ROOT / "p" / "z.py").write_text("from swapnet.p import X\n", encoding="utf-8")
    assert list(cycles(src)) == [("swapnet.p", "swapnet.p.x", "swapnet.p.y", "swapnet.p.z")]


# ------------------------------------------------------------------ the package itself
def _report(found: dict[tuple[str, ...], list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in found.values())


def test_graph_covers_the_package() -> None:
    """Every file is a node, and edges of each kind are seen (top level, ``TYPE_CHECKING``, relative)."""
    graph = import_graph()
    assert len(graph) == len(list((SRC / ROOT).rglob("*.py")))
    assert {"swapnet.study.model", "swapnet.study.pipeline"} <= graph["swapnet.study.spec"]
    assert "swapnet.study.spec" in graph["swapnet.study"]  # a package's __init__ -> its submodule
    assert "swapnet.optim" in graph["swapnet.cli"]  # an import inside a function


def test_no_import_cycles() -> None:
    found = cycles()
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found.values())
