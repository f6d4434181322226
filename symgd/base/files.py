"""Reading input files and writing output files safely.

Outputs (``report.html``, ``report.pdf``, ``fit.html``, a handout and its key) are written by
:func:`write_atomically`: into a fresh temporary file with an unpredictable name in the target's
folder (``tempfile.mkstemp``: created with ``O_EXCL``, never through a link), then renamed over
the target, so an interrupted run or a full disk never leaves half a file behind and the old
file stays whole until the new one is complete. The temporary name is short and does not grow
with the target's name. A target that exists and is not a regular file (a folder, a device such
as ``/dev/null``, a FIFO, a socket) is refused, and so is a target that is a symbolic link unless
the caller asks to follow links (``--follow-symlinks``); the same holds for an output folder
(:func:`output_folder`), of which only the last part of the path is checked. A new file gets
mode ``0644`` less the umask; a file that is replaced keeps its permission bits.

Inputs (``--data``, ``--from``, templates) are read by :func:`read_input`: regular files only
(a link to one is fine), opened without blocking (a FIFO swapped in after the check cannot hang
the open) and read up to a cap that is counted while reading, since a file can grow.

Every refusal is an :class:`~symgd.base.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _, n_

#: permission bits of a new output file, before the umask
NEW_FILE_MODE = 0o644
#: how much :func:`read_input` reads at a time
_CHUNK = 1 << 20


# -- outputs ----------------------------------------------------------------------------------


def write_atomically(path: str | Path, data: bytes, *, follow_symlinks: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    The folder is created when it is missing. :class:`InputError` when ``path`` exists and is
    not a regular file, or is a symbolic link and ``follow_symlinks`` is false (with it, the
    file the link points to is replaced and the link stays). ``OSError`` when writing fails;
    the temporary file is removed then. Returns ``path`` as given.
    """
    path = Path(path)
    target = check_output(path, follow_symlinks=follow_symlinks)
    if target == path:  # a link's target folder is never created
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.lstat().st_mode) & 0o777
    except FileNotFoundError:
        mode = NEW_FILE_MODE & ~_umask()
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".symgd-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        Path(temporary).replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    return path


def check_output(path: str | Path, *, follow_symlinks: bool = False) -> Path:
    """The file an output to ``path`` replaces: ``path`` itself, or where it links to.

    :class:`InputError` when ``path`` exists and is not a regular file, or is a symbolic link
    and ``follow_symlinks`` is false. A missing ``path`` is fine.
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise InputError(_cannot_write(path, exc)) from None
    target = path
    if stat.S_ISLNK(info.st_mode):
        target = Path(os.path.realpath(path))
        if not follow_symlinks:
            raise InputError(
                _(
                    "{path} is a symbolic link (to {target}); refusing to write through it "
                    "without --follow-symlinks"
                ).format(path=path, target=target)
            )
        try:
            info = target.stat()
        except FileNotFoundError:
            return target
        except OSError as exc:
            raise InputError(_cannot_write(path, exc)) from None
    if not stat.S_ISREG(info.st_mode):
        shown = (
            str(path)
            if target == path
            else _("{path} (a link to {target})").format(path=path, target=target)
        )
        raise InputError(
            _("{path} exists and is {kind}, not a regular file; choose another output name").format(
                path=shown, kind=_kind(info.st_mode)
            )
        )
    return target


def output_folder(
    folder: str | Path, *, follow_symlinks: bool = False, create: bool = True
) -> Path:
    """Check (and with ``create``, make) the folder outputs are written into; return it.

    :class:`InputError` when ``folder`` exists and is not a folder (a file, a device), or is a
    symbolic link and ``follow_symlinks`` is false; ``OSError`` when it cannot be looked at or
    made (a file higher up, no permission). Only the last part of the path is checked:
    a link higher up (``/tmp`` → ``/private/tmp``) is the system's layout, not a target.
    """
    folder = Path(folder)
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return folder
    if stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(folder)
        if not follow_symlinks:
            raise InputError(
                _(
                    "the output folder {folder} is a symbolic link (to {target}); refusing to "
                    "write into it without --follow-symlinks"
                ).format(folder=folder, target=target)
            )
        try:
            info = folder.stat()
        except FileNotFoundError:
            raise InputError(
                _("the output folder {folder} is a link to {target}, which does not exist").format(
                    folder=folder, target=target
                )
            ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(
            _("the output folder {folder} exists and is {kind}, not a folder").format(
                folder=folder, kind=_kind(info.st_mode)
            )
        )
    return folder


def check_output_in(folder: str | Path, name: str, *, follow_symlinks: bool = False) -> Path:
    """Check, before any slow work, that ``name`` can be written into ``folder`` as
    :func:`output_folder` and :func:`write_atomically` would; create nothing. Returns the path.
    """
    try:
        output_folder(folder, follow_symlinks=follow_symlinks, create=False)
    except OSError as exc:
        raise InputError(
            _("cannot write into {folder}: {reason}").format(
                folder=folder, reason=exc.strerror or exc
            )
        ) from None
    path = Path(folder) / name
    check_output(path, follow_symlinks=follow_symlinks)
    return path


def answer_key_path(output: str | Path) -> Path:
    """Where the JSON key of the handout ``output`` goes: ``week3.pdf`` → ``week3.json``.

    When that is the handout itself (``-o week3.json``), the key is ``week3.key.json``; a
    name too long for the file system is an :class:`InputError`.
    """
    output = Path(output)
    key = output.with_suffix(".json")
    if key.name.casefold() == output.name.casefold():
        key = output.with_name(f"{output.stem}.key.json")
    if len(os.fsencode(key.name)) > 255:
        raise InputError(
            _(
                "the answer key's name {name} would be longer than 255 bytes; give the handout "
                "a shorter name"
            ).format(name=repr(key.name))
        )
    return key


def _kind(mode: int) -> str:
    """What a file system entry is, for a message (``a named pipe (FIFO)``)."""
    if stat.S_ISDIR(mode):
        return _("a folder")
    if stat.S_ISREG(mode):
        return _("a file")
    if stat.S_ISFIFO(mode):
        return _("a named pipe (FIFO)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    if stat.S_ISLNK(mode):
        return _("a symbolic link")
    return _("a special file")


def _cannot_write(path: Path, exc: OSError) -> str:
    return _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)


#: the kinds of file symgd reads, as callers name them (translated where they are shown)
FILE_KINDS = (
    N_("file"),
    N_("template"),
    N_("answer key"),
    N_("answers file"),
    N_("expression file"),
    N_("data file"),
)


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- inputs -----------------------------------------------------------------------------------


def read_input(path: str | Path, *, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (a link to one is fine), at most ``limit``.

    :class:`InputError` naming ``what`` (``"data file"``) when the file is missing, is a folder,
    is not a regular file (a FIFO, ``/dev/zero``), cannot be read or holds more than ``limit``
    bytes; the bytes are counted while reading, so a file that grows is caught too.
    """
    label = str(path)
    what = _(what)
    try:
        info = Path(path).stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(_is_folder(label, what))
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                _("{what} {path} is {kind}, not a regular file").format(
                    what=what, path=label, kind=_kind(info.st_mode)
                )
            )
        if info.st_size > limit:
            raise InputError(
                _(
                    "{what} {path} is larger than {limit}, the most symgd reads ({size} bytes)"
                ).format(what=what, path=label, limit=size_text(limit), size=f"{info.st_size:,}")
            )
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(_("{what} {path} does not exist").format(what=what, path=label)) from None
    except IsADirectoryError:
        raise InputError(_is_folder(label, what)) from None
    except OSError as exc:
        raise InputError(_cannot_read(label, what, exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped after the check above
            raise InputError(_("{what} {path} is not a regular file").format(what=what, path=label))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InputError(
                    _("{what} {path} is larger than {limit}, the most symgd reads").format(
                        what=what, path=label, limit=size_text(limit)
                    )
                )
    except OSError as exc:
        raise InputError(_cannot_read(label, what, exc)) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def size_text(n: int) -> str:
    """A byte count the way a person reads it: ``256 MiB``, ``1 MB``, ``512 bytes``."""
    for unit, size in (
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("GB", 10**9),
        ("MB", 10**6),
        ("kB", 10**3),
    ):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return n_("{count} byte", "{count} bytes", n).format(count=f"{n:,}")


def _is_folder(label: str, what: str) -> str:
    return _("{path} is a folder, not a {what}").format(path=label, what=what)


def _cannot_read(label: str, what: str, exc: OSError) -> str:
    return _("cannot read {what} {path}: {reason}").format(
        what=what, path=label, reason=exc.strerror or exc
    )
