"""The public API as a reader meets it: examples that run, pdoc pages that show each name,
an ``import symgd`` that loads nothing heavy, and one version."""

from __future__ import annotations

import ast
import doctest
import html
import importlib
import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest

import symgd

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "numpy", "matplotlib", "jinja2", "weasyprint", "numba", "click")
# Entry points that are not (yet) in symgd.__all__ but get an example all the same.
ENTRY_POINTS = {"build_handout": "symgd.handout"}


# Named without loading them: collecting these tests must not import SymPy.
PUBLIC = sorted(name for name in (*symgd._EAGER, *symgd._LAZY) if name != "__version__")


def public_object(name: str) -> Any:
    if name in ENTRY_POINTS:
        return getattr(importlib.import_module(ENTRY_POINTS[name]), name)
    return getattr(symgd, name)


def public_objects() -> dict[str, Any]:
    """Every public function and class, and the entry points."""
    return {name: public_object(name) for name in [*PUBLIC, *ENTRY_POINTS]}


def examples(name: str, obj: Any) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj), exclude_empty=True)
    module = inspect.getmodule(obj)
    return [test for test in finder.find(obj, f"symgd.{name}", module=module) if test.examples]


# --- doctests --------------------------------------------------------------------------------


def run_examples(tests: list[doctest.DocTest]) -> str:
    out: list[str] = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    for test in tests:
        runner.run(test, out=out.append)
    return "".join(out)


@pytest.mark.parametrize("name", sorted([*PUBLIC, *ENTRY_POINTS]))
def test_public_examples_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``>>>`` example of a public name runs and prints what it shows (in a temporary
    folder, so an example that writes files leaves nothing behind)."""
    monkeypatch.chdir(tmp_path)
    failures = run_examples(examples(name, public_object(name)))
    assert not failures, f"the examples of symgd.{name} fail:\n{failures}"


#: modules (other than the public names' own) whose docstrings hold ``>>>`` examples
EXAMPLE_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "symgd").rglob("*.py")
    if ">>>" in path.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("module", EXAMPLE_MODULES)
def test_module_examples_run(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples anywhere in the package run too, not only those of the public names."""
    monkeypatch.chdir(tmp_path)
    imported = importlib.import_module(module)
    tests = [t for t in doctest.DocTestFinder().find(imported, module) if t.examples]
    assert tests, f"{module} mentions >>> but has no example doctest can find"
    failures = run_examples(tests)
    assert not failures, f"the examples in {module} fail:\n{failures}"


def test_package_docstring_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tests = doctest.DocTestFinder(recurse=False).find(symgd, "symgd")
    assert any(test.examples for test in tests)
    failures = run_examples(tests)
    assert not failures, failures


def test_every_public_function_has_an_example() -> None:
    """A public function shows how it is called; a class is shown by the function that
    returns it (its own examples run when it has some)."""
    missing = sorted(
        name
        for name, obj in public_objects().items()
        if inspect.isroutine(obj) and not examples(name, obj)
    )
    assert not missing, f"public functions without a >>> example in their docstring: {missing}"


# --- pdoc ------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """The words of a docstring or of rendered HTML, without markup."""
    text = re.sub(r":[\w:]+:`~?([^`<]+?)(?:\s*<[^>]+>)?`", r"\1", text)  # :class:`X` -> X
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.findall(r"[^\W_]+", text)


def contains(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) + 1))


@pytest.fixture(scope="module")
def pdoc_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """``pdoc symgd`` through pdoc's API: the page, and what pdoc warned about."""
    import pdoc  # in the test extra

    out = tmp_path_factory.mktemp("pdoc")
    here = Path.cwd()
    os.chdir(out)  # away from a source checkout, where pdoc would ask which symgd is meant
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pdoc.pdoc("symgd", output_directory=out)
    finally:
        os.chdir(here)
    said = sorted({str(warning.message) for warning in caught})
    return (out / "symgd.html").read_text(encoding="utf-8"), said


@pytest.fixture(scope="module")
def pdoc_page(pdoc_build: tuple[str, list[str]]) -> str:
    return pdoc_build[0]


def test_pdoc_builds_without_warnings(pdoc_build: tuple[str, list[str]]) -> None:
    """A warning means a name or an annotation pdoc could not resolve (shown as plain text)."""
    said = pdoc_build[1]
    assert not said, "pdoc warned:\n  " + "\n  ".join(said)


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{re.escape(name)}">(.*?)</section>', page, re.S)
    assert found, f"pdoc has no section for symgd.{name}"
    return found.group(1)


@pytest.mark.parametrize("name", PUBLIC)
def test_pdoc_documents_each_public_name(pdoc_page: str, name: str) -> None:
    """``pdoc symgd`` shows each public name with its docstring (lazily loaded names were
    once empty headings)."""
    body = section(pdoc_page, name)
    docstring = re.search(r'<div class="docstring">(.*?)</div>', body, re.S)
    assert docstring, f"pdoc's section for symgd.{name} has no docstring"
    summary = words(inspect.getdoc(getattr(symgd, name)) or "")[:12]
    assert summary, f"symgd.{name} has no docstring"
    assert contains(words(docstring.group(1)), summary), (
        f"pdoc's section for symgd.{name} does not show its docstring ({' '.join(summary)} ...)"
    )


def test_pdoc_shows_the_version(pdoc_page: str) -> None:
    assert symgd.__version__ in html.unescape(section(pdoc_page, "__version__"))


# --- the package root ------------------------------------------------------------------------


def test_import_symgd_loads_nothing_heavy() -> None:
    code = f"import sys, symgd\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", f"import symgd loaded {done.stdout.strip()}"


def test_lazy_names_come_from_the_modules_named() -> None:
    """``_LAZY`` is the one list of lazily loaded names: each is defined where it says."""
    for name, module in symgd._LAZY.items():
        obj = getattr(symgd, name)
        assert getattr(obj, "__module__", None) == module, (
            f"symgd.{name} is defined in {getattr(obj, '__module__', '?')}, _LAZY says {module}"
        )
    assert set(symgd.__all__) == {"ExpressionError", "InputError", "__version__", *symgd._LAZY}
    assert set(symgd.__all__) <= set(dir(symgd))


def test_typed_imports_match_the_lazy_table() -> None:
    """The ``TYPE_CHECKING`` imports (what type checkers see) are the names in ``_LAZY``,
    each from its module."""
    module = ast.parse((ROOT / "symgd" / "__init__.py").read_text(encoding="utf-8"))
    typed: dict[str, str] = {}
    for node in module.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    typed |= {alias.name: statement.module or "" for alias in statement.names}
    assert typed == symgd._LAZY


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        symgd.nope  # noqa: B018


# --- one version -----------------------------------------------------------------------------


def test_version_lives_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "symgd.__version__"}
    assert importlib.metadata.version("symgd") == symgd.__version__


def test_every_subpackage_ships() -> None:
    """``[tool.setuptools] packages`` is an explicit list: a new subpackage (a folder with an
    ``__init__.py``, or a folder of templates) that is not in it is left out of the wheel, and
    CI installs the wheel."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(project["tool"]["setuptools"]["packages"])
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "symgd").rglob("__init__.py")
    }
    packages |= {  # templates/ ships as symgd.templates, each folder as a package
        ".".join(("symgd", *folder.relative_to(ROOT).parts))
        for folder in [ROOT / "templates", *(ROOT / "templates").rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }
    missing = sorted(packages - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
