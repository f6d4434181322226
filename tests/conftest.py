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
