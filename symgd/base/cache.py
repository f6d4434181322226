"""Work kept between runs, as Python keeps ``.pyc`` files: compiled templates and typeset
formulas.

Everything lives under one folder: ``$SYMGD_CACHE_DIR``, else ``$XDG_CACHE_HOME/symgd``, else
``~/.cache/symgd``; ``SYMGD_CACHE_DIR=`` (empty) turns every cache off. Each kind of entry has
a subfolder named for what its entries depend on (versions, options, the code that makes them),
so a change of any of those starts a fresh subfolder instead of reading stale entries. A cache
is never needed: a folder that cannot be made or written, an entry that cannot be read or is
damaged, only means doing the work again. Entries are written to a temporary file and renamed,
so a reader never sees half an entry. A folder holds about :data:`MAX_ENTRIES` entries at most
(it is looked at every :data:`_TRIM_EVERY` writes); the least recently used go first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

#: most entries one cache folder keeps (the least recently used go first)
MAX_ENTRIES = 4096
#: entries written between two looks at a folder's size
_TRIM_EVERY = 64
_written = 0


def cache_folder(kind: str, *depends_on: object) -> Path | None:
    """The folder for entries of ``kind`` made under ``depends_on`` (not created here); None
    when caching is off or there is no home folder."""
    setting = os.environ.get("SYMGD_CACHE_DIR")
    if setting is None:
        xdg = os.environ.get("XDG_CACHE_HOME")
        home = Path("~").expanduser()
        if not xdg and str(home).startswith("~"):  # no home folder to be found
            return None
        root = Path(xdg) / "symgd" if xdg else home / ".cache" / "symgd"
    elif not setting:
        return None
    else:
        root = Path(setting)
    key = hashlib.sha1(repr(depends_on).encode()).hexdigest()[:12]
    return root / f"{kind}-{key}"


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
    """Write ``entries`` (name → bytes) into ``folder``, each whole or not at all, and trim
    the folder to :data:`MAX_ENTRIES`; any failure is ignored."""
    if not entries:
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in entries.items():
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".new-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                Path(temporary).replace(folder / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(temporary).unlink()
                raise
        global _written
        _written += len(entries)
        if _written >= _TRIM_EVERY:
            _written = 0
            _trim(folder)
    except OSError:
        return


def _trim(folder: Path) -> None:
    """Remove the least recently used entries beyond :data:`MAX_ENTRIES` (down to three
    quarters of it, so that trimming is rare)."""
    with os.scandir(folder) as found:
        entries = [e for e in found if e.is_file(follow_symlinks=False)]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime)
    for entry in entries[: len(entries) - MAX_ENTRIES * 3 // 4]:
        with contextlib.suppress(OSError):
            Path(entry.path).unlink()
