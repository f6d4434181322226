"""The rules of the house, read from the source (AST only: nothing here imports symgd).

Stages, lowest first: base → expr → calculus → numeric → render → lesson, handout, network →
cli. A module may import from its own stage or a lower one; lesson, handout and network may not
import each other. ``symgd/__init__.py`` and ``symgd/__main__.py`` are entry points and may import
any stage. Each failure names the file, the line and the import (or call) that breaks a rule.
See CONTRIBUTING.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symgd"
ROOT = PACKAGE.parent

RANK = {
    "base": 0,
    "expr": 1,
    "calculus": 2,
    "numeric": 3,
    "render": 4,
    "lesson": 5,
    "handout": 5,
    "network": 5,
    "cli": 6,
}
ENTRY_POINTS = {"symgd", "symgd.__main__"}
CORE = {"base", "expr", "calculus", "numeric"}
PRESENTATION = {"render", "lesson", "handout", "network", "cli"}
HEAVY_PRESENTATION_LIBRARIES = {"matplotlib", "jinja2", "weasyprint"}
# What lower stages may take from the package root: its own facts, never a lazily loaded name
# (that would hide an upward import behind symgd/__init__.py).
ROOT_FACTS = {"__version__"}

LAMBDIFY_HOME = "symgd/expr/lambdify.py"
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
# Generated-code templates may run longer than a hand-written function: each entry is
# "symgd/path.py" (a file) or "symgd/path.py:function", with the reason.
LENGTH_ALLOWED: dict[str, str] = {
    "symgd/numeric/numba_backend.py:batch_source": (
        "generated-code template: it writes the numba kernel's source line for line, and "
        "reads best as the one listing of the code it generates"
    ),
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen from the module that holds it."""

    importer: str  # dotted module name
    path: str  # file, relative to the repository
    line: int
    target: str  # dotted module name imported (a submodule when the name is one)
    names: tuple[str, ...]  # names taken by ``from target import ...`` (empty for ``import``)
    module_level: bool  # runs when the module is imported (not in a function, not TYPE_CHECKING)
    statement: str  # the import as written

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.statement}"


def module_name(file: Path) -> str:
    parts = list(file.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def relative(file: Path) -> str:
    return file.relative_to(ROOT).as_posix()


@cache
def source_files() -> tuple[Path, ...]:
    return tuple(sorted(PACKAGE.rglob("*.py")))


@cache
def tree(file: Path) -> ast.Module:
    return ast.parse(file.read_text(encoding="utf-8"), filename=str(file))


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "symgd" or len(parts) < 2 or module in ENTRY_POINTS:
        return None
    return parts[1]


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def walk_imports(
    node: ast.AST, module_level: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import under ``node``, with whether it runs at import time of the module."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, module_level
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from walk_imports(child, False)
        elif isinstance(child, ast.If) and is_type_checking(child.test):
            for statement in child.body:
                yield from walk_imports(ast.Module(body=[statement], type_ignores=[]), False)
            for statement in child.orelse:
                yield from walk_imports(ast.Module(body=[statement], type_ignores=[]), module_level)
        else:
            yield from walk_imports(child, module_level)


def absolute(importer: str, file: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if file.name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


@cache
def imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for file in source_files():
        importer = module_name(file)
        for node, module_level in walk_imports(tree(file), True):
            at = (importer, relative(file), node.lineno)
            written = ast.unparse(node)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(*at, alias.name, (), module_level, written))
                continue
            base = absolute(importer, file, node)
            taken = tuple(alias.name for alias in node.names)
            submodules = [name for name in taken if is_module(f"{base}.{name}")]
            for name in submodules:
                found.append(Import(*at, f"{base}.{name}", (name,), module_level, written))
            rest = tuple(name for name in taken if name not in submodules)
            if rest:
                found.append(Import(*at, base, rest, module_level, written))
        for call in ast.walk(tree(file)):  # importlib.import_module("symgd.x"): counted, as lazy
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute | ast.Name)
                and getattr(call.func, "attr", getattr(call.func, "id", "")) == "import_module"
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)
            ):
                written = ast.unparse(call)
                found.append(
                    Import(
                        importer,
                        relative(file),
                        call.lineno,
                        call.args[0].value,
                        (),
                        False,
                        written,
                    )
                )
    return tuple(found)


def internal(found: Import) -> bool:
    return found.target == "symgd" or found.target.startswith("symgd.")


def report(rule: str, violations: list[str]) -> str:
    return f"{rule}: {len(violations)} violation(s)\n  " + "\n  ".join(violations)


def check(rule: str, violations: list[str]) -> None:
    """Fail with one line per violation (and no repr of the list)."""
    if violations:
        pytest.fail(report(rule, violations), pytrace=False)


# --- stage rules -----------------------------------------------------------------------------


def test_every_module_belongs_to_a_stage() -> None:
    strays = [
        relative(file)
        for file in source_files()
        if module_name(file) not in ENTRY_POINTS and stage(module_name(file)) not in RANK
    ]
    check(f"modules outside the stages {sorted(RANK)} (add the stage to RANK, in order)", strays)


def test_stages_import_only_downward() -> None:
    violations = []
    for found in imports():
        source = stage(found.importer)
        if source is None or not internal(found):
            continue
        if found.target == "symgd":
            hidden = [name for name in found.names if name not in ROOT_FACTS]
            if hidden or not found.names:
                violations.append(
                    f"{found.where()}  (import from the stage module, not the package root)"
                )
            continue
        target = stage(found.target)
        if target is None or target == source or target not in RANK or source not in RANK:
            continue
        if RANK[target] > RANK[source]:
            violations.append(f"{found.where()}  ({source} may not import {target}: upward)")
        elif RANK[target] == RANK[source]:
            violations.append(f"{found.where()}  ({source} and {target} may not import each other)")
    check("stages import only downward", violations)


def test_core_never_imports_presentation_or_cli() -> None:
    violations = [
        f"{found.where()}  ({stage(found.importer)} → {stage(found.target)})"
        for found in imports()
        if stage(found.importer) in CORE and stage(found.target) in PRESENTATION
    ]
    check("expr/calculus/numeric import no presentation or cli", violations)


def test_core_never_imports_plotting_templating_or_pdf() -> None:
    violations = [
        found.where()
        for found in imports()
        if stage(found.importer) in CORE
        and found.target.split(".")[0] in HEAVY_PRESENTATION_LIBRARIES
    ]
    check(
        "base/expr/calculus/numeric import no matplotlib, jinja2 or weasyprint (even lazily)",
        violations,
    )


# --- cycles ----------------------------------------------------------------------------------


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one module, or a self-loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles_at_module_level() -> None:
    edges = [found for found in imports() if found.module_level and internal(found)]
    graph: dict[str, set[str]] = {}
    for found in edges:
        graph.setdefault(found.importer, set()).add(found.target)
    violations = []
    for component in strongly_connected(graph):
        members = set(component)
        lines = [
            found.where()
            for found in edges
            if found.importer in members and found.target in members
        ]
        violations.append(" ↔ ".join(component) + "\n    " + "\n    ".join(lines))
    check("module-level import cycles", violations)


# --- one lambdify call site ------------------------------------------------------------------


def source_line(file: Path, line: int) -> str:
    return file.read_text(encoding="utf-8").splitlines()[line - 1].strip()


def lambdify_calls(file: Path) -> Iterator[int]:
    """Lines that call SymPy's ``lambdify``: ``sp.lambdify(``, ``sympy.lambdify(``, and
    ``lambdify(`` unless that name is symgd's own (a wrapper defined or imported from symgd)."""
    module = tree(file)
    sympy_names: set[str] = set()  # names bound to sympy or its submodules
    lambdify_names = {"lambdify"}  # names that may be SymPy's lambdify
    own_names: set[str] = set()  # names bound to something of symgd's
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sympy":
                    sympy_names.add(alias.asname or alias.name.split(".")[0])
                elif alias.name.split(".")[0] == "symgd":
                    own_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = (node.module or "").split(".")[0]
            for alias in node.names:
                bound = alias.asname or alias.name
                if source == "sympy" and alias.name == "lambdify":
                    lambdify_names.add(bound)
                elif source == "sympy":
                    sympy_names.add(bound)
                elif source == "symgd" or node.level:
                    own_names.add(bound)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            own_names.add(node.name)
    for node in ast.walk(module):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in lambdify_names - own_names:
            yield node.lineno
        elif isinstance(func, ast.Attribute) and func.attr == "lambdify":
            root = func.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in own_names - sympy_names):
                yield node.lineno


def test_one_lambdify_call_site() -> None:
    sites = [
        f"{relative(file)}:{line}: {source_line(file, line)}"
        for file in source_files()
        for line in lambdify_calls(file)
    ]
    if len(sites) != 1:
        check(f"exactly one lambdify call site (in {LAMBDIFY_HOME}); found {len(sites)}", sites)
    if not sites[0].startswith(f"{LAMBDIFY_HOME}:"):
        check(f"the lambdify call site lives in {LAMBDIFY_HOME}", sites)


# --- size ------------------------------------------------------------------------------------


def test_no_file_over_limit() -> None:
    violations = []
    for file in source_files():
        lines = len(file.read_text(encoding="utf-8").splitlines())
        if lines > MAX_FILE_LINES and relative(file) not in LENGTH_ALLOWED:
            violations.append(f"{relative(file)}: {lines} lines")
    check(f"files over {MAX_FILE_LINES} lines", violations)


def test_no_function_over_limit() -> None:
    violations = []
    for file in source_files():
        for node in ast.walk(tree(file)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            key = f"{relative(file)}:{node.name}"
            if length > MAX_FUNCTION_LINES and key not in LENGTH_ALLOWED:
                violations.append(f"{relative(file)}:{node.lineno}: {node.name}, {length} lines")
    check(f"functions over {MAX_FUNCTION_LINES} lines", violations)


def test_length_allow_list_names_real_code() -> None:
    """An allow-list entry must point at a file (or function) that exists and give a reason."""
    stale = []
    for key, reason in LENGTH_ALLOWED.items():
        path, _, function = key.partition(":")
        file = ROOT / path
        exists = file.is_file() and (
            not function
            or any(
                isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
                for n in ast.walk(tree(file))
            )
        )
        if not exists or not reason.strip():
            stale.append(key)
    check("stale or unexplained LENGTH_ALLOWED entries", stale)
