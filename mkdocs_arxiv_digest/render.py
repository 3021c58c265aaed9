"""A digest's layout as Markdown (the summary table and one footnote of details per paper), or as plain text.

Pure and thin: `layout` decides what is shown; this module writes it. Untrusted text is
written by the caller's ``text`` function: on a site, a token that `fragments` turns
into HTML after every extension has run (`Fragments.token`), so no extension reads it
as Markdown; for Markdown that leaves the site (`arxiv-digest render`), `portable_text`,
which leaves no character Markdown or HTML would act on. `text_digest` writes the same
parts as plain text, for a newsletter or an email.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mkdocs_arxiv_digest.layout import (
    ABSTRACT,
    LINK,
    NOTE,
    ORIGIN,
    TITLE,
    TRANSLATED_ABSTRACT,
    TRANSLATED_TITLE,
    DigestLayout,
    Part,
)
from mkdocs_arxiv_digest.tex import MATH_SPAN, safe_tex

REQUIRED_EXTENSIONS = ("tables", "footnotes")
"""The Python-Markdown extensions the digest's Markdown is written for."""

# Characters Markdown, its common extensions (attr_list, footnotes, abbr, tables,
# pymdownx) or HTML give meaning to, written as character references: rendered as
# themselves, acted on by nothing.
_ENTITIES = {char: f"&#{ord(char)};" for char in "\\`*_{}[]|#~^!$:=+"} | {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
# Inside math: a pipe would split a table cell, a backtick open a code span, and
# brackets/angle brackets are kept out of reach of HTML and links even if a reader
# of the Markdown does not treat the span as math. Each replacement is the same TeX.
_TEX = {"|": r"{\vert}", "`": "'", "<": r"{\lt}", ">": r"{\gt}", "&": r"{\&}", "[": r"{\lbrack}", "]": r"{\rbrack}"}
# The same characters escaped by a backslash (`\|` is a norm, `\&` an ampersand).
_TEX_ESCAPED = _TEX | {"|": r"{\Vert}"}
_TEX_TOKEN = re.compile(r"\\.|.", re.DOTALL)


_NOT_A_LIST = re.compile(r"\d+(?![.)](?:\s|$))")
"""A number that starts no ordered list (an ID, a year): written as it is."""


def markdown_digest(layout: DigestLayout, text: Callable[[str], str]) -> str:
    """The table of ``layout`` and the footnotes it defines, each untrusted text written by ``text``."""
    if not layout.entries:
        return ""
    written: dict[str, str] = {}

    def once(value: str) -> str:  # a title is in the row and the footnote: one fragment
        if value not in written:
            written[value] = text(value)
        return written[value]

    # A footnote's parts are marked so that a reader tells them apart at a glance, in
    # the seed's order. Typography, not labels: Markdown's own marks read the same in
    # every language and wherever the Markdown goes (a site, `arxiv-digest render` in a
    # newsletter), with nothing to translate. The first title (the translation, or the
    # title where there is none) heads the footnote: bold. An original title after its
    # translation is a work cited in its own language: italic, as titles are set. The
    # original abstract after its translation is quoted from the paper: a block quote,
    # which themes indent and tone down (Material's, MkDocs' own), so the eye goes from
    # the summary to the translated abstract and may skip the original. The plugin's
    # own words (a note where text is missing, who wrote the summary) are italic. The
    # summary and the translated abstract, what the reader came for, stay plain.
    def marked(part: Part, kinds: set[str]) -> str:
        if part.kind == LINK:
            return f"[{part.text}]({part.text})"
        if part.kind == TRANSLATED_TITLE or (part.kind == TITLE and TRANSLATED_TITLE not in kinds):
            return f"**{once(part.text)}**"
        if part.kind in (TITLE, NOTE, ORIGIN):
            return f"*{once(part.text)}*"
        if part.kind == ABSTRACT and TRANSLATED_ABSTRACT in kinds:
            return f"> {once(part.text)}"
        return once(part.text)

    table = ["| " + " | ".join(map(once, layout.headings)) + " |", "| --- | --- | --- |"]
    notes: list[str] = []
    for entry in layout.entries:
        title = f"[{once(entry.title)}]({entry.url})" if entry.url else once(entry.title)
        table.append(f"| [^{entry.label}] | {title} | {once(entry.summary)} |")
        if entry.footnote is not None:
            kinds = {part.kind for part in entry.footnote}
            first, *rest = [marked(part, kinds) for part in entry.footnote]
            notes.append(f"[^{entry.label}]: {first}\n" + "".join(f"\n    {paragraph}\n" for paragraph in rest))
    return "\n".join(table) + "\n" + "".join("\n" + note for note in notes)


_HEADING_KINDS = frozenset({TRANSLATED_TITLE, TITLE, LINK})
"""Footnote parts that head a paper's section in plain text, one a line; the rest are paragraphs."""
# What plain text drops: control characters (terminal escape sequences among them) and the
# bidirectional embeddings and isolates that make text read other than it is. Whitespace
# (tabs, line breaks) is collapsed instead; marks (U+200E/F) stay, right-to-left text uses them.
_UNPRINTABLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")


def text_digest(layout: DigestLayout) -> str:
    """``layout`` as plain text: a numbered section per paper, its footnote's parts in the layout's order.

    Nothing is escaped (no Markdown, no HTML: `Careless Whisper: ...` reads as written);
    each text is made one line with no control characters, so none breaks the layout
    or reaches a terminal as an escape sequence. Math stays TeX (``$O(n)$``).
    """
    sections: list[str] = []
    for number, entry in enumerate(layout.entries, start=1):
        if entry.footnote is not None:
            parts = [(part.kind, part.text) for part in entry.footnote]
        else:  # defined by an earlier block of a page: the table's row is all there is
            parts = [(TITLE, entry.title), *([(LINK, entry.url)] if entry.url else []), ("", entry.summary)]
        heading = [plain_line(text) for kind, text in parts if kind in _HEADING_KINDS]
        paragraphs = [plain_line(text) for kind, text in parts if kind not in _HEADING_KINDS]
        sections.append("\n\n".join([f"[{number}] " + "\n".join(heading), *paragraphs]))
    return "".join(section + "\n\n" for section in sections).removesuffix("\n")


def plain_line(text: str) -> str:
    """Untrusted text as one line of plain text: control characters out, whitespace collapsed."""
    return " ".join(_UNPRINTABLE.sub("", text).split())


def portable_text(text: str, *, math: bool = False) -> str:
    """Untrusted text as one inert line of Markdown (math kept as TeX if ``math``), for Markdown users paste elsewhere."""
    if not text.isprintable() or text[:1] == " " or text[-1:] == " ":
        # No newline, tab or leading space may reach the Markdown: they would make block
        # syntax (code, lists) in a footnote. Clean text, as the cache holds, is kept as is.
        text = " ".join(text.split())
    if not math:
        return _guard_line_start(_escape(text))
    parts: list[str] = []
    cursor = 0
    for match in MATH_SPAN.finditer(text):
        tex = safe_tex(_markdown_safe_tex(match.group(1)))
        # A span the allow-list refuses is text, escaped whole: its dollars too, so
        # arithmatex pairs the remaining ones exactly as `MATH_SPAN` did.
        parts.append(_escape(text[cursor : match.start()]))
        parts.append(_escape(match.group()) if tex is None else f"${tex}$")
        cursor = match.end()
    parts.append(_escape(text[cursor:]))
    line = "".join(parts)
    return _guard_line_start(line) if not line.startswith("$") else line


def _markdown_safe_tex(tex: str) -> str:
    return "".join(map(_tex_token, _TEX_TOKEN.findall(tex)))


def _tex_token(token: str) -> str:
    if len(token) == 2:  # a backslash and the character it escapes
        return _TEX_ESCAPED.get(token[1], token)
    return _TEX.get(token, token)


def _entity(match: re.Match[str]) -> str:
    return _ENTITIES[match.group()]


def _escape(text: str) -> str:
    return _SPECIAL.sub(_entity, text)


def _guard_line_start(line: str) -> str:
    # A leading `-`, `1.`, `>`... would start a list, quote or heading in a footnote
    # paragraph; a reference for the first character is inert. Block syntax is ASCII:
    # `《` or `「` opening a Chinese or Japanese title is left as written.
    if line and line[0].isascii() and not line[0].isalpha() and line[0] != "&" and not _NOT_A_LIST.match(line):
        return f"&#{ord(line[0])};{line[1:]}"
    return line
