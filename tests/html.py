"""Read a built page the way a reader sees it: the digest table's rows and the footnotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else " " + c.text + " " for c in self.children).split())

    def iter(self, tag: str | None = None) -> list[Element]:
        found = [self] if tag in (None, self.tag) else []
        for child in self.children:
            if isinstance(child, Element):
                found += child.iter(tag)
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@dataclass
class Row:
    ref: str
    ref_href: str
    title: str
    title_href: str
    summary: str


@dataclass
class Digest:
    rows: list[Row]
    footnotes: dict[str, list[str]]
    """Footnote id (``fn:2403.16584``) → text of its paragraphs."""
    page: Element


def read_digest(html: str) -> Digest:
    page = parse(html)
    rows: list[Row] = []
    for table in page.iter("table"):
        for tr in table.iter("tr"):
            cells = tr.iter("td")
            if len(cells) != 3:
                continue
            ref_link = next(iter(cells[0].iter("a")), None)
            title_link = next(iter(cells[1].iter("a")), None)
            rows.append(
                Row(
                    ref=cells[0].text,
                    ref_href=(ref_link.attrs.get("href") or "") if ref_link else "",
                    title=cells[1].text,
                    title_href=(title_link.attrs.get("href") or "") if title_link else "",
                    summary=cells[2].text,
                )
            )
    footnotes: dict[str, list[str]] = {}
    for div in page.iter("div"):
        if "footnote" in (div.attrs.get("class") or "").split():
            for li in div.iter("li"):
                footnotes[li.attrs.get("id") or ""] = [p.text for p in li.iter("p")]
    return Digest(rows, footnotes, page)


def digest_tables(page: Element) -> list[Element]:
    """The page's digest tables (their rows open with footnote references), not a theme's own tables."""
    return [t for t in page.iter("table") if any(a.attrs.get("class") == "footnote-ref" for a in t.iter("a"))]
