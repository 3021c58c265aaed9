"""Fixtures: the fake servers, and real `mkdocs build` runs of temporary sites."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes import FakeArxiv, FakeLLM
from tests.html import Digest, read_digest

API_KEY = "sk-test-0123456789abcdefSECRET"


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without anything of ours (keys, URLs, offline), plus ``variables``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_DIGEST_"))}
    return inherited | variables


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


@dataclass
class Build:
    returncode: int
    log: str
    site: Path

    def html(self, page: str = "index.html") -> str:
        return (self.site / page).read_text(encoding="utf-8")

    def digest(self, page: str = "index.html") -> Digest:
        return read_digest(self.html(page))


class Site:
    """A temporary MkDocs site wired to the fakes; `build()` runs the real `mkdocs build`."""

    def __init__(self, root: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
        self.root = root
        self.docs = root / "docs"
        self.docs.mkdir(parents=True, exist_ok=True)
        self.options: dict[str, Any] = {
            "arxiv_api_url": arxiv_api.url + "/api/query",
            "arxiv_delay": 0,
            "base_url": llm_api.base_url,
            "timeout": 5,
        }
        self.config: dict[str, Any] = {"site_name": "Test", "theme": {"name": "mkdocs"}}
        self.env = {"OPENAI_API_KEY": API_KEY}

    def page(self, name: str, markdown: str) -> None:
        path = self.docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown, encoding="utf-8")

    def write_config(self) -> Path:
        config = dict(self.config, plugins=[{"arxiv-digest": self.options}])
        path = self.root / "mkdocs.yml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        return path

    def start(self, *args: str, site_dir: str = "site") -> subprocess.Popen[str]:
        """Start `mkdocs build` in the background (for kills and concurrent builds)."""
        config = self.write_config()
        env = clean_env(**self.env)
        command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", site_dir, *args]
        return subprocess.Popen(
            command, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def build(self, *args: str, site_dir: str = "site") -> Build:
        process = self.start(*args, site_dir=site_dir)
        log, _ = process.communicate(timeout=300)
        return Build(process.returncode, log, self.root / site_dir)

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache/plugin/arxiv-digest"


@pytest.fixture
def site(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> Site:
    return Site(tmp_path, arxiv_api, llm_api)


def block(*ids: str) -> str:
    return "```arxiv-digest\n" + "\n".join(ids) + "\n```\n"
