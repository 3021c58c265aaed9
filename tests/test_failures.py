"""Bad input and failing services: each paper fails on its own, visibly, and nothing half-done is kept."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest
import yaml
from click.testing import CliRunner

from mkdocs_arxiv_digest.cli import main
from mkdocs_arxiv_digest.keys import CHECKS_VERSION
from tests.fakes import FakeArxiv, FakeLLM, request_format
from tests.helpers import API_KEY, Site, block, clean_env, environment


def cached_rows(site: Site) -> dict[str, object]:
    with sqlite3.connect(site.root / ".cache/plugin/arxiv-digest/cache.db") as db:
        return {key: json.loads(value) for key, value in db.execute("select key, value from Cache")}


def test_malformed_ids_are_rejected_before_any_request(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("notes/week.md", "# Week\n\n" + block("abc", "2403.16584", "2403.1658", "arXiv:"))

    build = site.build()
    strict = site.build("--strict")

    assert build.returncode == 0, build.log
    assert "notes/week.md:4: skipped 'abc': not an arXiv identifier" in build.log
    assert "notes/week.md:6: skipped '2403.1658': identifiers from 2403 have 5 digits" in build.log
    assert "notes/week.md:7: skipped 'arXiv:'" in build.log
    assert [row.title for row in build.digest("notes/week/index.html").rows] == ["Distilling text"]
    assert arxiv_api.queries == [["2403.16584"]]
    assert strict.returncode == 1


def test_unknown_ids_get_a_placeholder_row_and_a_warning(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("0000.0000", "2403.16584", "2403.99999"))

    build = site.build()

    assert build.returncode == 0, build.log
    # arXiv would answer 0000.0000 with silence; no paper can have month 00, so it is caught locally.
    assert "index.md:2: skipped '0000.0000': 0000 is not a valid year and month" in build.log
    assert "index.md:4: 2403.99999: arXiv has no paper with this identifier (check it;" in build.log
    rows = build.digest().rows
    assert [(row.title, row.summary) for row in rows] == [
        ("Distilling text", "This work on Distilling text contributes a new method and shows that it works."),
        ("2403.99999", "arXiv has no paper with this identifier."),
    ]
    # No link to an abstract page that does not exist (issue 19.12), in the table or the footnote.
    assert rows[1].title_href == ""
    assert "https://arxiv.org/abs/2403.99999" not in build.html()
    assert arxiv_api.queries == [["2403.16584", "2403.99999"]]
    assert len(llm_api.history) == 1
    assert not any(key.startswith("paper:2403.99999") for key in cached_rows(site))


def test_title_zero_and_empty_abstract_are_rendered(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2104.12255", "0", "What is the funniest number in cryptography? 0.")
    arxiv_api.add("2403.16584", "No abstract here", "")
    site.options["language"] = "zh"
    site.page("index.md", block("2104.12255", "2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    digest = build.digest()
    assert [row.title for row in digest.rows] == ["0", "No abstract here"]
    assert digest.footnotes["fn:2104.12255"][:2] == ["《0》的中文标题", "0"]
    assert digest.footnotes["fn:2403.16584"] == [
        "《No abstract here》的中文标题",
        "No abstract here",
        "https://arxiv.org/abs/2403.16584",
        "本文研究了《No abstract here》中的问题，并提出了一种新的方法。 ↩",
    ]


def test_broken_blocks_warn_with_page_and_line(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page(
        "index.md",
        "# Broken\n\n```arxiv-digest\npapers: [2403.16584\n```\n\n"
        "```arxiv-digest\ncolour: red\npapers:\n  - 2403.16584\n```\n\n"
        "```arxiv-digest\n```\n",
    )

    build = site.build()

    assert build.returncode == 0, build.log
    assert "index.md:4: invalid YAML in the arxiv-digest block" in build.log
    assert "index.md:8: option 'colour': Unrecognised configuration name: colour" in build.log
    assert "index.md:13: the arxiv-digest block lists no papers" in build.log
    assert [row.title for row in build.digest().rows] == ["Distilling text"]


def test_arxiv_throttling_is_retried(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = [429, 503]
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(arxiv_api.history) == 3
    gaps = [b["at"] - a["at"] for a, b in zip(arxiv_api.history, arxiv_api.history[1:], strict=False)]
    assert gaps[1] > gaps[0] >= 1.0  # backoff grows
    assert [row.title for row in build.digest().rows] == ["Distilling text"]


def test_arxiv_down_serves_stale_metadata_or_a_placeholder(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    assert site.build().returncode == 0
    site.options.update(refresh_days=0, retries=1)  # everything unversioned is now due a refresh
    arxiv_api.script = [503, 503, 503, 503]
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert len(arxiv_api.history) == 3
    host = arxiv_api.url.removeprefix("http://")
    assert f"index.md:3: 2403.11894: arXiv unavailable: {host} answered HTTP 503, 2 tries" in build.log
    rows = build.digest().rows
    assert [(row.title, row.summary) for row in rows] == [
        ("Distilling text", "This work on Distilling text contributes a new method and shows that it works."),
        ("2403.11894", "Details unavailable; see the paper on arXiv."),
    ]
    assert len(llm_api.history) == 1


def test_a_dropped_connection_and_a_timeout_are_retried(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = ["close", ("slow", 3)]
    site.options["timeout"] = 1
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(arxiv_api.history) == 3
    assert [row.title for row in build.digest().rows] == ["Distilling text"]


def test_missing_api_key_degrades_with_one_warning(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    arxiv_api.add("2403.11894", "Explainable", "We explain.")
    site.options["language"] = "zh"
    site.env = {}
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build()
    strict = site.build("--strict")

    assert build.returncode == 0, build.log
    assert strict.returncode == 1
    assert build.log.count("WARNING") == 1
    assert "OPENAI_API_KEY is not set" in build.log
    digest = build.digest()
    assert [row.summary for row in digest.rows] == ["暂无摘要。"] * 2
    assert digest.footnotes["fn:2403.16584"] == [
        "Distilling text",
        "https://arxiv.org/abs/2403.16584",
        "暂无摘要。",
        "We distill. ↩",
    ]
    assert not any(key.startswith(("digest:", "page:")) for key in cached_rows(site))  # nothing degraded kept

    site.env = {"OPENAI_API_KEY": API_KEY}
    retry = site.build("--strict")

    assert retry.returncode == 0, retry.log
    assert len(llm_api.history) == 2


@pytest.mark.parametrize(
    ("kind", "formats", "refusal"),
    [
        # llama-cpp-python refuses json_schema with HTTP 500: asked once, not retried as a fault.
        ("llama-cpp-python", ["json_schema", "json_object+schema", "json_object+schema"], "json_schema (500)"),
        ("deepseek", ["json_schema", "json_object+schema", "json_object+schema"], "json_schema (400)"),
        ("no-response-format", ["json_schema", "json_object+schema", "json_object", "prompt", "prompt"], "(422)"),
    ],
)
def test_each_server_gets_the_strongest_format_it_accepts(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, kind: str, formats: list[str], refusal: str
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    llm_api.kind = kind
    site.options.update(language="zh", concurrency=1)
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert [request_format(request) for request in llm_api.requests] == formats  # learnt once for the build
    assert f"{llm_api.base_url} refused {refusal}" in build.log or f"refused json_object+schema {refusal}" in build.log
    assert all("JSON schema" in request["messages"][0]["content"] for request in llm_api.requests)
    assert build.digest().rows[1].summary == "本文研究了《Explainable》中的问题，并提出了一种新的方法。"


def test_a_reasoning_model_gets_max_completion_tokens(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    llm_api.kind = "reasoning"
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    first, second = llm_api.requests
    assert "max_tokens" in first and "max_completion_tokens" in second
    assert second["max_completion_tokens"] == first["max_tokens"]


def test_every_request_is_bounded_and_a_runaway_reply_is_rejected(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill text. " * 40)
    llm_api.script = ["runaway", "runaway"]
    site.options.update(language="zh", retries=1)
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 0, build.log
    limits = [request["max_tokens"] for request in llm_api.requests]
    assert len(limits) == 2 and limits[0] == limits[1]
    # The longest reply the checks accept: summary, title and a translation of 1.1 x the abstract.
    assert 1000 < limits[0] < 6000
    assert "index.md:2: 2403.16584: no summary: no valid reply from gpt-4.1-mini after 2 tries: " in build.log
    assert "the reply was cut off (finish_reason: length)" in build.log
    assert f"{2 * (100 + limits[0])} of them on rejected replies" in build.log
    assert not any(key.startswith("digest:") for key in cached_rows(site))


def test_a_reply_in_the_wrong_language_is_fed_back_then_degrades_and_is_not_cached(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill text with language models. " * 8)
    english = {"title": "Distilling text", "summary": "We distill text with a new method.",
               "abstract": "We distill text with language models. " * 8}  # fmt: skip
    llm_api.answer = lambda paper, language: english
    site.options.update(language="zh", retries=1)
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 1
    assert (
        "index.md:2: 2403.16584: no summary: no valid reply from gpt-4.1-mini after 2 tries: "
        "title is the original, not translated into Chinese (Simplified); "
        "summary is in English, expected Chinese (Simplified); abstract is in English, expected Chinese (Simplified)"
    ) in build.log
    feedback = llm_api.requests[1]["messages"][-1]["content"]
    assert feedback.startswith("That reply was invalid: title is the original, not translated into Chinese")
    assert build.digest().rows[0].summary == "暂无摘要。"
    assert not any(key.startswith("digest:") for key in cached_rows(site))


def test_a_cached_digest_from_before_the_checks_is_checked_when_read(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    arxiv_api.add("2403.11894", "Explainable", "We explain.")
    site.options["language"] = "zh"
    site.page("index.md", block("2403.16584", "2403.11894"))
    assert site.build("--strict").returncode == 0
    # As an older version cached them: no `checked`, and one in English (a small model's reply).
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        rows = list(db.execute("select key, value from Cache where key like 'digest:%'"))
        for key, value in rows:
            digest = json.loads(value)
            del digest["checked"]
            if digest["title"] == "《Explainable》的中文标题":
                digest["summary"] = "We explain things in a new way."
            db.execute("update Cache set value = ? where key = ?", (json.dumps(digest), key))
        db.execute("delete from Cache where key like 'page:%'")

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(llm_api.history) == 3  # only the failing one asked again
    assert build.digest().rows[1].summary == "本文研究了《Explainable》中的问题，并提出了一种新的方法。"
    assert all(
        value["checked"] == CHECKS_VERSION for key, value in cached_rows(site).items() if key.startswith("digest:")
    )  # type: ignore[index]


def test_invalid_replies_are_retried_with_the_problem_fed_back(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    llm_api.script = ["broken-json", "missing-field", "refusal"]
    site.options.update(language="zh", retries=3)
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(llm_api.history) == 4
    feedback = [request["messages"][-1]["content"] for request in llm_api.requests[1:]]
    assert "not valid JSON" in feedback[0]
    assert "`summary` must be a non-empty string" in feedback[1]
    assert "the model refused" in feedback[2]
    assert build.digest().rows[0].summary == "本文研究了《Distilling text》中的问题，并提出了一种新的方法。"


def test_one_failing_paper_does_not_affect_the_others(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    arxiv_api.add("2403.09891", "Fisher masks")
    site.options.update(retries=1)

    def answer(paper: dict[str, str], language: str) -> dict[str, str]:
        if paper["title"] == "Explainable":
            return {"summary": "x" * 5000}
        return {"summary": f"This paper is about {paper['title']} and what it adds."}

    llm_api.answer = answer
    site.page("index.md", "# Week\n\n" + block("2403.16584", "2403.11894", "2403.09891"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert "index.md:5: 2403.11894: no summary: no valid reply from gpt-4.1-mini after 2 tries" in build.log
    assert "longer than 600 characters" in build.log
    assert [row.summary for row in build.digest().rows] == [
        "This paper is about Distilling text and what it adds.",
        "No summary yet.",
        "This paper is about Fisher masks and what it adds.",
    ]
    assert len([key for key in cached_rows(site) if key.startswith("digest:")]) == 2

    llm_api.answer = lambda paper, language: {"summary": f"Now this paper is about {paper['title']} and what it adds."}
    site.env["ARXIV_DIGEST_RETRY_REJECTED"] = "1"  # else held back for an hour (tests/test_backoff.py)
    rebuild = site.build("--strict")

    assert rebuild.returncode == 0, rebuild.log
    assert [row.summary for row in rebuild.digest().rows] == [
        "This paper is about Distilling text and what it adds.",
        "Now this paper is about Explainable and what it adds.",
        "This paper is about Fisher masks and what it adds.",
    ]


def test_model_server_errors_are_retried_then_degrade(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.options.update(retries=2)
    llm_api.script = [429, 500, 503]
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert len(llm_api.history) == 3
    assert "index.md:2: 2403.16584: no summary: InternalServerError" in build.log
    assert build.digest().rows[0].summary == "No summary yet."


def test_a_slow_model_times_out_and_degrades(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    site.options.update(timeout=1, retries=1, concurrency=1)
    llm_api.script = [("slow", 3), ("slow", 3)]
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert "index.md:2: 2403.16584: no summary: APITimeoutError" in build.log
    assert [row.summary for row in build.digest().rows] == [
        "No summary yet.",
        "This work on Explainable contributes a new method and shows that it works.",
    ]


def test_arxiv_requests_are_spaced_by_the_delay(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    ids = [f"2403.{10000 + i}" for i in range(150)]
    for paper_id in ids:
        arxiv_api.add(paper_id, f"Paper {paper_id}")
    site.options["arxiv_delay"] = 2
    site.page("index.md", block(*ids))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert "Summarized 50/150 papers" in build.log and "Summarized 150/150 papers" in build.log  # progress
    assert [len(ids) for ids in arxiv_api.queries] == [100, 50]
    assert arxiv_api.history[1]["at"] - arxiv_api.history[0]["at"] >= 2
    assert len(build.digest().rows) == 150 and len(llm_api.history) == 150


def test_arxiv_org_cannot_be_asked_faster_than_its_terms_allow(site: Site) -> None:
    site.options.update(arxiv_api_url="https://export.arxiv.org/api/query", arxiv_delay=1)
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 1
    assert "arxiv_delay must be at least 3.0 s for export.arxiv.org (arXiv's terms of use)" in build.log


def test_papers_failing_for_one_reason_are_reported_in_one_line(site: Site, arxiv_api: FakeArxiv) -> None:
    ids = [f"2403.1658{n}" for n in range(7)]
    for paper_id in ids:
        arxiv_api.add(paper_id, f"Paper {paper_id}")
    with socket.socket() as closed:  # a port nothing listens on: the model server is down
        closed.bind(("127.0.0.1", 0))
        site.options.update(base_url=f"http://127.0.0.1:{closed.getsockname()[1]}/v1", retries=0)
    site.page("index.md", "# Week\n\n" + block(*ids))

    build = site.build()

    assert build.returncode == 0, build.log
    warnings = [line for line in build.log.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, build.log
    assert "7 papers: no summary: APIConnectionError" in warnings[0]
    assert warnings[0].endswith(
        "— at index.md:4 (2403.16580), index.md:5 (2403.16581), index.md:6 (2403.16582), "
        "index.md:7 (2403.16583), index.md:8 (2403.16584) and 2 more"
    )


def test_offline_names_the_papers_the_language_and_what_the_snapshot_has(site: Site, arxiv_api: FakeArxiv) -> None:
    papers = [
        {"id": paper_id, "version": 1, "title": f"Paper {paper_id}", "authors": ["A. Author"], "published": "2024-03-25",
         "abstract": "An abstract.", "digests": {lang: {"model": "written-by-hand", "title": "标题", "summary": "一句话。",
                                                       "abstract": "摘要。"} for lang in ("zh", "ja")}}
        for paper_id in ("2403.16584", "2403.11894")
    ]  # fmt: skip
    (site.root / "snapshot.yml").write_text(yaml.safe_dump({"papers": papers}, allow_unicode=True), encoding="utf-8")
    site.options.update(snapshot="snapshot.yml", offline=True)  # the default theme sets no language: en
    site.env = {}
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build("--strict")

    assert build.returncode == 1
    reason = (
        "no summary in 'en' in the snapshot or the cache, and `offline` is on (the snapshot has summaries in ja, zh)"
    )
    assert f"index.md:2: 2403.16584: {reason}" in build.log
    assert f"index.md:3: 2403.11894: {reason}" in build.log
    assert arxiv_api.history == []


def test_prefetch_says_which_paper_failed_where(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("notes/week.md", "# Week\n\n" + block("2403.16584", "2403.99999"))
    config = site.write_config()

    with environment(clean_env(OPENAI_API_KEY=API_KEY)):
        result = CliRunner().invoke(main, ["prefetch", "-f", str(config)])

    assert result.exit_code == 1
    assert "notes/week.md:5: 2403.99999: arXiv has no paper with this identifier (check it;" in result.stderr
    assert "1/2 papers complete" in result.stdout


def test_an_unknown_language_code_is_a_warning_naming_the_likely_one(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    site.options["language"] = "de"
    site.page("index.md", "# Week\n\n```arxiv-digest\nlanguage: jp\npapers:\n  - 2403.16584\n```\n")

    build = site.build()

    assert build.returncode == 0, build.log
    assert (
        "index.md:4: option 'language': language code 'jp' is not a known language; did you mean 'ja' (Japanese)?"
        in build.log
    )

    site.options["language"] = "Chinese"
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 1
    assert "language code 'Chinese' is not a known language; did you mean 'zh' (Chinese)?" in build.log


def test_an_unreachable_arxiv_is_named_in_one_line(site: Site) -> None:
    with socket.socket() as closed:  # nothing listens here: arXiv never answers
        closed.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{closed.getsockname()[1]}"
    site.options.update(arxiv_api_url=f"http://{host}/api/query", retries=0)
    site.page("index.md", block("2403.16584", "2403.11894", "2403.09891"))

    build = site.build()

    warnings = [line for line in build.log.splitlines() if line.startswith("WARNING")]
    assert warnings == [
        f"WARNING -  arxiv-digest: 3 papers: arXiv unavailable: no answer from {host} (ConnectionError), 1 tries"
        " — at index.md:2 (2403.16584), index.md:3 (2403.11894), index.md:4 (2403.09891)"
    ]
    assert "answered" not in build.log
