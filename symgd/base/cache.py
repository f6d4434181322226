"""Work kept between runs, as Python keeps ``.pyc`` files: compiled templates and typeset
formulas.

Everything lives under one folder: ``$SYMGD_CACHE_DIR``, else ``$XDG_CACHE_HOME/symgd`` (an
absolute ``XDG_CACHE_HOME`` only), else ``~/.cache/symgd``; ``SYMGD_CACHE_DIR=`` (empty) turns
every cache off. Each kind of entry has a subfolder named for what its entries depend on
(versions, options, the code that makes them), so a change of any of those starts a fresh
subfolder instead of reading stale entries; a subfolder of the same kind that has not changed
for :data:`STALE_DAYS` days is removed when a new one is made.

What is read from a cache ends up in a page (and a compiled template is code), so a folder is
used only if it is a real folder (not a link), belongs to the user running symgd and nobody else
may write to it; new folders are made private (``0700``). A cache is never needed: a folder that
fails these checks or cannot be made or written, an entry that cannot be read or is damaged,
only means doing the work again. Entries are written to a temporary file and renamed, so a
reader never sees half an entry. A folder holds about :data:`MAX_ENTRIES` entries at most (it
is looked at every :data:`TRIM_EVERY` writes); the least recently used go first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

#: most entries one cache folder keeps (the least recently used go first)
MAX_ENTRIES = 4096
#: entries written to a folder between two looks at its size
TRIM_EVERY = 64
#: a cache folder of an older version or option set, untouched this long, is removed
STALE_DAYS = 7
#: how a file being written begins (never counted, read or trimmed as an entry)
PARTIAL = ".new-"

_written: dict[Path, int] = {}


def cache_root() -> Path | None:
    """The folder every cache lives in (not checked or made here); None when caching is off
    or there is no home folder to put it in."""
    setting = os.environ.get("SYMGD_CACHE_DIR")
    if setting is not None:
        return Path(setting) if setting else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "symgd"
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):  # no HOME, and no entry in the password file
        return None
    return home / ".cache" / "symgd"


def cache_folder(kind: str, *depends_on: object) -> Path | None:
    """The private folder for entries of ``kind`` made under ``depends_on``, made if need
    be; None when caching is off or the folder cannot be trusted or made."""
    root = cache_root()
    if root is None:
        return None
    key = hashlib.sha1(repr(depends_on).encode()).hexdigest()[:12]
    folder = root / f"{kind}-{key}"
    try:
        if not _private_folder(root, parents=True):
            return None
        made = not folder.exists() and not folder.is_symlink()
        if not _private_folder(folder, parents=False):
            return None
    except OSError:
        return None
    if made:
        _remove_stale(root, kind, folder)
    return folder


def _private_folder(path: Path, parents: bool) -> bool:
    """Make ``path`` (mode 0700) unless it exists; whether it is a folder that is no link,
    is this user's and that nobody else may write to."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=parents)
    found = path.lstat()
    if not stat.S_ISDIR(found.st_mode) or found.st_mode & 0o022:
        return False
    return not hasattr(os, "geteuid") or found.st_uid == os.geteuid()


def _remove_stale(root: Path, kind: str, current: Path) -> None:
    """Remove the other folders of ``kind`` that have not changed for :data:`STALE_DAYS`."""
    oldest = time.time() - STALE_DAYS * 86400
    with contextlib.suppress(OSError), os.scandir(root) as found:
        for entry in found:
            if not entry.name.startswith(f"{kind}-") or entry.path == str(current):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
                if stat.S_ISDIR(info.st_mode) and mine and info.st_mtime < oldest:
                    shutil.rmtree(entry.path, ignore_errors=True)


def entry_name(*parts: object) -> str:
    """A file name for the entry identified by ``parts``."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()


def read_entry(folder: Path, name: str) -> bytes | None:
    """The entry ``name`` of ``folder``, or None; a read entry counts as recently used."""
    path = folder / name
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)
    return data


def write_entries(folder: Path, entries: dict[str, bytes]) -> None:
    """Write ``entries`` (name → bytes) into ``folder`` (from :func:`cache_folder`), each whole
    or not at all, and now and then trim the folder to :data:`MAX_ENTRIES`; any failure is
    ignored."""
    if not entries:
        return
    try:
        for name, data in entries.items():
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=PARTIAL)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                Path(temporary).replace(folder / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(temporary).unlink()
                raise
        written = _written.get(folder, 0) + len(entries)
        _written[folder] = 0 if written >= TRIM_EVERY else written
        if written >= TRIM_EVERY:
            _trim(folder)
    except OSError:
        return


def _trim(folder: Path) -> None:
    """Remove the least recently used entries beyond :data:`MAX_ENTRIES` (down to three
    quarters of it, so that trimming is rare)."""
    entries = []
    with os.scandir(folder) as found:
        for entry in found:
            if entry.name.startswith(PARTIAL):
                continue
            with contextlib.suppress(OSError):  # removed by another run meanwhile
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    entries.append((info.st_mtime, entry.path))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort()
    for _, path in entries[: len(entries) - MAX_ENTRIES * 3 // 4]:
        with contextlib.suppress(OSError):
            Path(path).unlink()
