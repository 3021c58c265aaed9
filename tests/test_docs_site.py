"""The documentation site (`mkdocs.yml`, `docs/`): builds with `--strict`, offline and with no
key, its papers page a digest the plugin writes from the committed snapshot; and every
link of the README into `docs/` reaches a page of it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mkdocs.config import load_config

from mkdocs_arxiv_digest.directive import find_directives
from mkdocs_arxiv_digest.snapshot import load_snapshot
from tests.helpers import clean_env
from tests.html import read_digest

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
SNAPSHOT = DOCS / "arxiv-digest-snapshot.yml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as CI builds it: `mkdocs build --strict`, no key, no network, an empty cache."""
    root = tmp_path_factory.mktemp("docs-site")
    shutil.copy2(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(DOCS, root / "docs")  # a copy: the cache the build makes is not the checkout's
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(root / "site")],
        cwd=root,
        env=clean_env(),  # no OPENAI_* and no ARXIV_DIGEST_*: mkdocs.yml's own default, offline
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed; 0 arXiv requests" in result.stderr
    return root / "site"


def page_ids() -> list[str]:
    [directive] = find_directives((DOCS / "papers.md").read_text(encoding="utf-8"))
    return [str(arxiv_id) for arxiv_id, _line in directive.ids]


def test_the_papers_page_is_a_digest_from_the_committed_snapshot(built: Path) -> None:
    snapshot = load_snapshot(SNAPSHOT)
    digest = read_digest((built / "papers/index.html").read_text(encoding="utf-8"))
    ids = page_ids()

    assert "1607.01759" in ids and "1612.03651" in ids  # fastText, and lid.176's compressed form
    assert sorted(snapshot.entries) == sorted(ids)  # nothing pinned that the page does not show
    assert [row.title_href for row in digest.rows] == [f"https://arxiv.org/abs/{i}" for i in ids]
    for row, paper_id in zip(digest.rows, ids, strict=True):
        entry = snapshot.entries[paper_id]
        assert (row.title, row.summary) == (entry.paper.title, entry.digests["en"].summary)
        # English: nothing to translate, so title, link, summary and abstract (then the back-link, ↩).
        *parts, last = digest.footnotes[f"fn:{paper_id}"]
        assert [*parts, last.removesuffix("↩").rstrip()] == [
            entry.paper.title,
            f"https://arxiv.org/abs/{paper_id}",
            entry.digests["en"].summary,
            entry.paper.abstract,
        ]


def test_the_hand_written_text_says_so_on_the_page_and_in_the_snapshot(built: Path) -> None:
    snapshot = load_snapshot(SNAPSHOT)
    page = read_digest((built / "papers/index.html").read_text(encoding="utf-8")).page.text

    assert "written by hand" in snapshot.header and "written by hand" in page
    assert {digest.model for entry in snapshot.entries.values() for digest in entry.digests.values()} == {
        "written-by-hand"
    }


def test_every_page_is_in_the_nav() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    in_nav = {page for entry in config["nav"] for page in entry.values()}

    assert in_nav == {path.name for path in DOCS.glob("*.md")}


def test_every_readme_link_into_docs_reaches_a_built_page(built: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]*)(?:#([^)\s]+))?\)", readme)

    assert len({path for path, _anchor in links}) >= 8  # the README points to the pages it moved there
    for path, anchor in links:
        assert (ROOT / path).is_file(), path  # GitHub shows the Markdown file
        name = Path(path).relative_to("docs").with_suffix("")
        html = built / ("index.html" if name.name == "index" else f"{name}/index.html")
        assert html.is_file(), path  # the site has it
        if anchor:
            assert f'id="{anchor}"' in html.read_text(encoding="utf-8"), (path, anchor)


@pytest.mark.parametrize(
    ("value", "offline"), [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False)]
)
@pytest.mark.parametrize("config_file", ["mkdocs.yml", "example_site/mkdocs.yml"])
def test_every_value_the_offline_variable_takes_is_read_by_the_sites_env_line(
    monkeypatch: pytest.MonkeyPatch, config_file: str, value: str, offline: bool
) -> None:
    # `offline: !ENV [ARXIV_DIGEST_OFFLINE, true]` reads the variable as YAML: "1" and "0"
    # arrive as integers, which a plain boolean option refused (the build aborted).
    monkeypatch.setenv("ARXIV_DIGEST_OFFLINE", value)

    config = load_config(str(ROOT / config_file))

    assert config.plugins["arxiv-digest"].config.offline is offline
