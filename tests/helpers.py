"""Test helpers: real builds of temporary sites wired to the fakes, and their environment.

One harness for both hosts (`SiteHarness`): the source pages, our options pointed at the
fake servers, the environment, the cache directory, and a build run in this process
with its environment set and its log captured. `Site.build()` runs MkDocs' own build
exactly as `mkdocs build` does (load the config, `on_startup`, build, `on_shutdown`);
`SphinxSite.build()` runs `sphinx-build`'s own entry point. `Site.start()` and
`SphinxSite.run()` run the command as a separate process, for what needs one (kill -9,
concurrent builds, hangs, parallel reading).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock
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


def made_once(tmp_path_factory: Any, name: str, make: Callable[[Path], None]) -> Path:
    """The directory ``name``, filled by ``make`` once per test run and shared by every xdist worker.

    What is slow to make and only read afterwards (a built package, a built site): the
    first worker to need it makes it under a lock, the others wait and take it. Half a
    directory left by a failed ``make`` is not taken: it is marked complete only at the end.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker has its own basetemp under the run's
        root = root.parent
    directory, complete = root / name, root / f"{name}.complete"
    with FileLock(root / f"{name}.lock"):
        if not complete.is_file():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            make(directory)
            complete.touch()
    return directory


@dataclass
class Build:
    """What a build left: the command's exit status, its log, and the directory it built."""

    returncode: int
    log: str
    site: Path

    def html(self, page: str = "index.html") -> str:
        return (self.site / page).read_text(encoding="utf-8")

    def digest(self, page: str = "index.html") -> Digest:
        return read_digest(self.html(page))


@dataclass
class SphinxBuild(Build):
    """A Sphinx build's output, read by document name."""

    def page(self, docname: str = "index") -> Element:
        return parse(self.html(f"{docname}.html"))

    def rows(self, docname: str = "index") -> list[Row]:
        return self.digest(f"{docname}.html").rows

    def footnotes(self, docname: str = "index") -> dict[str, list[str]]:
        """Footnote id (``fn:2403.16584``) → text of its paragraphs."""
        return {
            aside.attrs["id"] or "": [p.text for p in aside.iter("p")]
            for aside in self.page(docname).iter("aside")
            if "footnote" in (aside.attrs.get("class") or "").split()
        }

    def tex(self) -> str:
        [tex] = self.site.glob("*.tex")
        return tex.read_text(encoding="utf-8")


class SiteHarness:
    """What a test site of either host holds: pages, our options wired to the fakes, its environment.

    ``options`` are ours by their MkDocs names; a Sphinx site writes each as
    ``arxiv_digest_<name>`` in conf.py. A subclass says where its configuration lives
    (`config_dir`: our paths, the cache's among them, are relative to it) and how its
    host builds in this process (a run and a log capture for `_in_process`).
    """

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
        self.env = {"OPENAI_API_KEY": API_KEY}
        """The build's whole environment beyond this process's own (without any of ours)."""

    @property
    def config_dir(self) -> Path:
        raise NotImplementedError

    @property
    def cache_dir(self) -> Path:
        return self.config_dir / ".cache/plugin/arxiv-digest"

    def page(self, name: str, text: str) -> None:
        path = self.docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def _in_process(
        self, run: Callable[[], int], capture: Callable[[], AbstractContextManager[io.StringIO]]
    ) -> tuple[int, str]:
        """``run()``'s exit status and the log ``capture`` gathered, with the site's environment set."""
        with environment(clean_env(**self.env)), capture() as log:
            returncode = run()
        return returncode, log.getvalue()


class Site(SiteHarness):
    """A temporary MkDocs site wired to the fakes; `build()` runs the real `mkdocs build`."""

    def __init__(self, root: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
        super().__init__(root, arxiv_api, llm_api)
        self.config: dict[str, Any] = {"site_name": "Test", "theme": {"name": "mkdocs"}}
        self.plugins: list[Any] = ["arxiv-digest"]
        """The site's plugins in order; ``"arxiv-digest"`` stands for ours, with `options`."""

    @property
    def config_dir(self) -> Path:
        return self.root  # beside mkdocs.yml

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

        def run() -> int:
            try:
                config = load_config(str(config_file), strict="--strict" in args, site_dir=str(self.root / site_dir))
                config.plugins.on_startup(command="build", dirty=False)
                try:
                    mkdocs_build(config)
                finally:
                    config.plugins.on_shutdown()
            except MkDocsException as error:
                logging.getLogger("mkdocs").error(str(error))
                return 1
            return 0

        returncode, log = self._in_process(run, mkdocs_log)
        return Build(returncode, log, self.root / site_dir)


class SphinxSite(SiteHarness):
    """A temporary Sphinx project wired to the fakes; `build()` runs the real `sphinx-build`."""

    def __init__(self, root: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
        super().__init__(root, arxiv_api, llm_api)
        self.conf: dict[str, Any] = {
            "extensions": ["mkdocs_arxiv_digest.sphinx", "myst_parser"],
            "exclude_patterns": ["_build", ".cache"],
        }
        """conf.py's values beyond `options`, written after them (an `arxiv_digest_*` here wins)."""

    @property
    def config_dir(self) -> Path:
        return self.docs  # beside conf.py

    def write_conf(self) -> None:
        values = {f"arxiv_digest_{name}": value for name, value in self.options.items()} | self.conf
        lines = [f"{name} = {value!r}" for name, value in values.items()]
        (self.docs / "conf.py").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def arguments(self, *args: str, builder: str) -> list[str]:
        out = self.root / "_build" / builder
        return ["-b", builder, "-N", "-d", str(self.root / "_build/doctrees"), *args, str(self.docs), str(out)]

    def build(self, *args: str, builder: str = "html") -> SphinxBuild:
        """`sphinx-build -b builder [args]`, in this process: the command's exit status and output."""
        self.write_conf()
        returncode, log = self._in_process(lambda: build_main(self.arguments(*args, builder=builder)), output_log)
        return SphinxBuild(returncode, log, self.root / "_build" / builder)

    def run(self, *args: str, builder: str = "html") -> SphinxBuild:
        """`sphinx-build` as a separate process (for `-j`: parallel reading forks)."""
        self.write_conf()
        command = [sys.executable, "-m", "sphinx", *self.arguments(*args, builder=builder)]
        result = subprocess.run(command, env=clean_env(**self.env), capture_output=True, text=True, timeout=120)
        return SphinxBuild(result.returncode, result.stdout + result.stderr, self.root / "_build" / builder)


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


@contextlib.contextmanager
def output_log() -> Iterator[io.StringIO]:
    """What this process writes to stdout and stderr, as a command's output (Sphinx logs there)."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
        yield text


def accepted_chinese_reply(paper: dict[str, str], language: str) -> dict[str, str]:
    """A fake model's reply the checks accept for 2403.16584 in Chinese (translated title, a summary
    about the paper, the abstract translated): set as `FakeLLM.answer`."""
    return {
        "title": "大型语言模型（或人类）能否提炼文本？",
        "summary": "本文研究大型语言模型（LLMs）能否像人类一样提炼文本（Distill Text）。",
        "abstract": "我们研究了大型语言模型（LLMs）提炼文本的潜力，即去除不需要的禁用变量的文本痕迹。",
    }
