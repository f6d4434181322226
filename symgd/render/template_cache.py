"""symgd's own templates, kept compiled between runs (Jinja2's bytecode cache in the folder of
:mod:`symgd.base.cache`)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


def compiled_templates_cache(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    """Where the templates of ``env`` are kept compiled between runs (see
    :mod:`symgd.base.cache`). Compiling the lesson's templates takes about 0.3 s of every run
    otherwise. Jinja2 keys each entry on the template's name and source only, so the folder is
    named for everything else the compiled code depends on: Jinja2's and Python's versions and
    the environment's class, syntax, whitespace, escaping, finalizing and extension settings."""
    import sys

    import jinja2

    from symgd.base.cache import cache_folder

    def name(value: Any) -> str:
        """A function or class by its name, anything else by its value."""
        return str(value.__qualname__) if callable(value) else repr(value)

    settings = (
        jinja2.__version__,
        sys.version_info[:2],
        [cls.__qualname__ for cls in type(env).__mro__],
        name(env.autoescape),
        name(env.finalize),
        name(env.undefined),
        sorted(env.extensions),
        getattr(env, "newstyle_gettext", None),
        env.optimized,
        [
            getattr(env, field)
            for field in (
                "block_start_string",
                "block_end_string",
                "variable_start_string",
                "variable_end_string",
                "comment_start_string",
                "comment_end_string",
                "line_statement_prefix",
                "line_comment_prefix",
                "trim_blocks",
                "lstrip_blocks",
                "newline_sequence",
                "keep_trailing_newline",
            )
        ],
    )
    folder = cache_folder("templates", *settings)
    if folder is None:
        return None

    class QuietCache(jinja2.FileSystemBytecodeCache):
        """A cache whose failures (a folder that cannot be written, a damaged entry) only
        mean compiling the template again."""

        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged or foreign entry
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    return QuietCache(str(folder))
