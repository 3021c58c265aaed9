"""`mkdocs serve`: an edit re-renders without re-reading other pages or asking again for their papers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

from tests.conftest import Site, block, clean_env
from tests.fakes import FakeArxiv, FakeLLM
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


def test_an_edit_costs_only_its_own_papers(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    for number in range(6):
        arxiv_api.add(f"2403.1658{number}", f"Paper {number}")
    for page in range(3):
        site.page(f"page{page}.md", f"# Page {page}\n\n" + block(f"2403.1658{2 * page}", f"2403.1658{2 * page + 1}"))
    site.page("index.md", "# Home\n")
    config = site.write_config()
    port = free_port()
    env = clean_env(**site.env)
    log_path = site.root / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "-v", "-f", str(config), "-a", f"127.0.0.1:{port}"],
            cwd=site.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "Serving on" in log_path.read_text())
        assert len(arxiv_api.history) == 1 and len(llm_api.history) == 6
        assert "Scanned 4 new or changed pages" in log_path.read_text()

        time.sleep(1.1)  # a later modification time than the first build saw
        site.page("page1.md", "# Page 1, edited\n\n" + block("2403.16582", "2403.16583", "2403.16585"))
        wait_for(lambda: log_path.read_text().count("Documentation built") >= 2)

        text = log_path.read_text()
        assert "Scanned 1 new or changed pages" in text, text
        assert len(arxiv_api.history) == 1 and len(llm_api.history) == 6  # 2403.16585 was already known
        html = urllib.request.urlopen(f"http://127.0.0.1:{port}/page1/").read().decode()
        assert [row.title for row in read_digest(html).rows] == ["Paper 2", "Paper 3", "Paper 5"]
    finally:
        server.terminate()
        server.wait(timeout=30)
