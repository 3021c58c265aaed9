"""Not paying again for what was just rejected (issue 18, item 6): real builds through the fakes.

A paper whose replies the checks rejected is held back by the next builds — no request,
the warning again (so `--strict` still fails), saying until when and how to ask now —
until its wait is over; a new model, the force switches, and every failure that is not
the model's text (a 500, an unreachable server, no key, a reply of no readable shape) ask
again at once. The text here was written for these tests.
"""

from __future__ import annotations

import calendar
import re
import time
import urllib.request
from contextlib import closing
from typing import Any

import pytest

from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.keys import CHECKS_VERSION
from mkdocs_arxiv_digest.models import MAX_REASON, Rejection
from mkdocs_arxiv_digest.resolver import retry_at
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Build, Site, SphinxSite, block
from tests.test_cli import run
from tests.test_serve import rebuilt, serving, wait_for
from tests.test_sphinx import directive

ID = "2109.07319"
TITLE = "SparseRoute: Mixture Routing for Short Text Extreme Classification"
ABSTRACT = (
    "Extreme classification assigns each short text, such as a search query or a product title, the few "
    "relevant labels among millions. We present SparseRoute, a light-weight architecture that routes every "
    "query to a small set of experts before ranking the labels they hold. On AmazonTitles-3M, SparseRoute "
    "reaches 47.3% precision at one, 2.1 points above InceptionXML."
)
COPIED = {"summary": ABSTRACT.split(". ")[0] + "."}
"""A summary that is the abstract's first sentence, word for word: rejected by the checks."""
WRITTEN = {"summary": "SparseRoute routes each query to a few experts and beats InceptionXML on AmazonTitles-3M."}
HOUR = 3600
HELD_BACK = re.compile(r"not asked again before (\d{4}-\d\d-\d\d \d\d:\d\d) UTC")
FORCE = "(to ask now: `arxiv-digest prefetch --retry-rejected`, or build with ARXIV_DIGEST_RETRY_REJECTED=1)"


def answering(reply: dict[str, str]) -> Any:
    return lambda paper, language: reply


def rejected_site(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> Build:
    """An English site whose one paper the model keeps answering with a copied summary; its first build."""
    arxiv_api.add(ID, TITLE, ABSTRACT)
    llm_api.answer = answering(COPIED)
    site.options.update(language="en", retries=1)
    site.page("index.md", "# Reading\n\n" + block(ID))
    build = site.build()
    assert build.returncode == 0, build.log
    assert len(llm_api.requests) == 2  # the reply, and the one asked for with the problem fed back
    assert "summary copies the abstract word for word" in build.log
    return build


def retried_in(log: str) -> float:
    """When the build's warning says the paper is asked again (epoch seconds, to the minute)."""
    match = HELD_BACK.search(log)
    assert match is not None, log
    return calendar.timegm(time.strptime(match[1], "%Y-%m-%d %H:%M"))


def age_rejections(site: Site, seconds: float) -> None:
    """Move every remembered rejection ``seconds`` into the past, as if that much time had gone by."""
    with closing(Cache(site.cache_dir)) as cache:
        rows = cache.get_rejections(_rejection_keys(site))
        assert rows, "no rejection was remembered"
        for key, rejection in rows.items():
            cache.put_rejection(key, rejection._replace(at=rejection.at - seconds))


def _rejection_keys(site: Site) -> list[str]:
    import sqlite3

    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        rows = db.execute("select key from Cache").fetchall()
    return [key.removeprefix("rejected:") for (key,) in rows if key.startswith("rejected:")]


def test_a_rejected_paper_is_not_asked_again_by_the_next_build(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    first = rejected_site(site, arxiv_api, llm_api)
    # The first build's warning already says when the paper is asked again, and how to ask now.
    assert FORCE in first.log
    assert abs(retried_in(first.log) - (time.time() + HOUR)) < 120

    again = site.build("--strict")

    assert len(llm_api.requests) == 2  # nothing asked
    assert again.returncode == 1, again.log  # the warning is still there: --strict still fails
    assert f"index.md:4: {ID}: no summary: no valid reply from gpt-4.1-mini after 2 tries: " in again.log
    assert " — rejected once, not asked again before " in again.log
    assert FORCE in again.log
    assert abs(retried_in(again.log) - (time.time() + HOUR)) < 120
    assert "1 paper: 0 cached, 0 generated, 1 failed, 1 held back; 0 arXiv requests" in again.log
    assert again.digest().rows[0].summary == "No summary yet."


def test_once_the_wait_is_over_it_is_asked_again_and_the_next_wait_doubles(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    rejected_site(site, arxiv_api, llm_api)
    age_rejections(site, HOUR + 1)

    second = site.build()

    assert len(llm_api.requests) == 4  # asked again, rejected again
    assert "rejected 2 times in a row" in second.log
    assert abs(retried_in(second.log) - (time.time() + 2 * HOUR)) < 120
    assert "1 failed; " in second.log  # asked, not held back

    age_rejections(site, HOUR + 1)  # half the doubled wait
    assert "1 held back" in site.build().log
    assert len(llm_api.requests) == 4

    age_rejections(site, HOUR)
    llm_api.answer = answering(WRITTEN)
    fixed = site.build("--strict")

    assert fixed.returncode == 0, fixed.log
    assert len(llm_api.requests) == 5
    assert fixed.digest().rows[0].summary == WRITTEN["summary"]
    assert _rejection_keys(site) == []  # a success forgets the rejection


def test_a_change_of_model_asks_at_once(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    rejected_site(site, arxiv_api, llm_api)
    site.options["model"] = "a-larger-model"
    llm_api.answer = answering(WRITTEN)

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert [request["model"] for request in llm_api.requests] == ["gpt-4.1-mini", "gpt-4.1-mini", "a-larger-model"]


def test_the_environment_variable_asks_at_once_and_only_once_a_run(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    rejected_site(site, arxiv_api, llm_api)
    site.env["ARXIV_DIGEST_RETRY_REJECTED"] = "1"

    forced = site.build()

    assert len(llm_api.requests) == 4
    assert "rejected 2 times in a row" in forced.log

    site.env["ARXIV_DIGEST_RETRY_REJECTED"] = "0"  # "0" is off
    assert "1 held back" in site.build().log
    assert len(llm_api.requests) == 4


def test_prefetch_retry_rejected_asks_at_once(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    rejected_site(site, arxiv_api, llm_api)
    site.write_config()

    held = run(site.root, "prefetch")

    assert held.returncode == 1
    assert len(llm_api.requests) == 2
    assert FORCE in held.stderr

    llm_api.answer = answering(WRITTEN)
    forced = run(site.root, "prefetch", "--retry-rejected")

    assert forced.returncode == 0, forced.stderr
    assert len(llm_api.requests) == 3
    assert site.build("--strict").returncode == 0


def test_a_rejection_dated_in_the_future_holds_nothing_back(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    """A clock set back, or an edited row, would otherwise hold a paper back for ever."""
    rejected_site(site, arxiv_api, llm_api)
    age_rejections(site, -30 * 24 * HOUR)

    site.build()

    assert len(llm_api.requests) == 4


def test_a_server_error_is_asked_again_by_the_next_build(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add(ID, TITLE, ABSTRACT)
    llm_api.answer = answering(WRITTEN)
    site.options.update(language="en", retries=0)  # no SDK retry: one request, one 500
    site.page("index.md", block(ID))
    llm_api.script = [500]

    failed = site.build()

    assert "scripted failure" in failed.log and "not asked again" not in failed.log
    assert len(llm_api.requests) == 1

    fixed = site.build("--strict")

    assert fixed.returncode == 0, fixed.log
    assert len(llm_api.requests) == 2


def test_an_unreachable_server_or_a_missing_key_is_asked_again_by_the_next_build(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add(ID, TITLE, ABSTRACT)
    llm_api.answer = answering(WRITTEN)
    site.options.update(language="en", retries=0)
    site.page("index.md", block(ID))
    base_url = site.options["base_url"]
    site.options["base_url"] = "http://127.0.0.1:9/v1"  # the discard port: nothing listens

    assert "held back" not in site.build().log
    site.options["base_url"] = base_url
    key = site.env.pop("OPENAI_API_KEY")
    assert "OPENAI_API_KEY is not set" in site.build().log
    site.env["OPENAI_API_KEY"] = key

    fixed = site.build("--strict")

    assert fixed.returncode == 0, fixed.log
    assert len(llm_api.requests) == 1


def test_a_reply_of_no_readable_shape_is_not_held_back(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    """A completion with no choices is the server's (or a proxy's) fault, not the model's text."""
    arxiv_api.add(ID, TITLE, ABSTRACT)
    llm_api.answer = answering(WRITTEN)
    site.options.update(language="en", retries=0)
    site.page("index.md", block(ID))
    llm_api.script = ["choices-not-a-list"]

    assert "the reply had no choices" in site.build().log

    assert site.build("--strict").returncode == 0
    assert len(llm_api.requests) == 2


def test_mkdocs_serve_does_not_ask_again_when_a_page_is_saved(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add(ID, TITLE, ABSTRACT)
    llm_api.answer = answering(COPIED)
    site.options.update(language="en", retries=1)
    site.page("index.md", "# Reading\n\n" + block(ID))

    with serving(site) as (url, log_path):
        assert len(llm_api.requests) == 2
        assert "rejected once" in log_path.read_text()

        time.sleep(1.1)  # a later modification time than the first build saw
        site.page("index.md", "# Reading, edited\n\n" + block(ID))
        wait_for(lambda: rebuilt(log_path))

        assert len(llm_api.requests) == 2
        log = log_path.read_text()
        assert "1 failed, 1 held back" in log
        assert log.count(FORCE) == 2  # the warning, at each build
        html = urllib.request.urlopen(url).read().decode()
        assert "Reading, edited" in html and "No summary yet." in html


def test_sphinx_says_held_back_papers_with_their_own_subtype(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add(ID, TITLE, ABSTRACT)
    llm_api.answer = answering(COPIED)
    sphinx.conf.update(arxiv_digest_language="en", arxiv_digest_retries=0)
    sphinx.page("index.rst", "Reading\n=======\n\n" + directive(ID))

    first = sphinx.build()

    assert "[arxiv-digest.rejected]" in first.log, first.log
    assert len(llm_api.requests) == 1

    held = sphinx.build("-W", "-E")

    assert held.returncode == 1
    assert FORCE in held.log and "[arxiv-digest.rejected]" in held.log
    assert len(llm_api.requests) == 1

    sphinx.conf["suppress_warnings"] = ["arxiv-digest.rejected"]

    assert sphinx.build("-W", "-E").returncode == 0
    assert len(llm_api.requests) == 1


@pytest.mark.parametrize(
    ("count", "wait"), [(1, HOUR), (2, 2 * HOUR), (5, 16 * HOUR), (6, 24 * HOUR), (10**9, 24 * HOUR)]
)
def test_the_wait_doubles_up_to_a_day(count: int, wait: float) -> None:
    assert retry_at(Rejection(at=1000.0, in_a_row=count, reason="r", checks=CHECKS_VERSION)) == 1000.0 + wait


@pytest.mark.parametrize(
    "row",
    [
        [],
        {"at": "soon", "count": 1, "reason": "r", "checks": 1},
        {"at": float("inf"), "count": 1, "reason": "r", "checks": 1},
        {"at": -1, "count": 1, "reason": "r", "checks": 1},
        {"at": True, "count": 1, "reason": "r", "checks": 1},
        {"at": 1.0, "count": 0, "reason": "r", "checks": 1},
        {"at": 1.0, "count": 1.5, "reason": "r", "checks": 1},
        {"at": 1.0, "count": 1, "reason": "", "checks": 1},
        {"at": 1.0, "count": 1, "reason": "r", "checks": "2"},
    ],
)
def test_a_malformed_rejection_row_is_refused(row: Any) -> None:
    """A refused row is reported and skipped by the cache (`Cache.get_records`): the paper is asked for."""
    with pytest.raises(ValueError, match=r"rejection|reason"):
        Rejection.from_json(row)


def test_a_rejection_row_keeps_a_bounded_reason() -> None:
    row = {"at": 1.0, "count": 3, "reason": "x" * 10_000, "checks": 2}
    assert Rejection.from_json(row) == Rejection(1.0, 3, "x" * MAX_REASON, 2)
