"""`nodes` at its boundary: a layout in, docutils nodes out (no Sphinx, no build).

Untrusted text becomes `Text` nodes, and a ``$...$`` span a `math` node only when `tex`
allows it; the table and footnotes are registered with the document as an author's
``[#label]_`` footnotes are. The real Sphinx builds (test_sphinx) stay the outer ring.
"""

from __future__ import annotations

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from mkdocs_arxiv_digest.fragments import MATHJAX_IGNORE, MATHJAX_PROCESS
from mkdocs_arxiv_digest.layout import ABSTRACT, LINK, SUMMARY, TITLE, DigestLayout, Entry, Part
from mkdocs_arxiv_digest.nodes import digest_nodes, inline_nodes


def shapes(found: list[nodes.Node]) -> list[tuple[str, str]]:
    """Each node as (its class's name, its text)."""
    return [(type(node).__name__, node.astext()) for node in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plain text", [("Text", "Plain text")]),
        ("", [("Text", "")]),
        # One line: newlines, tabs and runs of spaces become one space, control characters go.
        ("A\ntitle\t split  \r\n over lines", [("Text", "A title split over lines")]),
        ("Nul\x00 and\x1b[31m escape", [("Text", "Nul and[31m escape")]),
        # Format characters stay: Persian needs its zero-width non-joiner.
        ("می\u200cخواهم", [("Text", "می\u200cخواهم")]),
        ("Energy $E = mc^2$ here", [("Text", "Energy "), ("math", "E = mc^2"), ("Text", " here")]),
        ("$\\alpha$", [("math", "\\alpha")]),
        ("$a$ and $b$", [("math", "a"), ("Text", " and "), ("math", "b")]),
        # Refused by the allow-list: the span stays text, dollars and all.
        ("Read $\\input{/etc/passwd}$ now", [("Text", "Read $\\input{/etc/passwd}$ now")]),
        ("$\\href{javascript:alert(1)}{x}$", [("Text", "$\\href{javascript:alert(1)}{x}$")]),
        # Not a span, as arithmatex reads dollars: prices, an escaped dollar, a space inside.
        ("From $5 to $10", [("Text", "From $5 to $10")]),
        ("Costs \\$5$", [("Text", "Costs \\$5$")]),
        ("$ x $", [("Text", "$ x $")]),
        # Markup of any format is text for the writer to escape.
        ("<script>alert(1)</script> \\textbf{x} *y*", [("Text", "<script>alert(1)</script> \\textbf{x} *y*")]),
    ],
)
def test_inline_nodes(text: str, expected: list[tuple[str, str]]) -> None:
    found = inline_nodes(text)

    assert shapes(found) == expected
    for node in found:
        if isinstance(node, nodes.math):
            assert node["classes"] == list(MATHJAX_PROCESS)  # typeset inside the digest MathJax skips


def document() -> nodes.document:
    return new_document("<test>", get_default_settings(Parser))


URL = "https://arxiv.org/abs/2403.16584"
FIRST = Entry(
    label="2403.16584",
    title="Distilling $\\alpha$ <b>text</b>",
    url=URL,
    summary="We distill.",
    missing=False,
    footnote=(
        Part(TITLE, "Distilling $\\alpha$ <b>text</b>"),
        Part(LINK, URL),
        Part(SUMMARY, "We distill."),
        Part(ABSTRACT, "Line one.\nLine two."),
    ),
)
# Shown again in a later block of the page: a row, and no second footnote.
AGAIN = Entry("2403.16584", FIRST.title, URL, "We distill.", False, None)
# A paper arXiv does not have: no link, the ID as its title.
UNKNOWN = Entry("2403.99999", "2403.99999", None, "Details unavailable; see the paper on arXiv.", True, ())


def test_an_empty_layout_writes_nothing() -> None:
    assert digest_nodes(DigestLayout("en", ()), document()) == []


def test_the_table_has_the_headings_then_a_row_per_entry() -> None:
    doc = document()
    layout = DigestLayout("en", (FIRST, UNKNOWN), ("Ref", "Title", "Summary"))

    [table, first_note, unknown_note] = digest_nodes(layout, doc)

    assert isinstance(table, nodes.table)
    [head] = table.findall(nodes.thead)
    assert [entry.astext() for entry in head.findall(nodes.entry)] == ["Ref", "Title", "Summary"]
    [body] = table.findall(nodes.tbody)
    rows = [list(row.findall(nodes.entry)) for row in body.findall(nodes.row)]
    assert [[cell.astext() for cell in row[1:]] for row in rows] == [
        ["Distilling \\alpha <b>text</b>", "We distill."],
        ["2403.99999", "Details unavailable; see the paper on arXiv."],
    ]
    # The Ref: a footnote reference docutils numbers, registered with the document.
    references = [next(iter(row[0].findall(nodes.footnote_reference))) for row in rows]
    assert [(r["refname"], r["auto"]) for r in references] == [("2403.16584", 1), ("2403.99999", 1)]
    assert doc.autofootnote_refs == references
    # The title links to the abstract page, with its math as a math node; no link where arXiv has no paper.
    [link] = rows[0][1].findall(nodes.reference)
    assert link["refuri"] == URL
    assert [type(n).__name__ for n in link.children] == ["Text", "math", "Text"]
    assert list(rows[1][1].findall(nodes.reference)) == []
    assert isinstance(first_note, nodes.footnote) and isinstance(unknown_note, nodes.footnote)


def test_a_footnote_has_a_paragraph_per_part_in_order() -> None:
    doc = document()

    [_table, footnote] = digest_nodes(DigestLayout("en", (FIRST,)), doc)

    assert footnote["ids"] == ["fn:2403.16584"] and footnote["names"] == ["2403.16584"]
    assert doc.autofootnotes == [footnote]
    paragraphs = list(footnote.findall(nodes.paragraph))
    assert [p.astext() for p in paragraphs] == [
        "Distilling \\alpha <b>text</b>",
        URL,
        "We distill.",
        "Line one. Line two.",  # one line, as every text
    ]
    [link] = paragraphs[1].findall(nodes.reference)
    assert (link["refuri"], link.astext()) == (URL, URL)


def test_a_paper_shown_again_on_the_page_gets_a_row_but_no_second_footnote() -> None:
    found = digest_nodes(DigestLayout("en", (AGAIN,)), document())

    assert [type(node).__name__ for node in found] == ["table"]


def test_every_node_is_marked_for_mathjax_to_skip_and_smartquotes_to_leave() -> None:
    found = digest_nodes(DigestLayout("en", (FIRST, UNKNOWN)), document())

    for node in found:
        assert node["classes"] == ["arxiv-digest", *MATHJAX_IGNORE]
        assert node["support_smartquotes"] is False
    # Nothing untrusted is ever raw markup for a writer to pass through.
    assert not any(isinstance(n, nodes.raw) for node in found for n in node.findall())
