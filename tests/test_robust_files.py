"""Files: outputs written safely, inputs read with limits, templates kept to data, CSV numbers."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from click.testing import CliRunner

import symgd
from symgd.base import files as files
from symgd.base.errors import InputError
from symgd.base.files import (
    answer_key_path,
    check_output,
    output_folder,
    read_input,
    size_text,
    write_atomically,
)
from symgd.cli import cli
from symgd.lesson.page import Lesson
from symgd.numeric import data as data_module
from symgd.numeric.data import MAX_DATA_BYTES, load_csv, parse_csv
from symgd.render.templates import (
    CONTEXT_EXTRAS,
    LESSON_TEMPLATE,
    _shipped_names,
    make_env,
    render_html,
    templates_path,
)

SOURCE = Path(__file__).resolve().parents[1] / "templates"
SUMMARY = "partials/summary.html.jinja2"
PROBE = "partials/probe.jinja2"


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``symgd ARGS`` in a fresh process that is killed after ``timeout`` seconds."""
    return subprocess.run(
        [sys.executable, "-m", "symgd", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def only_files(folder: Path) -> list[str]:
    """Everything under ``folder`` but real folders (links are listed, not followed)."""
    found = []
    for parent, dirs, names in os.walk(folder):
        found += [Path(parent, n) for n in names]
        found += [Path(parent, d) for d in dirs if Path(parent, d).is_symlink()]
    return sorted(p.relative_to(folder).as_posix() for p in found)


def tiny_lesson() -> Lesson:
    """A lesson whose page is already rendered (saving needs no lesson work)."""
    return Lesson(
        {"function": {"source": "x**2"}},
        None,
        (),
        None,  # type: ignore[arg-type]
        "<p>lesson</p>",
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def user_templates(tmp_path: Path) -> Path:
    """A copy of symgd's templates a test may change."""
    folder = tmp_path / "templates"
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return folder


def append(folder: Path, name: str, text: str) -> int:
    """Add ``text`` as the last line of template ``name``; return that line's number."""
    path = folder / name
    old = path.read_text(encoding="utf-8")
    if not old.endswith("\n"):
        old += "\n"
    path.write_text(old + text + "\n", encoding="utf-8")
    return old.count("\n") + 1


# -- outputs: links, devices, FIFOs, folders ---------------------------------------------------


def test_a_symlink_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    with pytest.raises(InputError, match=r"symbolic link .*--follow-symlinks"):
        write_atomically(link, b"new")
    assert victim.read_text() == "keep me" and link.is_symlink()
    assert only_files(tmp_path) == ["report.html", "victim.txt"]


def test_follow_symlinks_replaces_what_the_link_points_to(tmp_path: Path) -> None:
    victim = tmp_path / "real.html"
    victim.write_text("old")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    assert write_atomically(link, b"new", follow_symlinks=True) == link
    assert link.is_symlink() and victim.read_bytes() == b"new"
    assert only_files(tmp_path) == ["real.html", "report.html"]


@pytest.mark.parametrize("target", ["/dev/null", "fifo", "folder"])
def test_a_target_that_is_not_a_regular_file_is_refused(tmp_path: Path, target: str) -> None:
    path = Path(target) if target.startswith("/") else tmp_path / target
    if target == "fifo":
        os.mkfifo(path)
    elif target == "folder":
        path.mkdir()
    kind = stat.S_IFMT(path.stat().st_mode)
    with pytest.raises(InputError, match="not a regular file"):
        write_atomically(path, b"data")
    assert stat.S_IFMT(path.stat().st_mode) == kind
    # a link to such a target is refused even when links are followed
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(InputError, match="not a regular file"):
        write_atomically(link, b"data", follow_symlinks=True)


def test_dev_null_and_a_fifo_as_handout_output_exit_2_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "sheet.pdf")
    for output in ("/dev/null", "sheet.pdf"):
        result = run_cli(["handout", "x**2", "-o", output], tmp_path, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "not a regular file" in result.stderr and len(result.stderr.splitlines()) == 1
    assert stat.S_ISFIFO((tmp_path / "sheet.pdf").stat().st_mode)


def test_a_folder_where_fit_html_goes_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "out" / "fit.html").mkdir(parents=True)
    result = runner.invoke(cli, ["fit", "--demo", "linear", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "fit.html exists and is a folder" in result.stderr


def test_a_symlinked_output_folder_is_refused_without_the_option(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    result = runner.invoke(cli, ["fit", "--demo", "linear", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "symbolic link" in result.stderr and "--follow-symlinks" in result.stderr
    assert list((tmp_path / "real").iterdir()) == []
    with pytest.raises(InputError, match="symbolic link"):
        tiny_lesson().save(tmp_path / "out")
    path = tiny_lesson().save(tmp_path / "out", follow_symlinks=True)
    assert path == tmp_path / "out" / "report.html"
    assert (tmp_path / "real" / "report.html").read_text() == "<p>lesson</p>"


def test_saving_a_lesson_into_a_file_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    with pytest.raises(InputError, match="is a file, not a folder"):
        tiny_lesson().save(blocker)
    with pytest.raises(InputError, match="is a file, not a folder"):
        tiny_lesson().save_pdf(blocker)
    assert blocker.read_text() == "mine"


def test_explain_writes_only_its_report_and_follows_a_link_when_asked(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to("real")
    result = runner.invoke(
        cli,
        ["explain", "x**2", "--methods", "gd", "--steps", "10", "-o", "out", "--follow-symlinks"],
    )
    assert result.exit_code == 0, result.output
    assert only_files(tmp_path) == ["out", "real/report.html"]
    assert stat.S_IMODE((tmp_path / "real" / "report.html").stat().st_mode) == 0o644


# -- outputs: names, leftovers, permissions ---------------------------------------------------


@pytest.mark.parametrize("length", [250, 255])
def test_a_very_long_output_name_works(tmp_path: Path, length: int) -> None:
    path = tmp_path / ("a" * (length - 4) + ".pdf")
    write_atomically(path, b"%PDF")
    write_atomically(path, b"%PDF again")
    assert path.read_bytes() == b"%PDF again"
    assert only_files(tmp_path) == [path.name]


def test_no_temporary_file_is_left_after_success(tmp_path: Path) -> None:
    write_atomically(tmp_path / "deep" / "report.html", b"<p>")
    assert only_files(tmp_path) == ["deep/report.html"]


def test_a_failed_write_leaves_no_temporary_file_and_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomically(target, b"new report")
    assert only_files(tmp_path) == ["report.html"]
    assert target.read_text() == "old report"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_an_unwritable_folder_is_an_error_without_leftovers(
    runner: CliRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = runner.invoke(cli, ["handout", "x**2", "-o", str(folder / "h.pdf")])
        assert result.exit_code == 2 and "cannot write" in result.stderr
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_a_new_file_is_readable_like_a_normal_file(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "a.html", b"a")
        os.umask(0o022)
        write_atomically(tmp_path / "b.html", b"b")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.html").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "b.html").stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "key.json"
    target.write_text("{}")
    target.chmod(0o640)
    write_atomically(target, b"[]")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_bytes() == b"[]"


# -- the handout's key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "key"),
    [
        ("week3.pdf", "week3.json"),
        ("handout", "handout.json"),
        ("h.json", "h.key.json"),
        ("H.JSON", "H.key.json"),
        ("dir.v2/sheet", "dir.v2/sheet.json"),
    ],
)
def test_the_key_never_takes_the_handouts_name(output: str, key: str) -> None:
    assert answer_key_path(Path(output)) == Path(key)


def test_a_key_name_too_long_is_refused() -> None:
    with pytest.raises(InputError, match="255 bytes"):
        answer_key_path(Path("a" * 251 + ".pdf"))


@pytest.mark.pdf
def test_handout_json_output_keeps_the_pdf(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["handout", "x**2", "-o", str(tmp_path / "h.json"), "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "h.json").read_bytes().startswith(b"%PDF")
    key = json.loads((tmp_path / "h.key.json").read_text(encoding="utf-8"))
    assert isinstance(key, dict)
    assert only_files(tmp_path) == ["h.json", "h.key.json"]


# -- inputs -----------------------------------------------------------------------------------


def test_a_fifo_as_data_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "points.csv")
    result = run_cli(
        ["fit", "(y - (w*x + b))**2", "--data", "points.csv", "--params", "w,b"],
        tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: data file points.csv is a named pipe (FIFO), not a regular file"
    )


def test_a_fifo_as_expression_file_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "functions.txt")
    result = run_cli(["handout", "--from", "functions.txt"], tmp_path, timeout=60)
    assert result.returncode == 2
    assert "functions.txt is a named pipe (FIFO), not a regular file" in result.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_data_is_refused(tmp_path: Path, device: str) -> None:
    result = run_cli(
        ["fit", "(y - (w*x + b))**2", "--data", device, "--params", "w,b"], tmp_path, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: data file {device} is a device, not a regular file"


def test_a_data_file_over_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = tmp_path / "big.csv"
    csv.write_text("x,y\n" + "1,2\n" * 100)
    monkeypatch.setattr(data_module, "MAX_DATA_BYTES", 100)
    with pytest.raises(InputError, match=r"big.csv is larger than 100 bytes, the most"):
        load_csv(csv)
    monkeypatch.setattr(data_module, "MAX_DATA_BYTES", 404)
    assert load_csv(csv).n_rows == 100


def test_the_cap_is_counted_while_reading() -> None:
    # /proc files say they are empty (st_size 0) but are not
    assert Path("/proc/self/status").stat().st_size == 0
    with pytest.raises(InputError, match="larger than 10 bytes"):
        read_input("/proc/self/status", limit=10, what="data file")


def test_a_link_to_a_regular_file_is_fine_as_input(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "points.csv")
    assert load_csv(tmp_path / "link.csv").n_rows == 2


def test_the_caps_are_in_the_help(runner: CliRunner) -> None:
    from symgd.cli.handout import MAX_FILE_BYTES

    def help_text(command: str) -> str:
        return " ".join(runner.invoke(cli, [command, "--help"]).output.split())

    assert f"at most {size_text(MAX_DATA_BYTES)})" in help_text("fit")
    assert f"at most {size_text(MAX_FILE_BYTES)})" in help_text("handout")


# -- CSV numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("1_000", "'1_000' is not a number (write it without '_': 1000)"),
        ("１２", "'１２' is not a number (use the ASCII digits 0-9)"),
        ("nan", "'nan' is not a finite number"),
        ("NaN", "'NaN' is not a finite number"),
        ("inf", "'inf' is not a finite number"),
        ("-Infinity", "'-Infinity' is not a finite number"),
        ("  1e400", "'1e400' is not a finite number (it is beyond the float range"),
        ("0x10", "'0x10' is not a number"),
        ("\u00a01", "'\\xa01' is not a number"),
        ("1.2.3", "'1.2.3' is not a number"),
    ],
)
def test_numbers_python_accepts_but_data_must_not(cell: str, problem: str) -> None:
    with pytest.raises(InputError) as info:
        parse_csv(f"x,y\n1,2\n3,{cell}\n", source="d.csv")
    assert str(info.value).startswith(f"d.csv, row 2 (line 3), column 'y': {problem}")
    assert "\n" not in str(info.value)


def test_plain_numbers_still_read() -> None:
    data = parse_csv("x\n 1e-3 \n+.5\n5.\n-2E+2\n\t7\n1e-400\n")
    assert data.columns["x"].tolist() == [0.001, 0.5, 5.0, -200.0, 7.0, 0.0]


# -- templates --------------------------------------------------------------------------------


ATTACKS = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ namespace.__init__.__globals__.__builtins__.open('MARKER', 'w') }}",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_sandbox_stops_a_template_reaching_python(
    attack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(jinja2.exceptions.SecurityError):
        make_env().from_string(attack.replace("MARKER", str(tmp_path / "marker"))).render()
    assert not (tmp_path / "marker").exists() and not (tmp_path / "MARKER").exists()


def test_a_users_template_cannot_run_commands(
    runner: CliRunner, user_templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    line = append(user_templates, SUMMARY, ATTACKS[0].replace("MARKER", str(marker)))
    result = runner.invoke(
        cli,
        [
            "explain",
            "x**2",
            "--methods",
            "gd",
            "--steps",
            "10",
            "--templates",
            str(user_templates),
            "-o",
            "out",
        ],
    )
    assert result.exit_code == 2
    assert not marker.exists() and not (tmp_path / "out").exists()
    assert result.stderr.startswith(
        f"Error: template {user_templates / SUMMARY}, line {line}: refused by the template sandbox"
    )


def test_template_errors_are_reported_before_the_lesson_is_worked(
    runner: CliRunner, user_templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the lesson was worked out before the templates were checked")

    monkeypatch.setattr(importlib.import_module("symgd.calculus.derivation"), "derive", no_work)
    line = append(user_templates, SUMMARY, "{% if %}")
    result = runner.invoke(cli, ["explain", "x**2", "--templates", str(user_templates)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Error: template {user_templates / SUMMARY}, line {line}: "
        "Expected an expression, got 'end of statement block'\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ summary.title }}{{ nosuchvar }}", "'nosuchvar' is undefined"),
        (
            '{% include "partials/missing.html.jinja2" %}',
            "there is no template 'partials/missing.html.jinja2'",
        ),
        ('{% import "nowhere.jinja2" as m %}', "there is no template 'nowhere.jinja2'"),
        ("{{ 1 | no_such_filter }}", "No filter named 'no_such_filter'"),
        ("{% for x in y %}", "Unexpected end of template"),
    ],
)
def test_a_broken_user_template_names_its_file_and_line(
    user_templates: Path, text: str, message: str
) -> None:
    line = append(user_templates, SUMMARY, text)
    with pytest.raises(InputError) as info:
        make_env(user_templates)
    assert str(info.value).startswith(f"template {user_templates / SUMMARY}, line ")
    assert message in str(info.value)
    if "Unexpected end" not in message:
        assert f", line {line}: " in str(info.value)


def test_names_the_pages_pass_are_all_allowed_in_a_users_template(user_templates: Path) -> None:
    names = (
        "function",
        "settings",
        "settings_values",
        "sections",
        "section",
        "variants",
        "blocks",
        "fit",
        "generator",
        "title",
        "language",
    )
    append(user_templates, SUMMARY, "".join(f"{{{{ {n} is defined }}}}" for n in names))
    make_env(user_templates)


def test_a_name_tested_before_use_is_not_an_error(user_templates: Path) -> None:
    append(
        user_templates,
        SUMMARY,
        "{% if logo is defined %}{{ logo }}{% endif %}{{ motto | default('') }}",
    )
    make_env(user_templates)


def test_every_context_name_is_known_to_the_template_check() -> None:
    from symgd.handout import build_handout, handout_context

    known = _shipped_names(str(templates_path(None))) | CONTEXT_EXTRAS
    lesson = symgd.explain("x**2", methods="gd", steps=10)
    assert set(lesson.context) <= known
    assert set(handout_context(build_handout(["x**2"]))) <= known


def test_a_copy_of_the_templates_renders_the_same_page(user_templates: Path) -> None:
    lesson = symgd.explain("x**2 + 2*x*y", methods="gd", steps=10)
    assert render_html(lesson.context, make_env(user_templates)) == render_html(lesson.context)


def test_a_render_time_error_names_the_file_and_line(user_templates: Path) -> None:
    (user_templates / PROBE).write_text("<p>\n{{ summary.no_such_attribute }}\n")
    template = make_env(user_templates).get_template(PROBE)
    with pytest.raises(InputError) as info:
        template.render(summary={"paragraphs": []})
    assert str(info.value) == (
        f"template {user_templates / PROBE}, line 2: 'dict object' "
        "has no attribute 'no_such_attribute'"
    )


@pytest.mark.parametrize(
    "name", ["../secret.css", "/etc/passwd", "partials/../../secret.css", "escape.css"]
)
def test_inline_file_reads_only_inside_the_templates_folder(
    user_templates: Path, name: str
) -> None:
    secret = user_templates.parent / "secret.css"
    secret.write_text("SECRET")
    (user_templates / "escape.css").symlink_to(secret)
    inline_file = make_env(user_templates).globals["inline_file"]
    with pytest.raises(jinja2.exceptions.SecurityError, match="outside the templates folder"):
        inline_file(name)
    (user_templates / PROBE).write_text(f'<style>\n{{{{ inline_file("{name}") }}}}\n')
    template = make_env(user_templates).get_template(PROBE)
    with pytest.raises(InputError, match=r"probe\.jinja2, line 2: refused by the template sandbox"):
        template.render()


def test_inline_file_still_reads_the_stylesheets(user_templates: Path) -> None:
    (user_templates / "style.css").write_text("body { color: teal }")
    inline_file = make_env(user_templates).globals["inline_file"]
    assert str(inline_file("style.css")) == "body { color: teal }"
    assert "@page" in str(inline_file("print.css"))


def test_inline_file_refuses_a_fifo(user_templates: Path) -> None:
    (user_templates / "style.css").unlink()
    os.mkfifo(user_templates / "style.css")
    env = make_env(user_templates)
    with pytest.raises(InputError, match="named pipe"):
        env.globals["inline_file"]("style.css")
    (user_templates / PROBE).write_text('<style>\n{{ inline_file("style.css") }}\n')
    with pytest.raises(InputError, match=r"probe\.jinja2, line 2: file .* named pipe"):
        env.get_template(PROBE).render()


def test_a_template_linking_out_of_its_folder_is_refused(user_templates: Path) -> None:
    outside = user_templates.parent / "outside.jinja2"
    outside.write_text("{{ summary }}")
    (user_templates / SUMMARY).unlink()
    (user_templates / SUMMARY).symlink_to(outside)
    with pytest.raises(InputError, match=r"outside the templates folder"):
        make_env(user_templates)


def test_the_lesson_template_must_be_present(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=LESSON_TEMPLATE):
        make_env(tmp_path)


def test_output_folder_and_check_output_accept_new_paths(tmp_path: Path) -> None:
    assert check_output(tmp_path / "new.pdf") == tmp_path / "new.pdf"
    assert output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()


def test_a_template_that_renders_for_too_long_is_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    shutil.copytree(templates_path(None), folder)
    (folder / "slow.html.jinja2").write_text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    script = (
        "import sys, symgd.render.templates as r\n"
        "r.MAX_RENDER_SECONDS = 0.5\n"
        "try:\n"
        f"    r.make_env({str(folder)!r}).get_template('slow.html.jinja2').render()\n"
        "except r.RenderTimeout as exc:\n"
        "    print(exc)\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    # in a child process with a deadline of its own, so that a failure cannot hang the suite
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "took more than 0.5 s" in done.stdout


def test_an_expression_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    from symgd.cli.handout import _read_problems

    listing = tmp_path / "f.txt"
    listing.write_bytes("\ufeffx**2 + y**2\n# a comment\nw**2\n".encode())
    assert [p.source for p in _read_problems((), listing)] == ["x**2 + y**2", "w**2"]
