"""CSV loading and validation (errors name row, line and column) and the seeded demos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from symgd.base.errors import InputError
from symgd.numeric.data import (
    DEMOS,
    Dataset,
    MissingColumnError,
    demo,
    from_columns,
    load_csv,
    parse_csv,
)


def test_reads_columns_as_floats_in_header_order() -> None:
    data = parse_csv("x,y\n1,2\n-3.5, 4e2 \n", source="d.csv")
    assert data.names == ("x", "y") and data.n_rows == 2
    np.testing.assert_array_equal(data.column("x"), [1.0, -3.5])
    np.testing.assert_array_equal(data.column("y"), [2.0, 400.0])
    assert data.column("y").dtype == np.float64


def test_only_the_needed_columns_must_be_numeric() -> None:
    data = parse_csv("name,x,y\nann,1,2\nbob,3,4\n", ["y", "x"])
    assert data.names == ("y", "x")
    np.testing.assert_array_equal(data.select(["x"])[0], [1.0, 3.0])


def test_bom_crlf_and_blank_lines() -> None:
    text = "\ufeffx,y\r\n1,2\r\n\r\n3,oops\r\n"
    with pytest.raises(InputError) as info:
        parse_csv(text, ["x", "y"], source="f.csv")
    # the blank line is skipped: the bad cell is the second data row, on the file's 4th line
    assert "f.csv, row 2 (line 4), column 'y': 'oops' is not a number" in str(info.value)
    ok = parse_csv("\ufeffx,y\r\n1,2\r\n\r\n3,4\r\n")
    assert ok.names == ("x", "y") and ok.n_rows == 2


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("x,y\n1,2\n3,abc\n", ["row 2", "line 3", "column 'y'", "'abc' is not a number"]),
        ("x,y\n1,2\n3,4\n5,\n", ["row 3", "line 4", "column 'y'", "is empty"]),
        ("x,y\n1,2\n2,nan\n", ["row 2", "line 3", "column 'y'", "'nan'", "not a finite"]),
        ("x,y\ninf,2\n", ["row 1", "line 2", "column 'x'", "'inf'", "not a finite"]),
        ("x,y\n1,-Infinity\n", ["row 1", "column 'y'", "not a finite"]),
        ("x,y\n1,1e999\n", ["row 1", "column 'y'", "'1e999'", "not a finite"]),
        ("x,y\n1,2\n3\n", ["row 2", "line 3", "1 field", "2 columns"]),
        ("x,y\n1,2,3\n", ["row 1", "line 2", "3 fields"]),
        ("x,x,y\n1,2,3\n", ["column 'x' appears 2 times", "line 1"]),
    ],
)
def test_bad_cells_name_row_line_and_column(text: str, pieces: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_csv(text, ["x", "y"], source="d.csv")
    message = str(info.value)
    assert message.startswith("d.csv")
    for piece in pieces:
        assert piece in message


def test_missing_column_names_it_and_lists_the_columns() -> None:
    with pytest.raises(MissingColumnError) as info:
        parse_csv("x,z\n1,2\n", ["x", "y", "q"], source="d.csv")
    assert info.value.missing == ("y", "q")
    assert "header (line 1)" in str(info.value)
    assert "'y', 'q'" in str(info.value) and "x, z" in str(info.value)


@pytest.mark.parametrize("text", ["", "\n\n", "  \n , \n"])
def test_empty_file(text: str) -> None:
    with pytest.raises(InputError, match="is empty"):
        parse_csv(text, ["x"], source="e.csv")


def test_header_without_rows() -> None:
    with pytest.raises(InputError, match="no data rows"):
        parse_csv("x,y\n\n", ["x"], source="h.csv")


def test_load_csv_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        load_csv(tmp_path)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"x,y\n\xff\xfe,1\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_csv(binary)
    good = tmp_path / "g.csv"
    good.write_text("a,b\n1,2\n", encoding="utf-8")
    assert load_csv(good).source == str(good)


def test_from_columns_checks_rows_and_shapes() -> None:
    data = from_columns(
        {"x": [1, 2, 3], "y": np.array([1.0, 2.0, 3.0]), "s": ["a", "b", "c"]}, ["x", "y"]
    )
    assert data.names == ("x", "y") and data.column("x").dtype == np.float64
    with pytest.raises(InputError, match=r"row 2, column 'y': .* not a finite"):
        from_columns({"x": [1, 2], "y": [1.0, np.nan]})
    with pytest.raises(InputError, match=r"row 2, column 'x': 'b' is not a number"):
        from_columns({"x": ["1", "b"]})
    with pytest.raises(InputError, match="has 3 rows"):
        from_columns({"x": [1, 2], "y": [1, 2, 3]})
    with pytest.raises(InputError, match="1-D"):
        from_columns({"x": [[1, 2], [3, 4]]})
    with pytest.raises(MissingColumnError):
        from_columns({"x": [1]}, ["y"])
    with pytest.raises(InputError, match="no rows"):
        from_columns({"x": []})
    with pytest.raises(InputError, match="mapping"):
        from_columns(42)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64, st.integers(1, 20), elements=st.floats(allow_nan=False, allow_infinity=False)
    )
)
def test_csv_round_trip_is_exact(values: np.ndarray) -> None:
    data = Dataset({"a": values, "b": -values})
    back = parse_csv(data.to_csv(), ["a", "b"])
    np.testing.assert_array_equal(back.column("a"), values)
    np.testing.assert_array_equal(back.column("b"), -values)


@pytest.mark.parametrize("name", DEMOS)
def test_demos_are_deterministic(name: str) -> None:
    one, two = demo(name), demo(name)
    for column in one.data.names:
        np.testing.assert_array_equal(one.data.column(column), two.data.column(column))
    other = demo(name, seed=1)
    assert not np.array_equal(one.data.column("x"), other.data.column("x"))
    assert one.data.n_rows == 200 and one.params == ("w", "b")


def test_linear_demo_follows_its_line() -> None:
    data = demo("linear").data
    x, y = data.column("x"), data.column("y")
    assert x.min() >= -2 and x.max() <= 2
    slope, intercept = np.polyfit(x, y, 1)
    assert abs(slope - 3) < 0.2 and abs(intercept - 2) < 0.2
    assert 0.35 < np.std(y - (3 * x + 2)) < 0.65


def test_logistic_demo_labels() -> None:
    data = demo("logistic", rows=2000).data
    x, y = data.column("x"), data.column("y")
    assert set(np.unique(y)) == {0.0, 1.0}
    # P(y = 1 | x) = σ(2x − 1): far right almost all ones, far left almost all zeros
    assert y[x > 2].mean() > 0.9 and y[x < -1].mean() < 0.1


def test_unknown_demo_and_bad_rows() -> None:
    with pytest.raises(InputError, match="unknown demo"):
        demo("quadratic")
    with pytest.raises(InputError, match="at least 2 rows"):
        demo("linear", rows=1)


# -- the fast path for plain numeric files and the careful one agree --------------------------


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the careful parser was used")


def plain_file(tmp_path: Path, text: str, name: str = "plain.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_fast_and_careful_loaders_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1e3, 300), rng.uniform(-1, 1, 300) * 1e-300])
    forms: list[Callable[[float], str]] = [
        repr,
        "{:.6e}".format,
        "{:g}".format,
        "{:+.17g}".format,
        lambda v: f" {v!r}\t",
    ]
    lines = [
        f"{forms[i % 5](float(v))},{forms[(i + 2) % 5](float(-v))},7" for i, v in enumerate(values)
    ]
    lines[5] = ".5,1.,+2e3"  # leading and trailing points, a sign and an exponent
    text = "\ufeffx, y ,z\r\n" + "\r\n".join(lines[:50]) + "\r\n\r\n" + "\n".join(lines[50:]) + "\n"
    path = plain_file(tmp_path, text)
    careful = parse_csv(text, ["y", "x"], source=str(path))
    import symgd.numeric.data as data_module

    monkeypatch.setattr(data_module, "parse_csv", _refuse)  # the fast path must read it alone
    fast = load_csv(path, ["y", "x"])
    assert fast.names == careful.names == ("y", "x") and fast.n_rows == len(values)
    for name in ("x", "y"):
        np.testing.assert_array_equal(fast.column(name), careful.column(name))
        assert fast.column(name).flags.c_contiguous and fast.column(name).dtype == np.float64
    assert fast.column("x")[5] == 0.5 and fast.column("y")[5] == 1.0
    # every column when none are named, in file order
    assert load_csv(path).names == ("x", "y", "z")


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64, st.integers(1, 40), elements=st.floats(allow_nan=False, allow_infinity=False)
    ),
    st.sampled_from(["{!r}", "{:.3e}", "{:.17g}", "{:f}"]),
)
def test_fast_path_reads_what_the_careful_parser_reads(values: np.ndarray, form: str) -> None:
    import tempfile

    text = "a,b\n" + "".join(f"{form.format(v)},{form.format(-v)}\n" for v in values.tolist())
    with tempfile.TemporaryDirectory() as folder:
        path = plain_file(Path(folder), text)
        try:
            careful = parse_csv(text, source=str(path))
        except InputError as refused:  # 1.798e+308 rounds beyond the float range
            with pytest.raises(InputError) as info:
                load_csv(path)
            assert str(info.value) == str(refused)
            return
        fast = load_csv(path)
    for name in ("a", "b"):
        np.testing.assert_array_equal(fast.column(name), careful.column(name))


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("abc", "'abc' is not a number"),
        ("", "is empty"),
        ("nan", "'nan' is not a finite number"),
        ("1e999", "'1e999' is not a finite number"),
        ("1_000", "write it without '_'"),
        ("--2", "'--2' is not a number"),
        ("1.5e", "'1.5e' is not a number"),
    ],
)
def test_a_bad_cell_in_a_large_plain_file_is_named(tmp_path: Path, cell: str, problem: str) -> None:
    rows = [f"{i * 0.25!r},{i * 0.5!r}" for i in range(3000)]
    rows[1233] = f"{1233 * 0.25!r},{cell}"
    text = "x,y\n" + "\n".join(rows) + "\n"
    path = plain_file(tmp_path, text)
    with pytest.raises(InputError) as fast:
        load_csv(path, ["x", "y"])
    with pytest.raises(InputError) as careful:
        parse_csv(text, ["x", "y"], source=str(path))
    message = str(fast.value)
    assert message == str(careful.value)
    assert f"{path}, row 1234 (line 1235), column 'y': " in message and problem in message


def test_ragged_and_quoted_plain_files_go_to_the_careful_parser(tmp_path: Path) -> None:
    rows = [f"{i},{2 * i}" for i in range(500)]
    rows[99] = "1,2,3"
    with pytest.raises(InputError, match=r"row 100 \(line 101\): 3 fields"):
        load_csv(plain_file(tmp_path, "x,y\n" + "\n".join(rows) + "\n"), ["x", "y"])
    quoted = plain_file(tmp_path, 'x,"y"\n1,"2"\n3,4\n', "quoted.csv")
    assert load_csv(quoted, ["x", "y"]).column("y").tolist() == [2.0, 4.0]
    with pytest.raises(InputError, match="header"):
        load_csv(plain_file(tmp_path, "x,x\n1,2\n", "twice.csv"), ["x"])
    with pytest.raises(InputError, match="no data rows"):
        load_csv(plain_file(tmp_path, "x,y\n", "empty.csv"), ["x", "y"])
