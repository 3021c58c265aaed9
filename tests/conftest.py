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
