"""An arXiv feed read strictly before the `arxiv` package parses it (`scan_feed`).

The package's parser (lxml, entities unresolved, no network) recovers from broken XML
without a word: a cut feed loses entries or fields, and one with a DTD loses the text
after each entity reference. arXiv never sends a DTD, so a feed with one is refused, as
is a feed that is not well-formed. The package's date parsing raises on a `<published>`
that is not a date, failing the whole feed, and it drops an entry without one: such a
field is replaced here, and noted (`FeedScan.odd_dates`) so the paper is shown without
its date, with a warning. Each entry's `<id>` is noted too: an entry the package then
drops is not an unknown paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.parsers import expat

from mkdocs_arxiv_digest.errors import RefusedReplyError

MAX_FIELD_BYTES = 2**20
"""Cap on one text or attribute of a feed: arXiv's longest are abstracts of ~2,000
characters. (Past 10 MB, lxml would drop one without a word.)"""

_ATOM = "http://www.w3.org/2005/Atom "
_PLACEHOLDER_DATE = b"1970-01-01T00:00:00Z"
"""Put in place of a date the package cannot parse; the paper's `published` is then empty."""


@dataclass
class FeedScan:
    """A feed as expat read it: the entries it holds, and what the package may parse."""

    content: bytes
    """The feed, with dates the package cannot parse replaced by a placeholder."""
    entries: list[str] = field(default_factory=list)
    """The `<id>` of every entry, as sent."""
    odd_dates: dict[str, str] = field(default_factory=dict)
    """Entries (by `<id>`) whose `<published>` is missing or not a date: what it was."""


def check_feed(content: bytes) -> None:
    """Refuse a reply the `arxiv` package should not parse; raise `RefusedReplyError` saying why."""
    scan_feed(content)


def scan_feed(content: bytes) -> FeedScan:
    """Read a reply strictly before the `arxiv` package parses it; raise `RefusedReplyError` to refuse it.

    Expat reads it first, strictly and building nothing: a DTD (entity definitions,
    external references) is refused at its first byte, before any entity exists, and
    XML that is not well-formed is refused too. No text or attribute may be longer than
    `MAX_FIELD_BYTES`. Each entry's `<id>` is noted (an entry the package then drops
    is not an unknown paper), and a `<published>` or `<updated>` date the package would
    raise on (failing the whole feed) or drop the entry for is replaced.
    """
    # In well-formed XML `<` only opens markup: no text or attribute is longer than the
    # longest stretch without one.
    if max(map(len, content.split(b"<"))) > MAX_FIELD_BYTES:
        raise RefusedReplyError(f"the reply holds a text or attribute longer than {MAX_FIELD_BYTES} bytes; refused")
    reader = _FeedReader(content)
    try:
        reader.parser.Parse(content, True)
    except expat.ExpatError as error:
        # A cut reply is the usual cause: asking again may get it whole.
        raise RefusedReplyError(f"the reply is not well-formed XML ({error})", retry=True) from None
    return reader.scan()


class _FeedReader:
    """Expat handlers noting each entry's `<id>` and where its dates are."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.parser = parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        self.path: list[str] = []
        self.text: list[str] = []
        self.entry_id = ""
        self.dates: dict[str, tuple[int, int, str]] = {}
        """This entry's dates: element name → (start, end, text)."""
        self.starts: list[int] = []
        self.entries: list[str] = []
        self.odd_dates: dict[str, str] = {}
        self.edits: list[tuple[int, int, bytes]] = []

    @staticmethod
    def _refuse_dtd(*_args: Any) -> None:
        raise RefusedReplyError("the reply declares a DTD (<!DOCTYPE ...>), which arXiv never sends; refused")

    def _start(self, name: str, _attributes: Any) -> None:
        self.path.append(name)
        self.starts.append(self.parser.CurrentByteIndex)
        self.text = []
        if self.path[-2:] == [_ATOM + "feed", _ATOM + "entry"]:
            self.entry_id, self.dates = "", {}

    def _text(self, data: str) -> None:
        self.text.append(data)

    def _end(self, name: str) -> None:
        start, at = self.starts.pop(), self.parser.CurrentByteIndex
        in_entry = self.path[:-1][-2:] == [_ATOM + "feed", _ATOM + "entry"]
        self.path.pop()
        if in_entry and name == _ATOM + "id":
            self.entry_id = "".join(self.text)  # as the package keeps it (`Result.entry_id`)
        elif in_entry and name in (_ATOM + "published", _ATOM + "updated") and name not in self.dates:
            self.dates[name] = (start, self._element_end(start, at), "".join(self.text))
        elif name == _ATOM + "entry" and self.path == [_ATOM + "feed"]:
            self._entry_end(at)

    def _entry_end(self, at: int) -> None:
        self.entries.append(self.entry_id)
        for name in (_ATOM + "published", _ATOM + "updated"):
            tag = name.removeprefix(_ATOM).encode()
            placeholder = b"<" + tag + b">" + _PLACEHOLDER_DATE + b"</" + tag + b">"
            found = self.dates.get(name)
            if found is None:
                self.edits.append((at, at, placeholder))  # before `</entry>`
            elif not _is_date(found[2]):
                self.edits.append((found[0], found[1], placeholder))
            else:
                continue
            if name == _ATOM + "published":  # `<updated>` is not shown: replaced without a word
                self.odd_dates[self.entry_id] = found[2].strip() if found else ""

    def _element_end(self, start: int, at: int) -> int:
        """Where an element ends: ``at`` is its end tag's start, or (``<x/>``) already past it."""
        first = self.content.index(b">", start)
        if first + 1 == at and self.content[first - 1 : first] == b"/":
            return at
        return self.content.index(b">", at) + 1

    def scan(self) -> FeedScan:
        content = self.content
        for start, end, replacement in sorted(self.edits, reverse=True):
            content = content[:start] + replacement + content[end:]
        return FeedScan(content, self.entries, self.odd_dates)


def _is_date(text: str) -> bool:
    """Whether the `arxiv` package parses ``text`` as a date (the same steps as its `_parse_datetime`)."""
    try:
        datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def error_message(content: bytes) -> str | None:
    """The `<summary>` of the error entry arXiv sends with a 400 (``incorrect id format for abc``), if any.

    Read with expat, refusing a DTD as `arxiv_feed` does; cut to `MAX_ERROR_CHARACTERS`.
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    path: list[str] = []
    text: list[str] = []
    found: list[str] = []

    def refuse(*_args: Any) -> None:
        raise RefusedReplyError("the error reply declares a DTD")

    def start(name: str, _attributes: Any) -> None:
        path.append(name)
        text.clear()

    def end(name: str) -> None:
        if path[-2:] == [_ATOM + "entry", _ATOM + "summary"] and not found:
            found.append(" ".join("".join(text).split()))
        path.pop()

    parser.StartDoctypeDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(content, True)
    except (expat.ExpatError, RefusedReplyError):
        return None
    return found[0][:MAX_ERROR_CHARACTERS] if found and found[0] else None


MAX_ERROR_CHARACTERS = 300
"""arXiv's error messages are a line (``incorrect id format for abc``): more is not a message."""
