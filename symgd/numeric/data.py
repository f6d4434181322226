"""Data for ``symgd fit``: CSV loading with precise errors, and deterministic demo datasets.

A data file is a CSV with a header line naming the columns, then one example per line. Only the
columns the loss uses are read as numbers, so a file may carry other columns (names, labels as
text) alongside. Every problem is reported as an :class:`~symgd.base.errors.InputError` that names
the place: ``data.csv, row 3 (line 4), column 'x': 'abc' is not a number``. Rows count the data
lines from 1; the line number counts the file's lines, header included.

The demos are generated from a seeded numpy ``Generator``, so they are the same on every
machine and need no download. Errors and descriptions are written in the language in effect
(:mod:`symgd.base.i18n`); a dataset's ``source`` stays as given (:func:`source_text` puts the
names of data without a file into words).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symgd.base.errors import InputError
from symgd.base.files import read_input
from symgd.base.i18n import N_, _

#: the demo datasets ``symgd fit --demo NAME`` knows
DEMOS: tuple[str, ...] = ("linear", "logistic")

#: the most data rows symgd reads
MAX_ROWS = 10_000_000
#: the largest data file symgd reads (bytes, counted while reading); ``fit --data`` says so
MAX_DATA_BYTES = 256 * 1024 * 1024

#: a number as data holds it: ASCII digits, an optional sign, point and exponent, and nothing
#: else (``float()`` also takes ``1_000``, ``nan``, ``inf`` and digits of other scripts)
_NUMBER = re.compile(r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*", re.ASCII)
#: characters no valid cell can hold (the quick check of a whole column)
_NOT_NUMERIC = re.compile(r"[^0-9eE+\-. \t]", re.ASCII)
_NON_FINITE = {"nan", "inf", "infinity"}

#: the names a :class:`Dataset` without a file carries as its ``source`` (see
#: :func:`source_text`)
SOURCES = (N_("data"), N_("the linear demo"), N_("the logistic demo"))


def source_text(source: str) -> str:
    """Where data came from, in the language in effect (a file's name as it is)."""
    return _(source) if source in SOURCES else source


class MissingColumnError(InputError):
    """Columns the loss needs are not in the data; ``missing`` names them."""

    def __init__(self, message: str, missing: Sequence[str]) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Named numeric columns of equal length (float64, all finite)."""

    columns: Mapping[str, np.ndarray] = field(repr=False)
    source: str = "data"

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in file order."""
        return tuple(self.columns)

    @property
    def n_rows(self) -> int:
        """The number of examples."""
        first = next(iter(self.columns.values()), None)
        return 0 if first is None else len(first)

    def column(self, name: str) -> np.ndarray:
        """One column; :class:`InputError` naming the known columns when it is absent."""
        try:
            return self.columns[name]
        except KeyError:
            raise MissingColumnError(
                _missing_message(self.source, [name], self.names), [name]
            ) from None

    def select(self, names: Sequence[str]) -> tuple[np.ndarray, ...]:
        """The columns ``names``, in that order (every missing one named in one error)."""
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise MissingColumnError(_missing_message(self.source, missing, self.names), missing)
        return tuple(self.columns[n] for n in names)

    def to_csv(self) -> str:
        """The dataset as CSV text (floats written with ``repr``, so they read back exactly)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.names)
        arrays = [self.columns[n] for n in self.names]
        for row in zip(*arrays, strict=True):
            writer.writerow([repr(float(v)) for v in row])
        return buffer.getvalue()


@dataclass(frozen=True, eq=False)
class Demo:
    """A built-in dataset with the loss and parameters it is meant for."""

    name: str
    loss: str
    params: tuple[str, ...]
    data: Dataset
    description: str
    lr: float
    epochs: int
    truth: Mapping[str, float]


# -- CSV --------------------------------------------------------------------------------------


def load_csv(path: str | Path, columns: Sequence[str] | None = None) -> Dataset:
    """Read ``path``; ``columns`` are the ones that must be present and numeric (default: all).

    Errors name the file, the data row (from 1), the file line and the column. The file must
    be a regular file (not a FIFO or ``/dev/zero``) of at most :data:`MAX_DATA_BYTES`.
    """
    label = str(path)
    held = [read_input(Path(path), limit=MAX_DATA_BYTES, what="data file")]
    fast = _parse_plain(held, columns, label)
    if fast is not None:
        return fast
    raw = held[0]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            _("{source} is not UTF-8 text (byte {byte}); save it as UTF-8 CSV").format(
                source=label, byte=exc.start
            )
        ) from None
    return parse_csv(text, columns, source=label)


#: the bytes a plain numeric CSV body holds (anything else goes to the careful parser)
_PLAIN_BYTES = b"0123456789eE+-. \t,\r\n"


def _parse_plain(held: list[bytes], columns: Sequence[str] | None, source: str) -> Dataset | None:
    """The fast path for a file of plain numbers: ``numpy.loadtxt`` on the bytes after the
    header, ``None`` whenever anything is unusual (quotes, text, blank or ragged rows, a cell
    no number has, a value beyond the float range, too many rows), so that the careful parser
    reads the file again and names the row and column of the problem.

    Both paths turn every cell into the nearest float, so they give the same arrays. ``held``
    holds the file's bytes; it is emptied once the numbers are read, to free the memory early.
    """
    raw = held[0]
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    end = raw.find(b"\n", start)
    if end < 0:
        return None
    head = raw[start:end].rstrip(b"\r")
    # the characters of the whole file outside _PLAIN_BYTES must all be the header's
    outside = raw.translate(None, _PLAIN_BYTES)
    if not head.strip() or b'"' in head or outside != raw[: end + 1].translate(None, _PLAIN_BYTES):
        return None
    try:
        names = [h.strip() for h in head.decode("utf-8").split(",")]
    except UnicodeDecodeError:
        return None
    if not all(names):
        return None
    try:
        wanted = _wanted_columns(names, columns, source, 1)
    except InputError:
        return None  # the careful parser words it
    width = len(names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            body = io.BytesIO(raw)  # shares raw's buffer
            body.seek(end + 1)
            table = np.loadtxt(body, delimiter=",", dtype=float, ndmin=2)
    except ValueError:
        return None
    if table.shape[0] == 0 or table.shape[0] > MAX_ROWS or table.shape[1] != width:
        return None
    used = [names.index(n) for n in wanted]
    if not np.isfinite(table[:, used]).all():
        return None
    del raw, body
    held.clear()
    picked = {n: np.ascontiguousarray(table[:, i]) for n, i in zip(wanted, used, strict=True)}
    return Dataset(picked, source)


def parse_csv(text: str, columns: Sequence[str] | None = None, *, source: str = "data") -> Dataset:
    """Parse CSV ``text`` (see :func:`load_csv`)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header, header_line = _header(reader, source)
        rows, lines = _rows(reader, len(header), source)
    except csv.Error as exc:
        raise InputError(
            _("{source}, line {line}: not valid CSV ({error})").format(
                source=_shown_source(source), line=reader.line_num, error=exc
            )
        ) from None
    names = [h.strip() for h in header]
    wanted = _wanted_columns(names, columns, source, header_line)
    if not rows:
        raise InputError(
            _("{source} has a header (line {line}) but no data rows").format(
                source=_shown_source(source), line=header_line
            )
        )
    data: dict[str, np.ndarray] = {}
    for name in wanted:
        index = names.index(name)
        cells = [row[index] for row in rows]
        data[name] = _to_floats(cells, name, lines, source)
    return Dataset(data, source)


def _wanted_columns(
    names: list[str], columns: Sequence[str] | None, source: str, header_line: int
) -> list[str]:
    """The columns to read: each present once in the header (errors name the header line)."""
    wanted = list(dict.fromkeys(columns)) if columns is not None else [n for n in names if n]
    missing = [n for n in wanted if n not in names]
    if missing:
        raise MissingColumnError(
            _missing_message(source, missing, tuple(n for n in names if n), header_line), missing
        )
    for name in wanted:
        where = [i + 1 for i, n in enumerate(names) if n == name]
        if len(where) > 1:
            raise InputError(
                _(
                    "{source}, header (line {line}): column {name} appears {count} times "
                    "(positions {positions})"
                ).format(
                    source=_shown_source(source),
                    line=header_line,
                    name=repr(name),
                    count=len(where),
                    positions=", ".join(map(str, where)),
                )
            )
    return wanted


def _header(reader: Any, source: str) -> tuple[list[str], int]:
    for record in reader:
        if not record or all(not cell.strip() for cell in record):
            continue
        return record, reader.line_num
    raise InputError(
        _(
            "{source} is empty: it needs a header line naming the columns, then one line per "
            "example"
        ).format(source=_shown_source(source))
    )


def _rows(reader: Any, width: int, source: str) -> tuple[list[list[str]], list[int]]:
    rows: list[list[str]] = []
    lines: list[int] = []
    for record in reader:
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if len(record) != width:
            raise InputError(
                _ragged(_row_place(source, len(rows) + 1, reader.line_num), len(record), width)
            )
        rows.append(record)
        lines.append(reader.line_num)
        if len(rows) > MAX_ROWS:
            raise InputError(
                _("{source} has more than {most} rows").format(
                    source=_shown_source(source), most=f"{MAX_ROWS:,}"
                )
            )
    return rows, lines


def _ragged(place: str, fields: int, width: int) -> str:
    """A row with ``fields`` cells where the header names ``width`` columns."""
    if fields == 1:
        message = (
            _("{place}: {fields} field, but the header names {width} column")
            if width == 1
            else _("{place}: {fields} field, but the header names {width} columns")
        )
    else:
        message = (
            _("{place}: {fields} fields, but the header names {width} column")
            if width == 1
            else _("{place}: {fields} fields, but the header names {width} columns")
        )
    return message.format(place=place, fields=fields, width=width)


def _to_floats(cells: list[str], name: str, lines: Sequence[int] | None, source: str) -> np.ndarray:
    """Convert one column, naming the first bad cell by row, line and column.

    A cell is a decimal number in ASCII (``-1.5``, ``2e-3``, spaces or tabs around it). Python's
    ``float`` takes more (``1_000``, ``nan``, ``inf``, ``１２``): those are refused by name, and
    so is a number beyond the float range (``1e400``).
    """
    try:
        if _NOT_NUMERIC.search("".join(cells)):
            raise ValueError("a cell holds a character no number has")
        values = np.array(cells, dtype=float)
        if not np.isfinite(values).all():
            raise ValueError("a value is beyond the float range")
    except ValueError:
        for i, cell in enumerate(cells):
            problem = _cell_problem(cell)
            if problem is not None:
                raise InputError(_cell_error(_place(source, i, lines), name, problem)) from None
        raise InputError(
            _("{source}, column {name}: a value is not a number").format(
                source=_shown_source(source), name=repr(name)
            )
        ) from None
    return values


def _cell_error(place: str, name: str, problem: str) -> str:
    return _("{place}, column {name}: {problem}").format(
        place=place, name=repr(name), problem=problem
    )


def _cell_problem(cell: str) -> str | None:
    """What is wrong with one cell as a number, or ``None`` when it is a finite number."""
    text = cell.strip(" \t")
    shown = _shown(text)
    if not text:
        return _("is empty")
    if text.lstrip("+-").lower() in _NON_FINITE:
        return _not_finite().format(value=shown)
    if not _NUMBER.fullmatch(cell):
        if "_" in text and _NUMBER.fullmatch(cell.replace("_", "")):
            return _("{value} is not a number (write it without '_': {plain})").format(
                value=shown, plain=text.replace("_", "")
            )
        if any(c.isdigit() and not c.isascii() for c in text):
            return _("{value} is not a number (use the ASCII digits 0-9)").format(value=shown)
        return _("{value} is not a number").format(value=shown)
    if not np.isfinite(float(text)):
        return _(
            "{value} is not a finite number (it is beyond the float range, about ±1.8e308)"
        ).format(value=shown)
    return None


def _not_finite() -> str:
    return _("{value} is not a finite number (NaN and infinity cannot be fitted)")


def _check_finite(
    values: np.ndarray,
    name: str,
    lines: Sequence[int] | None,
    source: str,
    shown: Sequence[str] | None = None,
) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        text = _shown(shown[i]) if shown is not None else repr(float(values[i]))
        raise InputError(
            _cell_error(_place(source, i, lines), name, _not_finite().format(value=text))
        )


def _place(source: str, index: int, lines: Sequence[int] | None) -> str:
    """``data.csv, row 3 (line 4)``: the data row ``index + 1`` and its line in the file."""
    return _row_place(source, index + 1, None if lines is None else lines[index])


def _row_place(source: str, row: int, line: int | None) -> str:
    if line is None:
        return _("{source}, row {row}").format(source=_shown_source(source), row=row)
    return _("{source}, row {row} (line {line})").format(
        source=_shown_source(source), row=row, line=line
    )


def _shown_source(source: str) -> str:
    return source_text(source)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _missing_message(
    source: str, missing: Sequence[str], known: Sequence[str], header_line: int | None = None
) -> str:
    place = (
        _("{source}, header (line {line})").format(source=_shown_source(source), line=header_line)
        if header_line is not None
        else _shown_source(source)
    )
    listed = ", ".join(repr(m) for m in missing)
    columns = ", ".join(known) if known else _("none")
    message = (
        _("{place}: no columns named {names}; the columns are: {columns}")
        if len(missing) > 1
        else _("{place}: no column named {names}; the columns are: {columns}")
    )
    return message.format(place=place, names=listed, columns=columns)


# -- arrays and other tables ------------------------------------------------------------------


def from_columns(
    data: Any, columns: Sequence[str] | None = None, *, source: str = "data"
) -> Dataset:
    """A :class:`Dataset` from a mapping of name → 1-D numbers (a dict, a pandas DataFrame).

    ``columns`` are the ones that must be present (default: all); each is checked to be 1-D,
    numeric and finite, with errors naming the row and column.
    """
    if isinstance(data, Dataset):
        if columns is None:
            return data
        return Dataset(dict(zip(columns, data.select(columns), strict=True)), data.source)
    if not hasattr(data, "keys") or not hasattr(data, "__getitem__"):
        raise InputError(
            _(
                "data must be a CSV path, a Dataset or a mapping of column name to values, "
                "got {kind}"
            ).format(kind=type(data).__name__)
        )
    names = [str(k) for k in data.keys()]  # noqa: SIM118  (a DataFrame is not a Mapping)
    wanted = list(dict.fromkeys(columns)) if columns is not None else names
    missing = [n for n in wanted if n not in names]
    if missing:
        raise MissingColumnError(_missing_message(source, missing, names), missing)
    out: dict[str, np.ndarray] = {}
    length: int | None = None
    for name in wanted:
        raw = data[name]
        raw = raw.to_numpy() if hasattr(raw, "to_numpy") else raw
        try:
            values = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            cells = list(np.asarray(raw, dtype=object).reshape(-1))
            for i, cell in enumerate(cells):
                try:
                    float(cell)
                except (TypeError, ValueError):
                    problem = _("{value} is not a number").format(value=_shown(str(cell)))
                    raise InputError(_cell_error(_place(source, i, None), name, problem)) from None
            raise InputError(
                _("{source}, column {name}: the values are not numbers").format(
                    source=_shown_source(source), name=repr(name)
                )
            ) from None
        if values.ndim != 1:
            raise InputError(
                _(
                    "{source}, column {name}: expected one value per row (1-D), got shape {shape}"
                ).format(source=_shown_source(source), name=repr(name), shape=values.shape)
            )
        if length is None:
            length = len(values)
        elif len(values) != length:
            raise InputError(
                _("{source}: column {name} has {rows} rows, but {first} has {length}").format(
                    source=_shown_source(source),
                    name=repr(name),
                    rows=len(values),
                    first=repr(wanted[0]),
                    length=length,
                )
            )
        _check_finite(values, name, None, source)
        out[name] = np.ascontiguousarray(values)
    if not length:
        raise InputError(_("{source} has no rows").format(source=_shown_source(source)))
    return Dataset(out, source)


# -- demos ------------------------------------------------------------------------------------


def demo(name: str, *, rows: int = 200, seed: int = 0) -> Demo:
    """The built-in dataset ``name`` (``"linear"`` or ``"logistic"``), same on every machine.

    - ``linear``: x uniform on [-2, 2], y = 3x + 2 + Gaussian noise (σ = 0.5); the loss is the
      squared error of the line w·x + b.
    - ``logistic``: x Gaussian (σ = 1.5), y ∈ {0, 1} drawn with P(y = 1) = σ(2x - 1); the loss is
      the cross-entropy of σ(w·x + b).
    """
    if name not in DEMOS:
        raise InputError(
            _("unknown demo {name}; choose one of {names}").format(
                name=repr(name), names=", ".join(DEMOS)
            )
        )
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 2:
        raise InputError(_("a demo needs at least 2 rows, got {rows}").format(rows=repr(rows)))
    rng = np.random.default_rng(seed)
    if name == "linear":
        x = rng.uniform(-2.0, 2.0, rows)
        y = 3.0 * x + 2.0 + rng.normal(0.0, 0.5, rows)
        return Demo(
            name,
            "(y - (w*x + b))**2",
            ("w", "b"),
            Dataset({"x": x, "y": y}, SOURCES[1]),
            _(
                "{rows} points near the line y = 3x + 2 (x uniform on [−2, 2], Gaussian noise "
                "with σ = 0.5), fitted by least squares"
            ).format(rows=rows),
            lr=0.1,
            epochs=100,
            truth={"w": 3.0, "b": 2.0},
        )
    x = rng.normal(0.0, 1.5, rows)
    chance = 1.0 / (1.0 + np.exp(-(2.0 * x - 1.0)))
    y = (rng.uniform(0.0, 1.0, rows) < chance).astype(float)
    return Demo(
        name,
        "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))",
        ("w", "b"),
        Dataset({"x": x, "y": y}, SOURCES[2]),
        _(
            "{rows} labels y ∈ {{0, 1}} drawn with P(y = 1) = σ(2x − 1) (x Gaussian with "
            "σ = 1.5), fitted by logistic regression with the cross-entropy loss"
        ).format(rows=rows),
        lr=0.8,
        epochs=250,
        truth={"w": 2.0, "b": -1.0},
    )


def describe(dataset: Dataset) -> str:
    """One line about the data: rows and columns."""
    n, names = dataset.n_rows, ", ".join(dataset.names)
    message = (
        (_("{n} row; column {names}") if n == 1 else _("{n} rows; column {names}"))
        if len(dataset.names) == 1
        else (_("{n} row; columns {names}") if n == 1 else _("{n} rows; columns {names}"))
    )
    return message.format(n=f"{n:,}", names=names)
