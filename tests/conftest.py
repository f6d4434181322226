"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    """A click runner; stderr is captured separately from stdout."""
    return CliRunner()


@pytest.fixture(scope="module")
def devtools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium driven over the DevTools protocol (see ``test_browser.DevTools``),
    one browser per test module."""
    from test_browser import DevTools

    client = DevTools(tmp_path_factory.mktemp("profile"))
    yield client
    client.close()


def pytest_configure(config: pytest.Config) -> None:
    """Keep compiled templates and typeset formulas in a folder of the test run's own, never in
    the user's cache (nor in one a developer pointed ``SYMGD_CACHE_DIR`` at)."""
    import atexit
    import os
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="symgd-test-cache-")
    os.environ["SYMGD_CACHE_DIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
