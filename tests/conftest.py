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
    """Keep compiled templates in a folder of the test run's own, not the user's cache."""
    import atexit
    import os
    import shutil
    import tempfile

    if "SYMGD_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="symgd-test-cache-")
        os.environ["SYMGD_CACHE_DIR"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
