"""Replies a build must survive: slow, huge, hostile or malformed.

`timeout` is a deadline for each whole request, to arXiv and to the model; replies
have a size cap before anything parses them; a feed with a DTD or broken XML is
refused before the `arxiv` package's recovering parser sees it; a completion of any
shape is either valid or an invalid reply. Each ends as a warning naming page, line
and ID, and the build goes on.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from mkdocs_arxiv_digest.arxiv_feed import MAX_FIELD_BYTES, check_feed
from mkdocs_arxiv_digest.arxiv_source import MAX_FEED_BYTES
from mkdocs_arxiv_digest.http_limits import RefusedReplyError
from mkdocs_arxiv_digest.llm import MAX_REPLY_BYTES
from tests.fakes import HOSTILE_FEEDS, FakeArxiv, FakeLLM, FakePaper, _entry, _feed
from tests.helpers import Build, Site, block

UNAVAILABLE = "No summary yet."
UNAVAILABLE_ZH = "暂无摘要。"


def build_in_a_process(site: Site) -> Build:
    """`mkdocs build` in its own process: a request that never ends must not hang the tests."""
    process = site.start()
    try:
        log, _ = process.communicate(timeout=120)  # generous: the builds below take seconds
    except subprocess.TimeoutExpired:
        process.kill()
        log, _ = process.communicate()
        pytest.fail(f"the build was still running after 120 s:\n{log[-2000:]}")
    return Build(process.returncode, log, site.root / "site")


# -- deadlines -----------------------------------------------------------------------


def test_a_trickling_model_is_given_up_at_the_deadline(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    # Headers at once, then a byte a second: every read is quick, the reply never ends.
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    site.options.update(timeout=2, retries=1, concurrency=1)
    llm_api.script = [("trickle", 1), ("trickle", 1)]  # the first paper, on both tries
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = build_in_a_process(site)

    assert build.returncode == 0, build.log
    assert "index.md:2: 2403.16584: no summary: APITimeoutError" in build.log
    assert [row.summary for row in build.digest().rows] == [
        UNAVAILABLE,
        "This work on Explainable contributes a new method and shows that it works.",
    ]
    assert len(llm_api.history) == 3


def test_a_trickling_arxiv_is_given_up_at_the_deadline(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.options.update(timeout=2, retries=0)
    arxiv_api.script = [("trickle", 1)]
    site.page("index.md", block("2403.16584"))

    build = build_in_a_process(site)

    assert build.returncode == 0, build.log
    host = arxiv_api.url.removeprefix("http://")
    assert f"index.md:2: 2403.16584: arXiv unavailable: no answer from {host} (ReadTimeout), 1 tries" in build.log
    assert [row.summary for row in build.digest().rows] == ["Details unavailable; see the paper on arXiv."]
    assert llm_api.history == []


# -- size caps -----------------------------------------------------------------------


def test_a_huge_model_reply_is_refused_unread(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    llm_api.huge_bytes = 2 * MAX_REPLY_BYTES  # valid JSON, padded with whitespace
    llm_api.script = ["huge"]
    site.options.update(retries=2)
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert (
        f"index.md:2: 2403.16584: no summary: {llm_api.base_url}: the reply is larger than 1 MiB; refused" in build.log
    )
    assert [row.summary for row in build.digest().rows] == [UNAVAILABLE]
    assert len(llm_api.history) == 1  # the same question would get the same answer: not asked again


def test_a_huge_arxiv_reply_is_refused_unread(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.huge_bytes = MAX_FEED_BYTES + 2**20
    arxiv_api.script = ["huge"]
    site.options.update(retries=2)
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert "index.md:2: 2403.16584: arXiv: the reply is larger than 32 MiB; refused" in build.log
    assert len(arxiv_api.history) == 1
    assert llm_api.history == []


# -- hostile and broken feeds ----------------------------------------------------------


@pytest.mark.parametrize("feed", ["billion-laughs", "external-entity"])
def test_a_feed_with_entities_is_refused_before_parsing(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, feed: str
) -> None:
    arxiv_api.script = [feed]
    site.options.update(retries=2)
    site.page("index.md", "# Feed\n\n" + block("2403.16584"))

    started = time.monotonic()
    build = site.build()

    assert build.returncode == 0, build.log
    assert time.monotonic() - started < 60  # generous: expanded, the laughs would take minutes and gigabytes
    assert "index.md:4: 2403.16584: arXiv: the reply declares a DTD" in build.log
    html = build.html()
    assert "lol" not in html and "root:" not in html and "Reading" not in html
    assert [row.title for row in build.digest().rows] == ["2403.16584"]
    assert len(arxiv_api.history) == 1
    assert llm_api.history == []


def test_a_cut_feed_is_asked_for_again_not_half_read(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    # The package's parser would recover what it could from the first half: fewer
    # entries, or an entry without its dates, reported as "arXiv has no paper".
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = ["cut"]
    site.options.update(retries=1)
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(arxiv_api.history) == 2
    assert [row.title for row in build.digest().rows] == ["Distilling text"]


def _feed_with(entry_text: str) -> bytes:
    return _feed([entry_text], 1).encode()


GOOD_ENTRY = _entry(FakePaper("2403.16584", "Distilling text", "We distill."))


@pytest.mark.parametrize(
    ("content", "refused", "retry"),
    [
        pytest.param(HOSTILE_FEEDS["billion-laughs"].encode(), "declares a DTD", False, id="billion-laughs"),
        pytest.param(HOSTILE_FEEDS["external-entity"].encode(), "declares a DTD", False, id="external-entity"),
        pytest.param(
            _feed_with(GOOD_ENTRY).replace(b"\n", b'\n<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/atom.dtd">\n', 1),
            "declares a DTD",
            False,
            id="external-dtd",
        ),
        pytest.param(
            _feed_with(GOOD_ENTRY).replace(
                b"\n", b'\n<!DOCTYPE feed [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n', 1
            ),
            "declares a DTD",
            False,
            id="parameter-entity",
        ),
        pytest.param(
            _feed_with(GOOD_ENTRY.replace("<author>", f'<author x="{"a" * (MAX_FIELD_BYTES + 1)}">', 1)),
            "text or attribute longer than",
            False,
            id="huge-attribute",
        ),
        pytest.param(
            _feed_with(GOOD_ENTRY.replace("We distill.", "We distill. " * (MAX_FIELD_BYTES // 10))),
            "text or attribute longer than",
            False,
            id="huge-text",
        ),
        pytest.param(_feed_with(GOOD_ENTRY)[:-200], "not well-formed", True, id="cut"),
        pytest.param(b"unavailable", "not well-formed", True, id="not-xml"),
    ],
)
def test_check_feed_refuses(content: bytes, refused: str, retry: bool) -> None:
    with pytest.raises(RefusedReplyError) as error:
        check_feed(content)
    assert refused in str(error.value)
    assert error.value.retry is retry


def test_check_feed_accepts_what_arxiv_sends() -> None:
    check_feed(_feed_with(GOOD_ENTRY))
    check_feed(_feed_with(GOOD_ENTRY.replace("We distill.", "Long results. " * 1000)))


# -- malformed completions -------------------------------------------------------------


def test_a_completion_of_the_wrong_shape_is_an_invalid_reply(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    site.options.update(language="zh", retries=4, concurrency=1)
    llm_api.script = [
        *["content-number"] * 5,  # the first paper: HTTP 200, `"content": 12345`, five times
        *["no-message", "choices-not-a-list", "deep-json", "cut", "usage-text"],  # the second: valid at last
    ]
    site.page("index.md", "# Week\n\n" + block("2403.16584", "2403.11894"))

    build = site.build("--strict")

    assert build.returncode == 1  # a warning: --strict fails
    assert (
        "index.md:4: 2403.16584: no summary: no valid reply from gpt-4.1-mini after 5 tries: "
        "the reply's content was int, not text" in build.log
    )
    assert [row.summary for row in build.digest().rows] == [
        UNAVAILABLE_ZH,
        "本文研究了《Explainable》中的问题，并提出了一种新的方法。",
    ]
    feedback = [request["messages"][-1]["content"] for request in llm_api.requests[6:]]
    assert [text.split(": ", 1)[1] for text in feedback] == [
        "the reply had no content. Reply with only the corrected JSON object.",
        "the reply had no choices. Reply with only the corrected JSON object.",
        "not valid JSON (nested too deeply). Reply with only the corrected JSON object.",
        "the reply was not a JSON document (JSONDecodeError). Reply with only the corrected JSON object.",
    ]


# A reply whose status line and headers come a byte every 0.2 s: some 70 bytes, 14 s and
# more before the body, with every read quick. The deadline is 2 s for the whole request.
TRICKLED_HEADERS = ("trickle-headers", 0.2)


def test_a_model_trickling_its_headers_is_given_up_at_the_deadline(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.options.update(timeout=2, retries=0)
    llm_api.script = [TRICKLED_HEADERS]
    site.page("index.md", block("2403.16584"))

    build = build_in_a_process(site)

    assert build.returncode == 0, build.log
    assert "index.md:2: 2403.16584: no summary: APITimeoutError" in build.log
    # Timed from the request, not the start: starting a build takes ~2 s, far more on a busy machine.
    assert time.monotonic() - llm_api.history[0]["at"] < 10  # the deadline is 2 s, the trickle 14 s
    assert len(llm_api.history) == 1


def test_an_arxiv_trickling_its_headers_is_given_up_at_the_deadline(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.options.update(timeout=2, retries=0)
    arxiv_api.script = [TRICKLED_HEADERS]
    site.page("index.md", block("2403.16584"))

    build = build_in_a_process(site)

    assert build.returncode == 0, build.log
    host = arxiv_api.url.removeprefix("http://")
    assert f"index.md:2: 2403.16584: arXiv unavailable: no answer from {host} (ReadTimeout), 1 tries" in build.log
    assert time.monotonic() - arxiv_api.history[0]["at"] < 10
    assert llm_api.history == []


def test_a_trickled_reply_that_ends_in_time_is_read(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    # The deadline ends a slow reply, never one that comes in time, headers trickled or not.
    arxiv_api.add("2403.16584", "Distilling text")
    site.options.update(timeout=20, retries=0)
    arxiv_api.script = [("trickle-headers", 0.001)]
    llm_api.script = [("trickle-headers", 0.001)]
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert [row.title for row in build.digest().rows] == ["Distilling text"]
