"""Fixtures: the fake servers, and a temporary MkDocs site and Sphinx project wired to them (helpers are in `tests.helpers`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Site, SphinxSite


@pytest.fixture
def arxiv_api() -> Iterator[FakeArxiv]:
    server = FakeArxiv()
    yield server
    server.close()


@pytest.fixture
def llm_api() -> Iterator[FakeLLM]:
    server = FakeLLM()
    yield server
    server.close()


@pytest.fixture
def site(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> Site:
    return Site(tmp_path, arxiv_api, llm_api)


@pytest.fixture
def sphinx(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> SphinxSite:
    return SphinxSite(tmp_path, arxiv_api, llm_api)


SLOWEST_FIRST = ("test_install.py", "test_ecosystem.py", "test_deadlines.py", "test_cache.py")
"""Files holding the suite's longest tests (`--durations`), put at the head of the run:
a worker starts on them at once and the others take the rest of its queue (`worksteal`),
so none of them is left to start last and hold up the end of the run."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files in `SLOWEST_FIRST` first, the rest as collected (a stable sort keeps each file together)."""
    items.sort(
        key=lambda item: SLOWEST_FIRST.index(item.path.name) if item.path.name in SLOWEST_FIRST else len(SLOWEST_FIRST)
    )
