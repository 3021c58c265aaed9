"""A digest's layout as docutils nodes: the summary table and one footnote of details per paper.

The docutils counterpart of `render` (which writes Markdown), for Sphinx: `layout`
decides what is shown, this module writes native nodes, so the HTML, LaTeX and EPUB
builders each write their own form. Everything from arXiv or a model is untrusted and
becomes `Text` nodes, which every writer escapes for its format (HTML, LaTeX); nothing
is ever a raw node. A ``$...$`` span becomes a `math` node only when its TeX passes the
allow-list of `tex`; every other span stays text.

MathJax, which Sphinx's HTML builder loads for pages with math, typesets ``\\(...\\)``
wherever it finds it in a page's text, not only in math nodes: the digest is marked for
MathJax to skip, and only its math nodes to be typeset, so hostile text stays text.
"""

from __future__ import annotations

import unicodedata

from docutils import nodes

from mkdocs_arxiv_digest.fragments import MATHJAX_IGNORE, MATHJAX_PROCESS
from mkdocs_arxiv_digest.layout import (
    ABSTRACT,
    LINK,
    NOTE,
    ORIGIN,
    TITLE,
    TRANSLATED_ABSTRACT,
    TRANSLATED_TITLE,
    DigestLayout,
    Entry,
    Part,
)
from mkdocs_arxiv_digest.tex import MATH_SPAN, safe_tex


def digest_nodes(layout: DigestLayout, document: nodes.document) -> list[nodes.Node]:
    """The table of ``layout``, then the footnotes it defines.

    Footnotes and references are registered with ``document``, so docutils numbers and
    links them as it does an author's ``[#label]_``: references show a number, and link
    to the footnote's ``fn:<label>`` anchor.
    """
    if not layout.entries:
        return []
    found: list[nodes.Node] = [_table(layout, document)]
    found += [_footnote(entry, entry.footnote, document) for entry in layout.entries if entry.footnote is not None]
    for node in found:
        # MyST moves footnotes to the end of the page: each node carries the marks itself.
        # The table's `arxiv-digest` is what the stylesheet (`assets/arxiv-digest.css`)
        # selects, beside the theme's own `docutils` class, which the HTML writer adds.
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


def _table(layout: DigestLayout, document: nodes.document) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(layout.headings))
    table += group
    for width in (10, 40, 50):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _table_row([[nodes.Text(heading)] for heading in layout.headings])
    body = nodes.tbody()
    for entry in layout.entries:
        title = inline_nodes(entry.title)
        if entry.url is not None:
            title = [nodes.reference("", "", *title, refuri=entry.url)]
        body += _table_row([[_footnote_reference(entry.label, document)], title, inline_nodes(entry.summary)])
    group += head
    group += body
    return table


def _table_row(cells: list[list[nodes.Node]]) -> nodes.row:
    row = nodes.row()
    for content in cells:
        cell = nodes.entry()
        cell += nodes.paragraph("", "", *content)
        row += cell
    return row


def _footnote_reference(label: str, document: nodes.document) -> nodes.footnote_reference:
    name = nodes.fully_normalize_name(label)
    reference = nodes.footnote_reference(f"[#{label}]_", auto=1, refname=name)
    document.note_autofootnote_ref(reference)
    document.note_footnote_ref(reference)
    return reference


def _footnote(entry: Entry, parts: tuple[Part, ...], document: nodes.document) -> nodes.footnote:
    """The footnote's parts in the layout's order, a paragraph each, marked as `render` marks them."""
    footnote = nodes.footnote(auto=1, ids=[f"fn:{entry.label}"], names=[nodes.fully_normalize_name(entry.label)])
    document.note_autofootnote(footnote)
    document.note_explicit_target(footnote, footnote)
    kinds = {part.kind for part in parts}
    for part in parts:
        footnote += _marked(part, kinds)
    return footnote


def _marked(part: Part, kinds: set[str]) -> nodes.Element:
    """One part as a paragraph: the same typography as the Markdown writer's (see `render.markdown_digest`).

    The heading title strong, an original title after its translation and the plugin's
    own words emphasis, the original abstract after its translation a block quote.
    """
    if part.kind == LINK:
        return nodes.paragraph("", "", nodes.reference(part.text, part.text, refuri=part.text))
    content = inline_nodes(part.text)
    if part.kind == TRANSLATED_TITLE or (part.kind == TITLE and TRANSLATED_TITLE not in kinds):
        return nodes.paragraph("", "", nodes.strong("", "", *content))
    if part.kind in (TITLE, NOTE, ORIGIN):
        return nodes.paragraph("", "", nodes.emphasis("", "", *content))
    if part.kind == ABSTRACT and TRANSLATED_ABSTRACT in kinds:
        return nodes.block_quote("", nodes.paragraph("", "", *content))
    return nodes.paragraph("", "", *content)
