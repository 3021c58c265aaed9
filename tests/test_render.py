"""Writing a digest's layout: Markdown with tokens, the HTML that replaces them, and portable Markdown.

On a site, untrusted text never reaches the Markdown: `render.markdown_digest` writes a
token for it, and `postprocess.FragmentsExtension` puts its HTML in after every other
extension. These tests convert the digest with Python-Markdown and the extensions sites
combine (every pymdown extension, attr_list, md_in_html, abbr, def_list, toc) and assert
on the HTML. `portable_text` is what `arxiv-digest render` writes for Markdown pasted
elsewhere.
"""

from __future__ import annotations

import pkgutil
import random
import re
from pathlib import Path
from typing import Any

import markdown
import pymdownx
import pymdownx.blocks
import pytest

from mkdocs_arxiv_digest.fragments import Fragments
from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.layout import DigestLayout, FootnoteLabels, lay_out, unavailable
from mkdocs_arxiv_digest.models import Digest, Paper, Row
from mkdocs_arxiv_digest.postprocess import FragmentsExtension
from mkdocs_arxiv_digest.render import markdown_digest, portable_text
from mkdocs_arxiv_digest.tex import MATH_SPAN, safe_tex
from tests.html import Element, parse, read_digest

GOLDEN = Path(__file__).parent / "golden"

BASE = ["tables", "footnotes", "attr_list", "md_in_html", "abbr", "def_list", "toc"]
# Every extension pymdown-extensions ships (its private `_bypassnorm` aside), enabled together.
PYMDOWNX = sorted(
    f"{package.__name__}.{module.name}"
    for package in (pymdownx, pymdownx.blocks)
    for module in pkgutil.iter_modules(package.__path__)
    if not module.name.startswith("_")
    and module.name not in ("util", "block", "blocks")
    and hasattr(__import__(f"{package.__name__}.{module.name}", fromlist=["x"]), "makeExtension")
)
EVERYTHING = BASE + PYMDOWNX
# `generic` is the arithmatex mode Material for MkDocs documents; `view` shows critic marks.
CONFIGS: dict[str, dict[str, Any]] = {"pymdownx.arithmatex": {"generic": True}, "pymdownx.critic": {"mode": "view"}}
PLAIN = ["tables", "footnotes"]


def site_html(
    rows: list[Row],
    *,
    extensions: list[str] = EVERYTHING,
    configs: dict[str, dict[str, Any]] = CONFIGS,
    language: str = "en",
    around: str = "",
) -> str:
    """``rows`` as a page of a site shows them: tokens in the Markdown, their HTML after conversion."""
    fragments = Fragments()
    text = around + markdown_digest(lay_out(rows, language), fragments.token)
    md = markdown.Markdown(extensions=[*extensions, FragmentsExtension(fragments)], extension_configs=configs)
    return md.convert(text)


def portable(rows: list[Row], *, math: bool = False, language: str = "en", labels: FootnoteLabels | None = None) -> str:
    return markdown_digest(lay_out(rows, language, labels), lambda text: portable_text(text, math=math))


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=[*PLAIN, "pymdownx.arithmatex"], extension_configs=CONFIGS)


def basic_rows() -> list[Row]:
    """One translated paper, one with no digest yet, one arXiv did not return."""
    distill = Paper(
        id="2403.16584",
        version=1,
        title="Can Large Language Models (or Humans) Distill Text?",
        abstract="We investigate the potential of large language models (LLMs) to distill text.",
    )
    distill_zh = Digest(
        language="zh",
        model="gpt-4.1-mini",
        summary="大型语言模型在文本提炼中具有独特优势，但在处理情感时仍有局限。",
        title="大型语言模型（或人类）能否提炼文本？",
        abstract="我们研究了大型语言模型（LLMs）提炼文本的潜力。",
    )
    old_style = Paper(
        id="hep-th/9901001",
        version=2,
        title="Notes on an old-style identifier",
        abstract="An abstract from before 2007, when identifiers named their archive.",
    )
    return [
        Row(parse_id("2403.16584"), distill, distill_zh),
        Row(parse_id("hep-th/9901001"), old_style, None),
        Row(parse_id("2402.19379v2")),
    ]


def test_golden_basic() -> None:
    assert portable(basic_rows()) == (GOLDEN / "render_basic.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("extensions", [PLAIN, EVERYTHING], ids=["plain", "everything"])
def test_golden_basic_as_a_reader_sees_it(extensions: list[str]) -> None:
    digest = read_digest(site_html(basic_rows(), extensions=extensions))
    assert [(row.ref, row.ref_href, row.title, row.title_href, row.summary) for row in digest.rows] == [
        (
            "1",
            "#fn:2403.16584",
            "Can Large Language Models (or Humans) Distill Text?",
            "https://arxiv.org/abs/2403.16584",
            "大型语言模型在文本提炼中具有独特优势，但在处理情感时仍有局限。",
        ),
        (
            "2",
            "#fn:hep-th/9901001",
            "Notes on an old-style identifier",
            "https://arxiv.org/abs/hep-th/9901001",
            "No summary yet.",
        ),
        (
            "3",
            "#fn:2402.19379v2",
            "2402.19379v2",
            "https://arxiv.org/abs/2402.19379v2",
            "Details unavailable; see the paper on arXiv.",
        ),
    ]
    # (After the original abstract's block quote, the back link is a paragraph of its own.)
    footnotes = {
        label: [p.removesuffix(" ↩") for p in paragraphs if p != "↩"] for label, paragraphs in digest.footnotes.items()
    }
    assert footnotes == {
        "fn:2403.16584": [
            "大型语言模型（或人类）能否提炼文本？",
            "Can Large Language Models (or Humans) Distill Text?",
            "https://arxiv.org/abs/2403.16584",
            "大型语言模型在文本提炼中具有独特优势，但在处理情感时仍有局限。",
            "我们研究了大型语言模型（LLMs）提炼文本的潜力。",
            "We investigate the potential of large language models (LLMs) to distill text.",
        ],
        "fn:hep-th/9901001": [
            "Notes on an old-style identifier",
            "https://arxiv.org/abs/hep-th/9901001",
            "No summary yet.",
            "An abstract from before 2007, when identifiers named their archive.",
        ],
        "fn:2402.19379v2": [
            "2402.19379v2",
            "https://arxiv.org/abs/2402.19379v2",
            "Details unavailable; see the paper on arXiv.",
        ],
    }


def test_english_site_has_no_translation_lines() -> None:
    paper = Paper(
        id="2403.11894", version=1, title="From explainable to interpretable", abstract="Deep learning in NLP."
    )
    digest = Digest(language="en", model="gpt-4.1-mini", summary="A review of interpretable NLP in healthcare.")
    assert portable([Row(parse_id("arXiv:2403.11894"), paper, digest)]) == (
        "| Ref | Title | Summary |\n"
        "| --- | --- | --- |\n"
        "| [^2403.11894] | [From explainable to interpretable](https://arxiv.org/abs/2403.11894)"
        " | A review of interpretable NLP in healthcare. |\n"
        "\n"
        "[^2403.11894]: **From explainable to interpretable**\n"
        "\n"
        "    [https://arxiv.org/abs/2403.11894](https://arxiv.org/abs/2403.11894)\n"
        "\n"
        "    A review of interpretable NLP in healthcare.\n"
        "\n"
        "    Deep learning in NLP.\n"
    )


def test_no_rows_render_nothing() -> None:
    assert portable([]) == ""


def test_second_block_on_a_page_does_not_repeat_a_footnote() -> None:
    labels = FootnoteLabels()
    first = portable(basic_rows(), labels=labels)
    second = portable(basic_rows()[:1], labels=labels)
    assert second == (
        "| Ref | Title | Summary |\n"
        "| --- | --- | --- |\n"
        "| [^2403.16584] | [Can Large Language Models (or Humans) Distill Text?](https://arxiv.org/abs/2403.16584)"
        " | 大型语言模型在文本提炼中具有独特优势，但在处理情感时仍有局限。 |\n"
    )
    html = to_html(first + "\nBetween the blocks.\n\n" + second)
    assert [li.attrs["id"] for li in parse(html).iter("li")] == [
        "fn:2403.16584",
        "fn:hep-th/9901001",
        "fn:2402.19379v2",
    ]
    assert html.count('href="#fn:2403.16584"') == 2


def test_one_block_listing_a_paper_twice_gets_one_footnote() -> None:
    rows = basic_rows()
    text = portable([rows[0], rows[1], rows[0]])
    assert text.count("| [^2403.16584] |") == 2
    assert text.count("[^2403.16584]:") == 1


def test_deterministic() -> None:
    first = portable(basic_rows(), math=True)
    again = portable(basic_rows(), math=True)
    assert first.encode() == again.encode()
    assert site_html(basic_rows()).encode() == site_html(basic_rows()).encode()


def test_rows_keep_the_order_asked_for() -> None:
    text = portable(list(reversed(basic_rows())))
    assert text.index("[^2402.19379v2]:") < text.index("[^hep-th/9901001]:") < text.index("[^2403.16584]:")


ESCAPES = [
    ("A | B", "A &#124; B"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<img src=x onerror=alert(1)>", "&lt;img src&#61;x onerror&#61;alert(1)&gt;"),
    ("[link](javascript:alert(1))", "&#91;link&#93;(javascript&#58;alert(1))"),
    ("[^2403.16584]: fake", "&#91;&#94;2403.16584&#93;&#58; fake"),
    ("{: onclick=alert(1)}", "&#123;&#58; onclick&#61;alert(1)&#125;"),
    ("# Not a heading", "&#35; Not a heading"),
    ("- not a list", "&#45; not a list"),
    ("1. not a list", "&#49;. not a list"),
    ("> not a quote", "&gt; not a quote"),
    ("*emph*", "&#42;emph&#42;"),
    ("_x_", "&#95;x&#95;"),
    ("`code` and ```fence```", "&#96;code&#96; and &#96;&#96;&#96;fence&#96;&#96;&#96;"),
    ("&amp; stays literal", "&amp;amp; stays literal"),
    ("line one\n    line two\n\n\tthree  ", "line one line two three"),
    ("    indented code", "indented code"),
    ("$x_1 < y$", "&#36;x&#95;1 &lt; y&#36;"),
    ("Résumé 大型语言模型", "Résumé 大型语言模型"),
]


@pytest.mark.parametrize(("text", "expected"), ESCAPES)
def test_portable_text_escapes(text: str, expected: str) -> None:
    assert portable_text(text) == expected


@pytest.mark.parametrize(("text", "_expected"), ESCAPES)
def test_portable_text_renders_as_the_text_itself(text: str, _expected: str) -> None:
    # One paragraph holding exactly the original characters: no element, no attribute.
    html = to_html(portable_text(text))
    document = parse(html)
    (paragraph,) = document.children
    assert isinstance(paragraph, Element)
    assert paragraph.tag == "p"
    assert all(isinstance(child, str) for child in paragraph.children)
    assert paragraph.text == " ".join(text.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$x_1 < y$", r"$x_1 {\lt} y$"),
        ("$a|b$", r"$a{\vert}b$"),
        ("$[x]$ and $a`b$", r"${\lbrack}x{\rbrack}$ and $a'b$"),
        ("$a > b$ & c", r"$a {\gt} b$ &amp; c"),
        ("Bound $O(n^2)$ for [^x] <b>", r"Bound $O(n^2)$ for &#91;&#94;x&#93; &lt;b&gt;"),
        ("price $5 and $6", "price &#36;5 and &#36;6"),
        ("# $x$", "&#35; $x$"),
    ],
)
def test_portable_text_keeps_math(text: str, expected: str) -> None:
    assert portable_text(text, math=True) == expected
    assert "|" not in expected
    assert unescaped_braces_balance(expected)


def test_math_off_escapes_dollars() -> None:
    assert portable_text("$a|b$", math=False) == "&#36;a&#124;b&#36;"
    assert "$" not in portable_text("$x_1 < y$ and $z$")


def unescaped_braces_balance(tex: str) -> bool:
    depth = 0
    for brace in re.sub(r"\\.", "", tex):
        depth += {"{": 1, "}": -1}.get(brace, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("text", [r"$\|x\|_2 \le 1$", r"$a \& b$"])
def test_escaped_tex_characters_stay_valid_tex(text: str) -> None:
    kept = portable_text(text, math=True)
    assert "|" not in kept
    assert unescaped_braces_balance(kept)


# Every element a digest is made of; anything else came from the untrusted text.
DIGEST_TAGS = {
    "document",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "sup",
    "div",
    "hr",
    "ol",
    "li",
    "p",
    "span",
}
# Every attribute a digest's elements may carry, and the values it may take.
DIGEST_ATTRIBUTES = {
    ("a", "class"): re.compile("footnote-ref|footnote-backref"),
    ("a", "href"): re.compile(r"https://arxiv\.org/abs/[\w./-]+|#fn:[\w./-]+|#fnref\d*:[\w./-]+"),
    ("a", "title"): re.compile(r"Jump back to footnote \d+ in the text"),
    ("div", "class"): re.compile("footnote"),
    ("li", "id"): re.compile(r"fn:[\w./-]+"),
    ("sup", "id"): re.compile(r"fnref\d*:[\w./-]+"),
    ("span", "class"): re.compile("tex2jax_ignore mathjax_ignore|arithmatex tex2jax_process mathjax_process"),
}


def footnote_marks(page: Element) -> set[int]:
    """The marks the writer sets a footnote's parts in (issue 19, item 10), by `id`.

    A bold or italic part is the whole of its paragraph (but the back link); the
    original abstract is a block quote of the footnote. Emphasis anywhere else — inside
    a part's text, in the table — would have come from untrusted text.
    """
    marks: set[int] = set()
    for item in page.iter("li"):
        for child in item.children:
            if not isinstance(child, Element):
                continue
            if child.tag == "blockquote":
                marks.add(id(child))
            elif child.tag == "p":
                inner = [
                    c for c in child.children if isinstance(c, Element) and c.attrs.get("class") != "footnote-backref"
                ]
                outside = "".join(c for c in child.children if isinstance(c, str)).strip()
                if len(inner) == 1 and inner[0].tag in ("strong", "em") and not outside:
                    marks.add(id(inner[0]))
    return marks


def assert_inert(html: str, math: bool = True) -> None:
    """Only the digest's own elements and attributes; math only as allowed TeX, text only."""
    page = parse(html)
    marks = footnote_marks(page)
    for element in page.iter():
        assert element.tag in DIGEST_TAGS or id(element) in marks, (element.tag, html)
        for name, value in element.attrs.items():
            allowed = DIGEST_ATTRIBUTES.get((element.tag, name))
            assert allowed and allowed.fullmatch(value or ""), (element.tag, name, value, html)
    for span in page.iter("span"):
        if "arithmatex" not in span.attrs.get("class", ""):
            continue
        assert math, html
        (tex,) = span.children  # what MathJax is handed: `\(...\)`, text only
        assert isinstance(tex, str), html
        assert tex.startswith("\\(") and tex.endswith("\\)") and safe_tex(tex[2:-2]) is not None, html


def hostile_rows() -> list[Row]:
    paper = Paper(
        id="2403.16584",
        version=1,
        title="A | B <script>alert(1)</script> $x_1 < y$",
        abstract="[link](javascript:alert(1)) <img src=x onerror=alert(1)> {: onclick=alert(1)} $a|b$",
    )
    digest = Digest(
        language="ja",
        model="gpt-4.1-mini",
        summary='# heading? [^2403.16584]: fake <a href="javascript:alert(1)">x</a> $a|b$',
        title="- list? <div markdown>*md in html*</div>",
        abstract="> quote? {: onclick=alert(1) } <svg onload=alert(1)>",
    )
    return [Row(parse_id("2403.16584"), paper, digest), Row(parse_id("2402.19379"))]


# Issue 16, finding 2: `pymdownx.critic` rewrote `{++y++}` inside an allowed math span;
# arithmatex refused the span and its raw text became Markdown, attribute list included.
CRITIC = r"$x{++y++}z$*z*{: tabindex=0 autofocus onfocus=alert(1) style=position:fixed}$w$"
TEMPLATE = "{{ config.extra.secret }} {% for x in range(3) %}x{% endfor %} {# c #}"
MAGICLINK = "See www.evil.example and https://evil.example/x and @someone and #12 :smile: ++ctrl+alt++"


def attack_rows(text: str) -> list[Row]:
    paper = Paper(id="2403.16584", version=1, title=text, abstract=text)
    digest = Digest(language="ja", model="m", summary=text, title=f"訳 {text}", abstract=f"訳 {text}")
    return [Row(parse_id("2403.16584"), paper, digest)]


@pytest.mark.parametrize("text", [CRITIC, TEMPLATE, MAGICLINK], ids=["critic", "template", "magiclink"])
def test_no_extension_reinterprets_untrusted_text(text: str) -> None:
    html = site_html(attack_rows(text))
    assert_inert(html)
    assert "{{" not in html and "{%" not in html and "{#" not in html  # no template engine reading the page sees code
    digest = read_digest(html)
    (footnote,) = digest.footnotes.values()
    assert squeeze(footnote[1]) == squeeze(as_read(text))


def squeeze(text: str) -> str:
    # The page's text, as `read_digest` joins it, has a space at each element's edge.
    return "".join(text.split())


def as_read(text: str) -> str:
    """``text`` as a reader of the page's text sees it: allowed math spans handed to MathJax as `\\(...\\)`."""
    return MATH_SPAN.sub(lambda m: f"\\({m.group(1)}\\)" if safe_tex(m.group(1)) else m.group(), text)


@pytest.mark.parametrize("extensions", [PLAIN, EVERYTHING], ids=["plain", "everything"])
def test_hostile_text_renders_inert(extensions: list[str]) -> None:
    html = site_html(hostile_rows(), extensions=extensions)
    page = parse(html)
    assert "<script" not in html
    assert_inert(html, math="pymdownx.arithmatex" in extensions)
    assert [div.attrs.get("class") for div in page.iter("div")] == ["footnote"]
    # Three cells per row: the `|` in the title stayed in its cell.
    (table,) = page.iter("table")
    assert [len(tr.iter("th") + tr.iter("td")) for tr in table.iter("tr")] == [3, 3, 3]
    title_cell = table.iter("tr")[1].iter("td")[1]
    assert title_cell.text.startswith("A | B <script>alert(1)</script> ")
    # The reader sees the untrusted text, as text.
    (paragraphs, _) = read_digest(html).footnotes.values()
    note = [paragraph for paragraph in paragraphs if paragraph != "↩"]  # the back link after a block quote
    assert note[0] == "- list? <div markdown>*md in html*</div>"
    assert note[-2] == "> quote? {: onclick=alert(1) } <svg onload=alert(1)>"
    assert note[-1].startswith("[link](javascript:alert(1)) <img src=x onerror=alert(1)> {: onclick=alert(1)} ")


def arithmatex_spans(html: str) -> list[str]:
    return [span.text for span in parse(html).iter("span") if "arithmatex" in span.attrs.get("class", "")]


def test_math_is_written_as_arithmatex_writes_it() -> None:
    spans = arithmatex_spans(site_html(hostile_rows()))
    # Title in the table and in the footnote; `$a|b$` in summary (table and footnote) and abstract.
    assert spans == [r"\(x_1 < y\)", r"\(a|b\)", r"\(x_1 < y\)", r"\(a|b\)", r"\(a|b\)"]
    # The same TeX through arithmatex itself gives the same text to MathJax.
    (own,) = arithmatex_spans(
        markdown.markdown("$x_1 < y$", extensions=["pymdownx.arithmatex"], extension_configs=CONFIGS)
    )
    assert own == spans[0]


def test_math_follows_arithmatex_configured_delimiters_and_mode() -> None:
    # Issue 16, finding 3: with `inline_syntax: [round]` dollars are plain Markdown to
    # arithmatex; the digest's math is not Markdown at all, so the setting changes nothing.
    rounded = {"pymdownx.arithmatex": {"generic": True, "inline_syntax": ["round"], "tex_inline_wrap": ["\\(", "\\)"]}}
    text = r"$x$*y*{: onclick=alert(1)}$z$ <em onclick=alert(1)>e</em>"
    html = site_html(attack_rows(text), configs=rounded)
    assert_inert(html)
    assert arithmatex_spans(html)[:2] == [r"\(x\)", r"\(z\)"]
    # Other delimiters MathJax is configured for are used as configured.
    dollars = {"pymdownx.arithmatex": {"generic": True, "tex_inline_wrap": ["$", "$"]}}
    assert arithmatex_spans(site_html(attack_rows("$x$"), configs=dollars))[0] == "$x$"
    # MathJax 2's mode (arithmatex's default): a script, its TeX escaped as arithmatex escapes it.
    html = site_html(attack_rows("$a < b$"), configs={})
    assert '<script type="math/tex">a &lt; b</script>' in html
    assert "</script><" not in html.replace("</script></span>", "")


def test_without_arithmatex_dollars_are_text() -> None:
    html = site_html(hostile_rows(), extensions=PLAIN)
    assert not arithmatex_spans(html)
    title_cell = parse(html).iter("table")[0].iter("tr")[1].iter("td")[1]
    assert title_cell.text == "A | B <script>alert(1)</script> $x_1 < y$"


def test_text_mathjax_would_read_page_wide_is_marked_for_it_to_skip() -> None:
    # Issue 16, finding 5: MathJax's default config typesets `\(...\)` in any text.
    html = site_html(attack_rows(r"Hostile \(\href{javascript:alert(1)}{x}\) text"), extensions=PLAIN)
    cells = parse(html).iter("td")
    (ignored,) = cells[1].iter("span")
    assert ignored.attrs["class"] == "tex2jax_ignore mathjax_ignore"
    assert "\\(" in ignored.text
    # Text with neither a backslash nor a dollar needs no mark (smaller pages).
    assert "<span" not in site_html(attack_rows("Plain words"), extensions=PLAIN)


def test_a_token_is_resolved_only_by_its_own_fragments() -> None:
    # Text that looks like a token, in the author's Markdown or another plugin's, stays as it is.
    fragments = Fragments()
    fragments.token("real")
    html = markdown.markdown("arxivdigest0x arxivdigest7x", extensions=[FragmentsExtension(fragments)])
    assert html == "<p>real arxivdigest7x</p>"


HOSTILE_TEX = [
    r"$\href{javascript:alert(document.domain)}{\text{[PDF]}}$",
    r"$\style{position:fixed;width:100vw;height:100vh}{\href{https://evil.example}{x}}$",
    r"$\class{md-header}{x}$",
    r"$\cssId{x}{y}$",
    r"$\data{x=1}{y}$",
    r"$\unicode{x41}$",
    r"$\require{html}$",
    r"$\def\sqrt#1{#1}$",
    r"$\begin{array}{c}x\end{array}$",
    r"$\rule{100vw}{100vh}$",
    r"$" + "{" * 20 + "x" + "}" * 20 + "$",
]


@pytest.mark.parametrize("span", HOSTILE_TEX)
def test_math_outside_the_allow_list_is_text(span: str) -> None:
    html = site_html(attack_rows(f"Hostile {span} next to $O(n)$."))
    assert_inert(html)
    assert arithmatex_spans(html)[0] == r"\(O(n)\)"
    (footnote,) = read_digest(html).footnotes.values()
    assert squeeze(footnote[1]) == squeeze(f"Hostile {span} next to \\(O(n)\\).")


@pytest.mark.parametrize("span", HOSTILE_TEX)
def test_portable_math_outside_the_allow_list_is_text(span: str) -> None:
    text = f"Hostile {span} next to $O(n)$."
    # The span is escaped as it would be with math off; the math beside it is kept.
    assert portable_text(text, math=True) == f"Hostile {portable_text(span)} next to $O(n)$."


def test_a_refused_span_leaves_the_other_dollars_paired_as_arithmatex_pairs_them() -> None:
    text = r"$\url{a}$b$c$ and $\mathrm{ok}$"
    assert portable_text(text, math=True) == r"&#36;&#92;url&#123;a&#125;&#36;b$c$ and $\mathrm{ok}$"
    page = parse(to_html(portable_text(text, math=True)))
    assert [span.text for span in page.iter("span")] == [r"\(c\)", r"\(\mathrm{ok}\)"]
    assert arithmatex_spans(site_html(attack_rows(text)))[:2] == [r"\(c\)", r"\(\mathrm{ok}\)"]


# Seeded fuzz: many strings rich in what Markdown, its extensions, templates and TeX act on,
# through every extension at once.
FUZZ_PIECES = [
    *"$$$\\\\{}{}[]()|*_^~#%&<>:=+!`'\"-. ax1é大",
    *["  ", "\n", "\r", "\t", "\x02", "\\$", "$$", "\\\\", "\\(", "\\)", "\\[", "javascript:", "http://x.y", "www.x.y"],
    *[r"\href", r"\frac", r"\text", r"\style", r"\begin{pmatrix}", r"\end{pmatrix}", r"\vert", r"\&", "{\\lt}"],
    *["{: onclick=alert(1)}", "*here*", "*x*{: onclick=alert(1)}", "[^2403.16584]", "](javascript:alert(1))", "<b>"],
    *["&lt;", "&#36;", "&amp;", "==m==", "~~s~~", "^^c^^", "++i++", "<!--", "-->", "&#", "&#60;", ";", "arxivdigest0x"],
    *["{++", "++}", "{--", "--}", "{~~", "~>", "{==", "==}", "{>>", "<<}", "{{", "}}", "{%", "%}", ":smile:", "///"],
]


def fuzz_text(rng: random.Random) -> str:
    """A few runs of pieces, about half of them in dollars (so that much of it is kept as math)."""
    runs = ("".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 4)))
    return "".join(f"${run}$" if rng.random() < 0.5 else run for run in runs)


def test_fuzz_every_extension_leaves_untrusted_text_inert() -> None:
    rng = random.Random(16)
    fragments = Fragments()
    md = markdown.Markdown(extensions=[*EVERYTHING, FragmentsExtension(fragments)], extension_configs=CONFIGS)
    for _ in range(300):
        fragments.clear()
        md.reset()
        rows = attack_rows(fuzz_text(rng))
        assert_inert(md.convert(markdown_digest(lay_out(rows, "ja"), fragments.token)))


def test_stored_layouts_round_trip_and_refuse_what_writers_would_trust() -> None:
    layout = lay_out(hostile_rows(), "ja")
    assert DigestLayout.from_json(layout.to_json()) == layout
    good = layout.to_json()
    for path, value in [
        (("entries", 0, 0), "x] | [evil](javascript:alert(1)"),  # a label is written into the Markdown
        (("entries", 0, 2), "https://evil.example/"),
        (("entries", 0, 5, 1, 0), "script"),
        (("entries", 0, 5, 2, 1), "javascript:alert(1)"),  # the link part is a URL in the Markdown
        (("entries", 0, 4), "yes"),
        (("headings",), ["Ref"]),
    ]:
        tampered: Any = layout.to_json()
        target = tampered
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(ValueError):
            DigestLayout.from_json(tampered)
    # Text may be anything: it is made inert when written out.
    good["entries"][0][1] = "\r# heading\r<details open>x"
    assert_inert(site_html_of(DigestLayout.from_json(good)))


def site_html_of(layout: DigestLayout) -> str:
    fragments = Fragments()
    md = markdown.Markdown(extensions=[*EVERYTHING, FragmentsExtension(fragments)], extension_configs=CONFIGS)
    return md.convert(markdown_digest(layout, fragments.token))


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("en", "No summary yet."),
        ("zh", "暂无摘要。"),
        ("zh-CN", "暂无摘要。"),
        ("zh-Hant", "暫無摘要。"),
        ("zh_TW", "暫無摘要。"),
        ("ja", "要約はまだありません。"),
        ("ko", "아직 요약이 없습니다."),
        ("de-AT", "Noch keine Zusammenfassung."),
        ("fr", "Pas encore de résumé."),
        ("es", "Aún no hay resumen."),
        ("pt-BR", "No summary yet."),  # English where no text is written
    ],
)
def test_readers_see_missing_text_explained_in_the_pages_language(language: str, summary: str) -> None:
    rows = [Row(ArxivId("2403.16584"), Paper("2403.16584", 1, "Title", "Abstract."), None), Row(ArxivId("2403.11894"))]

    digest = read_digest(site_html(rows, language=language))

    assert [row.summary for row in digest.rows] == [summary, unavailable(language)[1]]
    assert "build log" not in str(digest)
