"""Test helpers: real MkDocs builds of temporary sites wired to the fakes, and their environment.

`Site.build()` runs MkDocs' own build in this process, exactly as `mkdocs build` does
(load the config, `on_startup`, build, `on_shutdown`), with the site's environment and
MkDocs' log captured; `Site.start()` runs `mkdocs build` as a separate process, for what
needs one (kill -9, concurrent builds, hangs).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException
from sphinx.cmd.build import build_main

from tests.fakes import FakeArxiv, FakeLLM
from tests.html import Digest, Element, Row, parse, read_digest

API_KEY = "sk-test-0123456789abcdefSECRET"


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without anything of ours (keys, URLs, offline), plus ``variables``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_DIGEST_"))}
    return inherited | variables


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
        self.plugins: list[Any] = ["arxiv-digest"]
        """The site's plugins in order; ``"arxiv-digest"`` stands for ours, with `options`."""

    def page(self, name: str, markdown: str) -> None:
        path = self.docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown, encoding="utf-8")

    def write_config(self) -> Path:
        plugins = [{"arxiv-digest": self.options} if plugin == "arxiv-digest" else plugin for plugin in self.plugins]
        config = dict(self.config, plugins=plugins)
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
        """`mkdocs build [--strict]`, in this process: returncode 1 where the command would exit 1."""
        unknown = set(args) - {"--strict"}
        assert not unknown, f"in-process builds take --strict only; use start() for {unknown}"
        config_file = self.write_config()
        with environment(clean_env(**self.env)), mkdocs_log() as log:
            try:
                config = load_config(str(config_file), strict="--strict" in args, site_dir=str(self.root / site_dir))
                config.plugins.on_startup(command="build", dirty=False)
                try:
                    mkdocs_build(config)
                finally:
                    config.plugins.on_shutdown()
                returncode = 0
            except MkDocsException as error:
                logging.getLogger("mkdocs").error(str(error))
                returncode = 1
        return Build(returncode, log.getvalue(), self.root / site_dir)

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache/plugin/arxiv-digest"


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """Run with exactly ``variables`` as the process environment."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def mkdocs_log() -> Iterator[io.StringIO]:
    """MkDocs' log at INFO and above, formatted as `mkdocs build` prints it."""
    logger, text = logging.getLogger("mkdocs"), io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setFormatter(logging.Formatter("%(levelname)-8s-  %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def block(*ids: str) -> str:
    return "```arxiv-digest\n" + "\n".join(ids) + "\n```\n"


@dataclass
class SphinxBuild:
    returncode: int
    log: str
    out: Path

    def page(self, docname: str = "index") -> Element:
        return parse((self.out / f"{docname}.html").read_text(encoding="utf-8"))

    def rows(self, docname: str = "index") -> list[Row]:
        return read_digest((self.out / f"{docname}.html").read_text(encoding="utf-8")).rows

    def footnotes(self, docname: str = "index") -> dict[str, list[str]]:
        """Footnote id (``fn:2403.16584``) → text of its paragraphs."""
        return {
            aside.attrs["id"] or "": [p.text for p in aside.iter("p")]
            for aside in self.page(docname).iter("aside")
            if "footnote" in (aside.attrs.get("class") or "").split()
        }

    def tex(self) -> str:
        [tex] = self.out.glob("*.tex")
        return tex.read_text(encoding="utf-8")


class SphinxSite:
    """A temporary Sphinx project wired to the fakes; `build()` runs the real `sphinx-build`."""

    def __init__(self, root: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
        self.root = root
        self.src = root / "docs"
        self.src.mkdir(parents=True, exist_ok=True)
        self.conf: dict[str, Any] = {
            "extensions": ["mkdocs_arxiv_digest.sphinx", "myst_parser"],
            "exclude_patterns": ["_build", ".cache"],
            "arxiv_digest_arxiv_api_url": arxiv_api.url + "/api/query",
            "arxiv_digest_arxiv_delay": 0,
            "arxiv_digest_base_url": llm_api.base_url,
            "arxiv_digest_timeout": 5,
        }
        self.env = {"OPENAI_API_KEY": API_KEY}

    def page(self, name: str, text: str) -> None:
        (self.src / name).write_text(text, encoding="utf-8")

    def write_conf(self) -> None:
        lines = [f"{name} = {value!r}" for name, value in self.conf.items()]
        (self.src / "conf.py").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def arguments(self, *args: str, builder: str) -> list[str]:
        out = self.root / "_build" / builder
        return ["-b", builder, "-N", "-d", str(self.root / "_build/doctrees"), *args, str(self.src), str(out)]

    def build(self, *args: str, builder: str = "html") -> SphinxBuild:
        """`sphinx-build -b builder [args]`, in this process: the command's exit status and output."""
        self.write_conf()
        output = io.StringIO()
        with environment(clean_env(**self.env)), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            returncode = build_main(self.arguments(*args, builder=builder))
        return SphinxBuild(returncode, output.getvalue(), self.root / "_build" / builder)

    def run(self, *args: str, builder: str = "html") -> SphinxBuild:
        """`sphinx-build` as a separate process (for `-j`: parallel reading forks)."""
        self.write_conf()
        command = [sys.executable, "-m", "sphinx", *self.arguments(*args, builder=builder)]
        result = subprocess.run(command, env=clean_env(**self.env), capture_output=True, text=True, timeout=120)
        return SphinxBuild(result.returncode, result.stdout + result.stderr, self.root / "_build" / builder)
