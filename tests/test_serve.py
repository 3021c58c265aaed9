"""`mkdocs serve`: an edit re-renders without re-reading other pages or asking again for their papers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Site, block, clean_env
from tests.html import read_digest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@contextlib.contextmanager
def serving(site: Site) -> Iterator[tuple[str, Path]]:
    """A real `mkdocs serve` of the site: its URL and its log file."""
    config = site.write_config()
    port = free_port()
    log_path = site.root / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "-v", "-f", str(config), "-a", f"127.0.0.1:{port}"],
            cwd=site.root,
            env=clean_env(**site.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "Serving on" in log_path.read_text())
        yield f"http://127.0.0.1:{port}/", log_path
    finally:
        server.terminate()
        server.wait(timeout=30)


def rebuilt(log_path: Path, times: int = 1) -> bool:
    return log_path.read_text().count("Reloading browsers") >= times


def test_an_edit_costs_only_its_own_papers(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    for number in range(6):
        arxiv_api.add(f"2403.1658{number}", f"Paper {number}")
    for page in range(3):
        site.page(f"page{page}.md", f"# Page {page}\n\n" + block(f"2403.1658{2 * page}", f"2403.1658{2 * page + 1}"))
    site.page("index.md", "# Home\n")

    with serving(site) as (url, log_path):
        assert len(arxiv_api.history) == 1 and len(llm_api.history) == 6
        assert "Scanned 4 new or changed pages" in log_path.read_text()

        time.sleep(1.1)  # a later modification time than the first build saw
        site.page("page1.md", "# Page 1, edited\n\n" + block("2403.16582", "2403.16583", "2403.16585"))
        wait_for(lambda: rebuilt(log_path))

        assert "Scanned 1 new or changed pages" in log_path.read_text()
        assert len(arxiv_api.history) == 1 and len(llm_api.history) == 6  # 2403.16585 was already known
        html = urllib.request.urlopen(url + "page1/").read().decode()
        assert [row.title for row in read_digest(html).rows] == ["Paper 2", "Paper 3", "Paper 5"]


def test_an_edited_snapshot_is_served_at_once(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    site.options.update(language="zh", snapshot="papers.yml")
    site.page("index.md", block("2403.16584"))
    site.write_config()
    command = [sys.executable, "-m", "mkdocs_arxiv_digest", "snapshot"]
    snapshot = subprocess.run(command, cwd=site.root, env=clean_env(**site.env), capture_output=True)
    assert snapshot.returncode == 0, snapshot.stderr

    with serving(site) as (url, log_path):
        papers = site.root / "papers.yml"
        papers.write_text(papers.read_text().replace("《Distilling text》的中文标题", "文本提炼"))
        wait_for(lambda: rebuilt(log_path))

        html = urllib.request.urlopen(url).read().decode()
        assert read_digest(html).footnotes["fn:2403.16584"][0] == "文本提炼"
        assert len(llm_api.history) == 1


def test_serve_starts_before_the_snapshot_exists_and_picks_it_up(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    site.options.update(language="zh", snapshot="papers.yml")  # as the README sets it up: not written yet
    site.page("index.md", block("2403.16584"))

    with serving(site) as (url, log_path):
        html = urllib.request.urlopen(url).read().decode()
        assert read_digest(html).rows[0].title == "Distilling text"

        snapshot = subprocess.run(
            [sys.executable, "-m", "mkdocs_arxiv_digest", "snapshot"],
            cwd=site.root, env=clean_env(**site.env), capture_output=True, text=True,
        )  # fmt: skip
        assert snapshot.returncode == 0, snapshot.stderr
        papers = site.root / "papers.yml"
        time.sleep(1.1)  # a later modification time than the snapshot's own write
        papers.write_text(papers.read_text().replace("《Distilling text》的中文标题", "文本提炼"))

        def corrected() -> bool:
            html = urllib.request.urlopen(url).read().decode()
            return read_digest(html).footnotes["fn:2403.16584"][0] == "文本提炼"

        wait_for(corrected)
        assert "Traceback" not in log_path.read_text()
