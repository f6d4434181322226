"""A student's answer cell, split into the pieces a grader compares: the answer forms.

Every form is split here by a small bracket-aware splitter, and each scalar piece goes on to
:func:`symgd.expr.parser.parse` (never to ``eval`` or ``sympify``):

- an expression: ``2x + 2y``, ``cos(x)^2``, ``−x`` (the parser's own syntax);
- a vector: ``(a, b)`` (the brackets may be left out: ``a, b``; ``[a, b]`` works too);
- a matrix: ``[[a, b], [c, d]]`` (or rows split by ``;``: ``[a, b; c, d]``);
- a set of points: ``(0, 0); (1, -1)``, each point optionally followed by its kind
  (``(0, 0) saddle; (1, 0): minimum``); ``none`` (or ``∅``, ``{}``, ``없음``) for no point;
- a number: a decimal, a fraction or an exact form (``sqrt(2)/2``);
- a word: a kind (``minimum``, ``maximum``, ``saddle``, ``degenerate``) or yes/no.

The word tables map each spelling to one meaning, so other languages join by adding words:
Korean is there already (극소점, 극대점, 안장점, 예, 아니요).

>>> split_top("(1, -1); (sqrt(2)/2, 0)", ";")
['(1, -1)', '(sqrt(2)/2, 0)']
>>> vector_parts("(2x + 2y, 2x)")
['2x + 2y', '2x']
>>> matrix_parts("[[2, 2], [2, 0]]")
[['2', '2'], ['2', '0']]
>>> point_items("(0, 0) saddle; (1, 0): 극소점")
[('(0, 0)', 'saddle'), ('(1, 0)', 'minimum')]
>>> yes_no("아니요, 발산한다")
False
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgd.base.errors import InputError
from symgd.base.files import read_input
from symgd.base.i18n import _

__all__ = [
    "EMPTY_SET_WORDS",
    "KIND_WORDS",
    "MAX_ANSWERS_BYTES",
    "MAX_CELL",
    "MAX_COLUMNS",
    "MAX_KEY_BYTES",
    "MAX_ROWS",
    "YES_NO_WORDS",
    "AnswerTable",
    "RowProblem",
    "answer_columns",
    "answer_table",
    "key_variants",
    "kind_word",
    "load_key",
    "matrix_parts",
    "point_items",
    "read_answer_table",
    "read_answers",
    "split_top",
    "unwrap",
    "variant_number",
    "vector_parts",
    "yes_no",
]

#: each kind of critical point and the ways to write it (compared case-folded)
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "minimum": (
        "minimum",
        "min",
        "minimiser",
        "minimizer",
        "local minimum",
        "local min",
        "minimum point",
        "극소",
        "극소점",
        "극솟점",
        "극솟값",
    ),
    "maximum": (
        "maximum",
        "max",
        "maximiser",
        "maximizer",
        "local maximum",
        "local max",
        "maximum point",
        "극대",
        "극대점",
        "극댓점",
        "극댓값",
    ),
    "saddle": ("saddle", "saddle point", "안장점", "안장"),
    "degenerate": ("degenerate", "inconclusive", "undecided", "판정 불가", "판정불가"),
}

#: yes and no, and the ways to write them
YES_NO_WORDS: dict[bool, tuple[str, ...]] = {
    True: ("yes", "y", "true", "converges", "it converges", "예", "네", "참", "수렴"),
    False: (
        "no",
        "n",
        "false",
        "diverges",
        "does not converge",
        "아니요",
        "아니오",
        "아니",
        "거짓",
        "발산",
    ),
}

#: an empty set of critical points
EMPTY_SET_WORDS = ("none", "no critical points", "no critical point", "∅", "{}", "없음", "없다")

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


def split_top(text: str, separator: str) -> list[str]:
    """``text`` split at each ``separator`` outside brackets, each piece stripped.

    :class:`InputError` for brackets that do not pair up (``(1, 2]``, ``(1, 2``).
    """
    pieces: list[str] = []
    stack: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char in _OPENERS:
            stack.append(char)
        elif char in _CLOSERS:
            if not stack or stack[-1] != _CLOSERS[char]:
                raise InputError(
                    _("the bracket {bracket} at character {n} has no partner").format(
                        bracket=repr(char), n=index + 1
                    )
                )
            stack.pop()
        elif char == separator and not stack:
            pieces.append(text[start:index].strip())
            start = index + 1
    if stack:
        raise InputError(_("the bracket {bracket} is never closed").format(bracket=repr(stack[-1])))
    pieces.append(text[start:].strip())
    return pieces


def unwrap(text: str) -> tuple[str, str | None]:
    """The inside of ``text`` when one pair of brackets encloses all of it, and the opening
    bracket; else ``(text, None)``. ``(x+1)*(x-1)`` is not enclosed by one pair."""
    text = text.strip()
    if not text or text[0] not in _OPENERS:
        return text, None
    depth = 0
    for index, char in enumerate(text):
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
            if depth == 0:
                if index == len(text) - 1 and _OPENERS[text[0]] == char:
                    return text[1:-1].strip(), text[0]
                return text, None
    return text, None


def vector_parts(text: str) -> list[str]:
    """The components of a vector: ``(a, b)``, ``[a, b]`` or ``a, b``; one piece for ``a``."""
    inner, _bracket = unwrap(text)
    return split_top(inner, ",")


def matrix_parts(text: str) -> list[list[str]]:
    """The rows of a matrix: ``[[a, b], [c, d]]``, ``((a, b), (c, d))`` or ``[a, b; c, d]``.

    A single entry (``2`` or ``[2]``) is a 1×1 matrix.
    """
    inner, _bracket = unwrap(text)
    if len(split_top(inner, ";")) > 1:
        return [split_top(row, ",") for row in split_top(inner, ";")]
    rows = split_top(inner, ",")
    if all(unwrap(row)[1] is not None for row in rows):
        return [split_top(unwrap(row)[0], ",") for row in rows]
    if len(rows) == 1:
        return [rows]
    raise InputError(_("write a matrix row by row, as [[a, b], [c, d]]"))


def point_items(text: str) -> list[tuple[str, str | None]]:
    """Each point of a set written ``p; q; ...`` with its kind word (or ``None``), the kinds
    read through :data:`KIND_WORDS`. An empty set (``none``) gives ``[]``."""
    if _plain(text) in EMPTY_SET_WORDS:
        return []
    items: list[tuple[str, str | None]] = []
    for piece in split_top(text, ";"):
        if not piece:
            raise InputError(_("an empty item between two ';'"))
        items.append(_point_and_kind(piece))
    return items


def _point_and_kind(piece: str) -> tuple[str, str | None]:
    """``(1, 0): minimum`` → ``('(1, 0)', 'minimum')``; a word that is no kind is kept in the
    point's text, where the parser reports it."""
    for cut in _word_cuts(piece):
        kind = kind_word(piece[cut:])
        if kind is not None:
            return piece[:cut].rstrip(" \t:=,-–").strip(), kind
    return piece, None


def _word_cuts(piece: str) -> list[int]:
    """Where a trailing kind word may start: after the point's closing bracket, or after a
    colon, an equals sign or a space (the last few only: a kind is at most a few words)."""
    cuts: list[int] = []
    _inside, bracket = unwrap(piece)
    if piece.startswith(tuple(_OPENERS)) and bracket is None:
        depth = 0
        for index, char in enumerate(piece):
            depth += char in _OPENERS
            depth -= char in _CLOSERS
            if depth == 0:
                cuts.append(index + 1)
                break
    cuts.extend(m.end() for m in re.finditer(r"[:=]|\s+", piece))
    return sorted(set(cuts))[:50]


def kind_word(text: str) -> str | None:
    """The kind ``text`` names (``'극소점'`` → ``'minimum'``), or ``None``."""
    plain = _plain(text)
    for kind, spellings in KIND_WORDS.items():
        if plain in spellings:
            return kind
    return None


def yes_no(text: str) -> bool | None:
    """``True`` or ``False`` for an answer that starts with yes or no (in any of
    :data:`YES_NO_WORDS`), ``None`` when it starts with neither. Only the first words
    count: ``"No. The factor is -7/5"`` is no."""
    words = re.split(r"[\s.,;:!()]+", text.strip().casefold())
    words = [w for w in words if w]
    for length in (3, 2, 1):
        phrase = " ".join(words[:length])
        for value, spellings in YES_NO_WORDS.items():
            if len(words) >= length and phrase in spellings:
                return value
    return None


def _plain(text: str) -> str:
    """Lower case, single spaces, no surrounding punctuation."""
    return " ".join(text.casefold().split()).strip(" .!;:,")


# -- the class's answers as CSV -----------------------------------------------------------------

#: most student rows in one answers file
MAX_ROWS = 2000
#: most columns (student, variant and one per exercise: a handout has at most 1200 exercises)
MAX_COLUMNS = 1500
#: longest answer cell, in characters (a longer one is graded 0 with a reason)
MAX_CELL = 4000
#: largest key and answers files read (bytes)
MAX_KEY_BYTES = 32 << 20
MAX_ANSWERS_BYTES = 16 << 20


@dataclass(frozen=True)
class AnswerTable:
    """An answers CSV: its header and its rows, each with its row number (the header is
    row 1, as a spreadsheet counts), blank rows left out."""

    source: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


def read_answer_table(text: str, source: str) -> AnswerTable:
    """Split the CSV ``text`` (comma-separated, quoted as spreadsheets write it) into rows.

    :class:`InputError` naming ``source`` and the row for a file that cannot be read as
    CSV, has no header, or has more than :data:`MAX_ROWS` rows or :data:`MAX_COLUMNS`
    columns.

    >>> read_answer_table('student,variant,1.1\\nana,1,"(2x, 0)"', "a.csv").rows
    ((2, ('ana', '1', '(2x, 0)')),)
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, tuple[str, ...]]] = []
    header: tuple[str, ...] | None = None
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if len(record) > MAX_COLUMNS:
                raise InputError(
                    f"{source} row {number} has {len(record)} columns; at most {MAX_COLUMNS}"
                )
            if header is None:
                header = tuple(cell.strip() for cell in record)
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise InputError(
                    f"{source} has more than {MAX_ROWS} students; split it into several files"
                )
            rows.append((number, tuple(record)))
    except csv.Error as exc:
        raise InputError(f"{source} row {number + 1} is not valid CSV: {exc}") from None
    if header is None or not any(header):
        raise InputError(f"{source} is empty; row 1 must be a header: student,variant,1.1,...")
    return AnswerTable(source=source, header=header, rows=tuple(rows))


@dataclass(frozen=True)
class RowProblem:
    """Something wrong with a row (``row`` 1 is the header; ``column`` may be ``""``);
    ``graded`` tells whether the row was graded nonetheless."""

    row: int
    student: str
    column: str
    message: str
    graded: bool

    def text(self) -> str:
        """One line: ``row 5 (bo), column 1.3: ...`` (in the language in effect)."""
        values = {"row": self.row, "student": self.student, "column": self.column}
        if self.student and self.column:
            where = _("row {row} ({student}), column {column}").format(**values)
        elif self.student:
            where = _("row {row} ({student})").format(**values)
        elif self.column:
            where = _("row {row}, column {column}").format(**values)
        else:
            where = _("row {row}").format(**values)
        if self.graded:
            return _("{where}: {message}").format(where=where, message=self.message)
        return _("{where}: {message}; not graded").format(where=where, message=self.message)


def load_key(path: str | Path) -> dict[str, Any]:
    """The JSON key at ``path``; :class:`InputError` naming the file when it cannot be read."""
    raw = read_input(path, limit=MAX_KEY_BYTES, what="answer key")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"answer key {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"answer key {path} is not a symgd handout key (no 'variants')")
    return data


def read_answers(path: str | Path) -> AnswerTable:
    """The answers CSV at ``path`` (UTF-8, a byte-order mark is fine)."""
    raw = read_input(path, limit=MAX_ANSWERS_BYTES, what="answers file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"answers file {path} is not UTF-8 text (row {row})") from None
    return read_answer_table(text, str(path))


def answer_table(answers: AnswerTable | Iterable[Mapping[str, str]] | str | Path) -> AnswerTable:
    if isinstance(answers, AnswerTable):
        return answers
    if isinstance(answers, str | Path):
        return read_answers(answers)
    rows = [dict(r) for r in answers]
    header = tuple(dict.fromkeys(k for r in rows for k in r))
    return AnswerTable(
        source="the answers",
        header=header,
        rows=tuple(
            (i, tuple(str(r.get(h, "")) for h in header)) for i, r in enumerate(rows, start=2)
        ),
    )


def key_variants(key: Mapping[str, Any]) -> dict[int, dict[str, Mapping[str, Any]]]:
    """Variant number → exercise id → exercise, checked enough to grade with."""
    variants = key.get("variants")
    if not isinstance(variants, list) or not variants:
        raise InputError("the key has no variants; is it the JSON of symgd handout --json?")
    found: dict[int, dict[str, Mapping[str, Any]]] = {}
    for index, variant in enumerate(variants, start=1):
        number = variant.get("variant") if isinstance(variant, dict) else None
        exercises = variant.get("exercises") if isinstance(variant, dict) else None
        if (
            isinstance(number, bool)
            or not isinstance(number, int)
            or not isinstance(exercises, list)
        ):
            raise InputError(f"the key's variant {index} has no number or no exercises")
        table: dict[str, Mapping[str, Any]] = {}
        for exercise in exercises:
            if not (
                isinstance(exercise, dict)
                and isinstance(exercise.get("id"), str)
                and isinstance(exercise.get("answer"), dict)
                and isinstance(exercise.get("variables"), list)
            ):
                raise InputError(
                    f"the key's variant {number} has an exercise without an id, variables or answer"
                )
            table[exercise["id"]] = exercise
        found[number] = table
    return found


def answer_columns(
    table: AnswerTable, variants: Mapping[int, Mapping[str, Any]]
) -> tuple[dict[str, int], list[RowProblem], list[str]]:
    """Header name → column index for ``student``, ``variant`` and each exercise."""
    names = [h.strip() for h in table.header]
    lower = [n.casefold() for n in names]
    columns: dict[str, int] = {}
    for required in ("student", "variant"):
        if required in lower:
            columns[required] = lower.index(required)
    if "student" not in columns:
        raise InputError(f"{table.source} row 1 (the header) has no 'student' column")
    if "variant" not in columns and len(variants) > 1:
        raise InputError(
            f"{table.source} row 1 (the header) has no 'variant' column, and the key has "
            f"{len(variants)} variants"
        )
    known = {e for v in variants.values() for e in v}
    notes: list[str] = []
    problems: list[RowProblem] = []
    for index, name in enumerate(names):
        if index in columns.values():
            continue
        if name in known and name not in columns:
            columns[name] = index
        elif name in columns:
            problems.append(
                RowProblem(1, "", name, _("a second column with this name; ignored"), True)
            )
        elif name:
            problems.append(RowProblem(1, "", name, _("not an exercise of the key; ignored"), True))
    graded = [e for e in known if e in columns]
    if not graded:
        raise InputError(
            f"{table.source} row 1 (the header) names no exercise of the key (such as "
            f"{', '.join(sorted(known, key=_id_order)[:3])})"
        )
    missing = sorted(known - set(columns), key=_id_order)
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        notes.append(
            _("{n} exercise(s) of the key have no column and were not graded: {ids}").format(
                n=len(missing), ids=shown
            )
        )
    return columns, problems, notes


def _id_order(exercise: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in exercise.split("."))


def variant_number(text: str | None, variants: Mapping[int, Any]) -> int | str:
    """The row's variant, or why it is not usable."""
    if text is None or not text.strip():
        if len(variants) == 1:
            return int(next(iter(variants)))
        return _("no variant given")
    plain = text.strip()
    if re.fullmatch(r"\d{1,6}(\.0+)?", plain):
        number = int(float(plain))
        if number in variants:
            return number
    listed = sorted(variants)
    given = repr(plain[:20])
    if len(listed) > 1:
        return _("variant {given} is not in the key (variants {first} to {last})").format(
            given=given, first=listed[0], last=listed[-1]
        )
    return _("variant {given} is not in the key (variants {first})").format(
        given=given, first=listed[0]
    )
