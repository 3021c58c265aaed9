"""arXiv as it behaves in 2026: Retry-After, empty replies, unknown IDs, one spacing for every process.

The real `arxiv` package against the fake arXiv over real HTTP. In-process tests give the
source a clock and a sleep that advance together (`Clock`), so a 4 s `Retry-After` is
checked without waiting 4 s; one real build checks the same wait in real time, and two
real `mkdocs build` processes check the spacing they share.
"""

from __future__ import annotations

import email.utils
import itertools
from contextlib import closing
from pathlib import Path

import pytest

from mkdocs_arxiv_digest import arxiv_source
from mkdocs_arxiv_digest.arxiv_source import USER_AGENT
from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, validated_options
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import DigestRequest
from mkdocs_arxiv_digest.resolver import Resolver
from mkdocs_arxiv_digest.retry_after import retry_after_seconds
from mkdocs_arxiv_digest.snapshot import Snapshot
from tests.fakes import FakeArxiv, FakeLLM, FakePaper, _entry, _feed
from tests.helpers import Site, block, mkdocs_log

DAY = 86400.0


class Clock:
    """A wall clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def spacing_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user cache directory (where the shared spacing lives) of this test alone."""
    home = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def settings(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> Settings:
    options = {
        "arxiv_api_url": arxiv_api.url + "/api/query", "arxiv_delay": 0, "base_url": llm_api.base_url,
        "timeout": 5, "retries": 2, "offline": False,
    }  # fmt: skip
    return Settings.from_config(validated_options(options), base_dir=tmp_path, default_language="en")


def source(settings: Settings, clock: Clock) -> arxiv_source.ArxivSource:
    client = arxiv_source.make_client(settings.arxiv_api_url, timeout=settings.timeout, delay=settings.arxiv_delay)
    return arxiv_source.ArxivSource(
        client, retries=settings.retries, max_wait=settings.timeout, sleep=clock.sleep, clock=clock
    )


def fetch(settings: Settings, clock: Clock, *ids: str) -> arxiv_source.Batch:
    (batch,) = source(settings, clock).fetch_batches([parse_id(i) for i in ids])
    return batch


# -- Retry-After and the spacing after a 429 ---------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("4", 4.0), ("  120 ", 120.0), ("Thu, 01 Jan 2030 00:00:10 GMT", 10.0), ("soon", None), ("-3", None), ("", None)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str, expected: float | None) -> None:
    assert retry_after_seconds(header, now=1_893_456_000.0) == expected  # 2030-01-01T00:00:00Z


def test_a_429_with_retry_after_4_waits_4_seconds_then_spaces_requests_wider(
    settings: Settings, arxiv_api: FakeArxiv
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = [(429, {"Retry-After": "4"})]
    clock = Clock()
    with mkdocs_log() as log:
        batch = fetch(settings, clock, "2403.16584")

    assert list(batch.papers) == [parse_id("2403.16584")]
    assert clock.waits == [4.0]  # without Retry-After the first backoff is 1 s (test_resolver)
    assert log.getvalue().count("arXiv asks for fewer requests (HTTP 429): they are now 1 s apart") == 1


def test_a_retry_after_http_date_is_obeyed(settings: Settings, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    clock = Clock()
    arxiv_api.script = [(503, {"Retry-After": email.utils.formatdate(clock.now + 3, usegmt=True)})]

    batch = fetch(settings, clock, "2403.16584")

    assert list(batch.papers) == [parse_id("2403.16584")]
    assert clock.waits == [3.0]


def test_a_retry_after_past_the_deadline_ends_this_and_every_processs_requests(
    settings: Settings, arxiv_api: FakeArxiv
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = [(429, {"Retry-After": "3600"})]  # timeout is 5 s
    clock = Clock()

    batch = fetch(settings, clock, "2403.16584")
    again = fetch(settings, clock, "2403.16584")  # another source, as another process would have

    assert batch.error is not None and "Retry-After" in str(batch.error)
    assert again.error is not None and "Retry-After" in str(again.error)
    assert len(arxiv_api.history) == 1 and clock.waits == []
    clock.now += 3600
    assert list(fetch(settings, clock, "2403.16584").papers) == [parse_id("2403.16584")]


def test_a_429_with_retry_after_really_waits_in_a_build(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = [(429, {"Retry-After": "4"})]
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    first, second = arxiv_api.history
    assert second["at"] - first["at"] >= 4.0
    assert "asking again in 4 s" in build.log
    assert [row.title for row in build.digest().rows] == ["Distilling text"]


# -- empty replies -------------------------------------------------------------------------


def test_an_empty_reply_then_a_full_one_completes_the_papers(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    arxiv_api.script = ["empty"]
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert len(arxiv_api.history) == 2
    assert [row.title for row in build.digest().rows] == ["Distilling text", "Explainable"]
    assert "arXiv answered with no entries; asking again in 1 s" in build.log


def test_a_paper_known_before_is_never_declared_unknown_on_an_empty_reply(
    settings: Settings, arxiv_api: FakeArxiv, tmp_path: Path
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    clock = Clock()
    wanted = [DigestRequest(parse_id("2403.16584"), "en", "m")]
    with closing(Cache(settings.cache_dir, clock=clock)) as cache:
        first = Resolver(settings, cache, Snapshot(), source=source(settings, clock))
        build = Build()
        list(first.metadata.fetch(build, *first.metadata.load_local(build, [wanted[0].id])))
        clock.now += settings.refresh_days * DAY + 1  # due a refresh: arXiv is asked again
        arxiv_api.script = ["empty"] * 3  # every try of it

        resolver = Resolver(settings, cache, Snapshot(), source=source(settings, clock))
        known = list(resolver.metadata.fetch(build, *resolver.metadata.load_local(build, [wanted[0].id])))

        assert known == [wanted[0].id]
        assert resolver.row(wanted[0]).paper is not None
        assert not resolver.metadata.is_fresh(build, wanted[0].id)  # a stale copy: the page is not stored whole
        assert len(arxiv_api.history) == 4
        assert cache.get_records("unknown", ["2403.16584"], lambda data: data) == {}


# -- unknown IDs ---------------------------------------------------------------------------


def test_300_unknown_ids_are_one_warning_and_not_asked_again_the_next_day(site: Site, arxiv_api: FakeArxiv) -> None:
    unknown = [f"2404.{n:05d}" for n in range(300)]
    site.options["retries"] = 1
    site.page("index.md", block(*unknown))

    first = site.build("--strict")
    second = site.build("--strict")

    assert len(arxiv_api.history) == 6  # 3 batches, each empty and asked again once
    for build in (first, second):
        assert build.returncode == 1  # every build warns, so --strict fails
        warnings = [line for line in build.log.splitlines() if line.startswith("WARNING")]
        assert len(warnings) <= 3, warnings
        assert "300 papers: arXiv has no paper with this identifier" in warnings[0]
        assert "`unknown_days: 0`" in warnings[0]
    site.options.update(unknown_days=0, retries=0)
    site.build()
    assert len(arxiv_api.history) == 9  # a new look, asked for


def test_a_missing_id_among_found_ones_is_unknown_at_once(settings: Settings, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    clock = Clock()

    batch = fetch(settings, clock, "2403.16584", "2403.99999")

    assert batch.missing == [parse_id("2403.99999")]
    assert len(arxiv_api.history) == 1 and clock.waits == []  # arXiv answered: its silence on one is an answer


# -- one spacing for every process ---------------------------------------------------------


def test_two_builds_started_at_once_keep_arxiv_delay_between_all_their_requests(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM, spacing_home: Path
) -> None:
    delay = 1.0
    sites: list[Site] = []
    for name, start in (("one", 10000), ("two", 20000)):
        site = Site(tmp_path / name, arxiv_api, llm_api)
        ids = [f"2403.{n:05d}" for n in range(start, start + 101)]  # two requests each
        for paper_id in ids:
            arxiv_api.add(paper_id, f"Paper {paper_id}")
        site.options["arxiv_delay"] = delay
        site.env = {"XDG_CACHE_HOME": str(spacing_home)}  # no model key: arXiv is all they ask
        site.page("index.md", block(*ids))
        sites.append(site)
    processes = [site.start() for site in sites]
    for process in processes:
        log, _ = process.communicate(timeout=120)
        assert process.returncode == 0, log

    arrivals = sorted(request["at"] for request in arxiv_api.history)
    assert len(arrivals) == 4
    # Arrival times include each process's own sending latency: under a millisecond on
    # loopback, a few with a new connection, and up to ~200 ms when a loaded machine wakes
    # a sender late from its wait (185 ms seen at load 11 in one of ten whole-suite runs on
    # four workers and two cores); a later sender's turn counts from an earlier one's
    # reserved turn, not its arrival. 300 ms of slack: unspaced, the two builds' requests
    # interleave, the closest at most 0.5 s apart (each build spaces its own two by the
    # delay), unless one started ~2 s after the other.
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= delay - 0.3
    assert {request["headers"]["user-agent"] for request in arxiv_api.history} == {USER_AGENT}


def test_the_user_agent_names_the_plugin_its_version_and_project(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    site.env["ARXIV_API_KEY"] = "arxiv-key-SECRET"

    build = site.build()

    agent = arxiv_api.history[0]["headers"]["user-agent"]
    assert agent.startswith("mkdocs-arxiv-digest/0.1.0 (+https://github.com/")
    assert "arxiv.py/" in agent
    # The key is read but not sent until arXiv says how: no header or URL of ours carries it.
    assert "SECRET" not in repr(arxiv_api.history)
    assert "ARXIV_API_KEY is set, but arXiv has not yet said how keys are sent" in build.log
    assert "SECRET" not in build.log


# -- odd fields ----------------------------------------------------------------------------


def feed_of(*entries: str) -> tuple[str, str]:
    return ("feed", _feed(list(entries), len(entries)))


@pytest.mark.parametrize(
    "published",
    ["<published>yesterday</published>", "<published/>", "<published></published>", ""],
    ids=["not-a-date", "empty-element", "empty", "missing"],
)
def test_an_odd_published_date_is_a_warning_for_that_paper(site: Site, arxiv_api: FakeArxiv, published: str) -> None:
    odd = _entry(FakePaper("2403.16584", "Distilling text", "We distill.")).replace(
        "<published>2024-03-25T17:59:01Z</published>", published
    )
    fine = _entry(FakePaper("2403.11894", "Explainable", "We explain."))
    arxiv_api.script = [feed_of(odd, fine)]
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert "Traceback" not in build.log
    warnings = [line for line in build.log.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "2403.16584: arXiv's entry has" in warnings[0], build.log
    assert "<published> date" in warnings[0] and "shown without it" in warnings[0]
    assert [row.title for row in build.digest().rows] == ["Distilling text", "Explainable"]


def test_an_entry_without_a_title_is_a_failure_not_an_unknown_paper(site: Site, arxiv_api: FakeArxiv) -> None:
    untitled = _entry(FakePaper("2403.16584", "Distilling text", "We distill.")).replace("Distilling\n  text", "")
    arxiv_api.script = [feed_of(untitled)]
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert "2403.16584: arXiv sent an entry for it that could not be read" in build.log
    assert "no paper with this identifier" not in build.log
