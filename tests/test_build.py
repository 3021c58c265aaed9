"""Real `mkdocs build` of temporary sites against the fakes: what a reader sees."""

from __future__ import annotations

from tests.conftest import Site, block
from tests.fakes import FakeArxiv, FakeLLM

FOURTEEN = [f"2403.{16584 + i}" for i in range(14)]


def add_papers(arxiv_api: FakeArxiv, ids: list[str]) -> None:
    for number, paper_id in enumerate(ids):
        arxiv_api.add(paper_id, f"Paper number {number} about things", f"We study thing {number}. It works.")


def test_fourteen_papers_become_fourteen_rows_and_footnotes(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    add_papers(arxiv_api, FOURTEEN)
    llm_api.latency = 0.3
    site.options["language"] = "zh"
    site.page("index.md", "# Reading list\n\n" + block(*FOURTEEN))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    digest = build.digest()
    assert [row.title for row in digest.rows] == [f"Paper number {n} about things" for n in range(14)]
    assert [row.title_href for row in digest.rows] == [f"https://arxiv.org/abs/{i}" for i in FOURTEEN]
    assert [row.ref for row in digest.rows] == [str(n) for n in range(1, 15)]
    assert [row.ref_href for row in digest.rows] == [f"#fn:{i}" for i in FOURTEEN]
    assert digest.rows[3].summary == "[Simplified Chinese] one-sentence summary of Paper number 3 about things."
    assert len(digest.footnotes) == 14
    assert digest.footnotes["fn:2403.16587"] == [
        "[Simplified Chinese] Paper number 3 about things",
        "Paper number 3 about things",
        "https://arxiv.org/abs/2403.16587",
        "[Simplified Chinese] one-sentence summary of Paper number 3 about things.",
        "[Simplified Chinese] We study thing 3. It works.",
        "We study thing 3. It works. ↩",
    ]
    assert len(arxiv_api.history) == 1
    assert sorted(arxiv_api.queries[0]) == sorted(FOURTEEN)
    assert len(llm_api.history) == 14
    assert llm_api.max_in_flight == 8
    assert "14 papers: 0 cached, 14 generated, 0 failed; 1 arXiv requests" in build.log

    rebuild = site.build("--strict")

    assert rebuild.returncode == 0, rebuild.log
    assert rebuild.digest().footnotes == digest.footnotes
    assert len(arxiv_api.history) == 1
    assert len(llm_api.history) == 14
    assert "14 papers: 14 cached, 0 generated, 0 failed; 0 arXiv requests" in rebuild.log
