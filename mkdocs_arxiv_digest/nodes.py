"""Records to docutils nodes: the summary table and one footnote of details per paper.

The docutils counterpart of `render` (which writes Markdown), for Sphinx: native nodes,
so the HTML, LaTeX and EPUB builders each write their own form. Everything from arXiv
or a model is untrusted and becomes `Text` nodes, which every writer escapes for its
format (HTML, LaTeX); nothing is ever a raw node. A ``$...$`` span becomes a `math` node
only when its TeX passes the allow-list of `tex` (and holds no TeX input trick, see
`_safe_math`); every other span stays text.

MathJax, which Sphinx's HTML builder loads for pages with math, typesets ``\\(...\\)``
wherever it finds it in a page's text, not only in math nodes: the digest is marked for
MathJax to skip, and only its math nodes to be typeset, so hostile text stays text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from docutils import nodes

from mkdocs_arxiv_digest.checks import is_translated_title
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Row
from mkdocs_arxiv_digest.render import unavailable
from mkdocs_arxiv_digest.tex import MATH_SPAN, safe_tex

HEADINGS = ("Ref", "Title", "Summary")
# MathJax 2/3 and MathJax 4 name the classes that stop and resume its search for math.
MATHJAX_IGNORE = ["tex2jax_ignore", "mathjax_ignore"]
MATHJAX_PROCESS = ["tex2jax_process", "mathjax_process"]


class LabelledRow(NamedTuple):
    """A row of a digest, with the footnote label of its paper in its language on this page."""

    row: Row
    label: str
    first: bool
    """True where the page has no footnote of that label yet: this row's block defines it."""


class FootnoteLabels:
    """The footnote label of each paper shown on one page, per language: one footnote each.

    The label is the paper's ID (as requested, e.g. ``2403.16584v2``), as on the MkDocs
    side; a paper the page also shows in a second language gets ``ID-language`` there.
    """

    def __init__(self) -> None:
        self._labels: dict[tuple[ArxivId, str], str] = {}

    def label(self, arxiv_id: ArxivId, language: str) -> tuple[str, bool]:
        """The label of ``arxiv_id`` in ``language``, and whether this is its first use on the page."""
        known = self._labels.get((arxiv_id, language))
        if known is not None:
            return known, False
        label = str(arxiv_id)
        if label in self._labels.values():
            label = f"{arxiv_id}-{language}"
        self._labels[(arxiv_id, language)] = label
        return label, True


def digest_nodes(rows: Sequence[LabelledRow], document: nodes.document, language: str = "en") -> list[nodes.Node]:
    """The table of ``rows``, then a footnote for each row whose label is new to the page.

    Footnotes and references are registered with ``document``, so docutils numbers and
    links them as it does an author's ``[#label]_``: references show a number, and link
    to the footnote's ``fn:<label>`` anchor.
    """
    if not rows:
        return []
    missing = unavailable(language)
    found: list[nodes.Node] = [_table(rows, document, missing)]
    found += [_footnote(row, label, document, missing) for row, label, first in rows if first]
    for node in found:
        # MyST moves footnotes to the end of the page: each node carries the marks itself.
        node["classes"] += ["arxiv-digest", *MATHJAX_IGNORE]
        # Titles and abstracts are shown as written: no curly quotes or dashes made of them.
        node["support_smartquotes"] = False
    return found


def inline_nodes(text: str) -> list[nodes.Node]:
    """Untrusted text as text nodes, with ``$...$`` spans that pass the allow-list as math nodes."""
    text = _clean(text)
    found: list[nodes.Node] = []
    cursor = 0
    for match in MATH_SPAN.finditer(text):
        tex = match.group(1)
        if safe_tex(tex) is None:
            continue  # the span stays in the text around it, dollars and all
        if match.start() > cursor:
            found.append(nodes.Text(text[cursor : match.start()]))
        found.append(nodes.math(tex, tex, classes=list(MATHJAX_PROCESS)))
        cursor = match.end()
    if cursor < len(text) or not found:
        found.append(nodes.Text(text[cursor:]))
    return found


def _clean(text: str) -> str:
    # One line: no newline, tab or control character reaches a writer. (Format characters
    # stay: Persian needs its zero-width non-joiner, right-to-left text its marks.)
    return " ".join("".join(char for char in text if unicodedata.category(char) != "Cc" or char.isspace()).split())


def _table(rows: Sequence[LabelledRow], document: nodes.document, missing: tuple[str, str]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(HEADINGS))
    table += group
    for width in (10, 40, 50):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _table_row([[nodes.Text(heading)] for heading in HEADINGS])
    body = nodes.tbody()
    for row, label, _first in rows:
        link = nodes.reference("", "", *_title(row), refuri=row.requested.url)
        body += _table_row([[_footnote_reference(label, document)], [link], _summary(row, missing)])
    group += head
    group += body
    return table


def _table_row(cells: list[list[nodes.Node]]) -> nodes.row:
    row = nodes.row()
    for content in cells:
        entry = nodes.entry()
        entry += nodes.paragraph("", "", *content)
        row += entry
    return row


def _title(row: Row) -> list[nodes.Node]:
    return inline_nodes(row.paper.title) if row.paper else [nodes.Text(str(row.requested))]


def _summary(row: Row, missing: tuple[str, str]) -> list[nodes.Node]:
    if row.paper is None:
        return [nodes.Text(missing[1])]
    if row.digest is None:
        return [nodes.Text(missing[0])]
    return inline_nodes(row.digest.summary)


def _footnote_reference(label: str, document: nodes.document) -> nodes.footnote_reference:
    name = nodes.fully_normalize_name(label)
    reference = nodes.footnote_reference(f"[#{label}]_", auto=1, refname=name)
    document.note_autofootnote_ref(reference)
    document.note_footnote_ref(reference)
    return reference


def _footnote(row: Row, label: str, document: nodes.document, missing: tuple[str, str]) -> nodes.footnote:
    """Translated title, original title, link, summary, translated abstract, original abstract."""
    footnote = nodes.footnote(auto=1, ids=[f"fn:{label}"], names=[nodes.fully_normalize_name(label)])
    document.note_autofootnote(footnote)
    document.note_explicit_target(footnote, footnote)
    url = row.requested.url
    link = [nodes.reference(url, url, refuri=url)]
    paper, digest = row.paper, row.digest
    paragraphs: list[list[nodes.Node]]
    if paper is None:
        paragraphs = [_title(row), link, _summary(row, missing)]
    else:
        # A "translation" that is the original (a name, say) is shown once.
        shown = digest is not None and is_translated_title(paper.title, digest.title)
        translated = [inline_nodes(digest.title)] if digest and shown else []
        paragraphs = [*translated, _title(row), link, _summary(row, missing)]
        abstracts = [digest.abstract] if digest and digest.abstract else []
        abstracts += [paper.abstract] if paper.abstract else []
        paragraphs += [inline_nodes(text) for text in abstracts]
    for content in paragraphs:
        footnote += nodes.paragraph("", "", *content)
    return footnote
