"""The records passed between modules: plain, immutable, JSON-able where stored.

`Paper` is what arXiv says; `Digest` is what the model wrote about it in one language;
`Rejection` that the model's replies for it were rejected, and when. `from_json`
validates, because all three come back from disk (cache, snapshot), which is input like
any other. `DigestRequest` is what a directive asks for, `Row` what is known
of it when a page renders, `Failure` why it is incomplete, `ScannedPage` what a page
asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from mkdocs_arxiv_digest.ids import ArxivId


class Paper(NamedTuple):
    """Metadata of one arXiv paper, as the API returned it."""

    id: str
    """Identifier without version, e.g. ``2403.16584`` or ``hep-th/9901001``."""
    version: int
    """The version this metadata describes."""
    title: str
    """English title, whitespace collapsed. May be ``"0"`` (arXiv 2104.12255): still a title."""
    abstract: str
    """English abstract; may be empty."""
    authors: tuple[str, ...] = ()
    published: str = ""
    """Date of the first version, ``YYYY-MM-DD``."""

    @property
    def versioned_id(self) -> ArxivId:
        return ArxivId(self.id, self.version)

    def to_json(self) -> dict[str, Any]:
        return self._asdict() | {"authors": list(self.authors)}

    @classmethod
    def from_json(cls, data: Any) -> Paper:
        """Build from a mapping read off disk; raise ValueError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("a paper must be a mapping")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("paper `version` must be a positive integer")
        authors = data.get("authors", [])
        if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
            raise ValueError("paper `authors` must be a list of names")
        return cls(
            id=_text(data, "id", required=True),
            version=version,
            title=_text(data, "title", required=True),
            abstract=_text(data, "abstract"),
            authors=tuple(authors),
            published=_text(data, "published"),
        )


class Digest(NamedTuple):
    """What the model wrote about one paper in one language."""

    language: str
    model: str
    """The model that wrote it, or e.g. ``written-by-hand`` in a snapshot."""
    summary: str
    """One sentence in `language`."""
    title: str = ""
    """Translated title; empty when `language` is English."""
    abstract: str = ""
    """Translated abstract; empty when `language` is English."""
    checked: int = 0
    """The `checks.CHECKS_VERSION` that accepted it; 0 for text never checked (older caches, snapshots)."""
    reviewed: bool = False
    """A person read it against the paper (``reviewed: true`` in a snapshot entry)."""

    def to_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: Any) -> Digest:
        """Build from a mapping read off disk; raise ValueError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("a digest must be a mapping")
        return cls(
            language=_text(data, "language", required=True),
            model=_text(data, "model", required=True),
            summary=_text(data, "summary", required=True),
            title=_text(data, "title"),
            abstract=_text(data, "abstract"),
            checked=_version(data.get("checked", 0)),
            reviewed=_flag(data.get("reviewed", False)),
        )


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError("`reviewed` must be true or false")
    return value


def _version(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("`checked` must be a version number")
    return value


MAX_REASON = 2000  # of a `Rejection`
"""Characters of `reason` kept: a check's message quotes a few words of the reply, not more."""


class Rejection(NamedTuple):
    """The model's replies for one digest were rejected for their content: when, how often, why."""

    at: float
    """When the last reply was rejected (epoch seconds)."""
    in_a_row: int
    """Rejections in a row (``count`` on disk), by the same model, prompt and checks: the wait doubles with each."""
    reason: str
    """The build's warning of that rejection (what the checks said)."""
    checks: int
    """The `keys.CHECKS_VERSION` that rejected it: other checks ask again at once."""

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "count": self.in_a_row, "reason": self.reason, "checks": self.checks}

    @classmethod
    def from_json(cls, data: Any) -> Rejection:
        """Build from a mapping read off disk; raise ValueError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("a rejection must be a mapping")
        at = data.get("at")
        if not isinstance(at, (int, float)) or isinstance(at, bool) or not 0 <= at < float("inf"):
            raise ValueError("rejection `at` must be a time")
        count = data.get("count")
        if type(count) is not int or count < 1:
            raise ValueError("rejection `count` must be a positive integer")
        checks = data.get("checks")
        if type(checks) is not int or checks < 0:
            raise ValueError("rejection `checks` must be a version number")
        return cls(
            at=float(at), in_a_row=count, reason=_text(data, "reason", required=True)[:MAX_REASON], checks=checks
        )


class DigestRequest(NamedTuple):
    """One paper in one language by one model: the unit of generated text (a hot dict key)."""

    id: ArxivId
    language: str
    model: str


class Row(NamedTuple):
    """One paper as a directive asked for it, with whatever is known about it."""

    requested: ArxivId
    paper: Paper | None = None
    digest: Digest | None = None
    not_on_arxiv: bool = False
    """arXiv said it has no paper by this identifier: readers are told so, with no link."""


class Failure(NamedTuple):
    """Why a paper is incomplete in this build."""

    reason: str
    reported: bool = False
    """Already said once for the whole build (no API key, offline): pages don't repeat it."""
    kind: str = "unavailable"
    """What went wrong, for hosts that tell warnings apart (Sphinx's ``suppress_warnings``):
    one of `FAILURE_KINDS`."""
    not_on_arxiv: bool = False
    """arXiv has no paper by this identifier (or no such version): readers are told so, and
    the row links to no abstract page (there is none)."""


FAILURE_KINDS = {
    "unknown-id": "arXiv has no paper of that identifier",
    "offline": "not in the snapshot or the cache, and `offline` is on",
    "unavailable": "arXiv or the model could not be asked, or did not answer",
    "api-key": "no API key in the environment",
    "no-summary": "the model gave no valid digest (an error of the server or the network, a reply of no readable shape)",
    "rejected": "the model's replies were rejected by the checks; held back until the time the warning gives",
}
"""Each `Failure.kind`, and what it means."""


class ScannedPage(NamedTuple):
    """What one page asks for, as the scan before rendering found it."""

    page: str
    """The page's path in the site, as warnings name it (`notes/week.md`)."""
    markdown: str | None
    """The page's Markdown, or None when it is unchanged since the last scan."""
    requests: list[DigestRequest]


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be text")
    if required and not value:
        raise ValueError(f"`{key}` is missing")
    return value


@dataclass
class Usage:
    """Model requests and tokens, counted as replies arrive."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rejected_tokens: int = 0
    """Prompt and completion tokens of replies that were rejected (invalid, cut off, failing the checks)."""
