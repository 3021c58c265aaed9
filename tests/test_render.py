"""`render_digest` and `inline_text`: records in, Markdown out, and that Markdown through Python-Markdown."""

from __future__ import annotations

import random
import re
from pathlib import Path

import markdown
import pytest

from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.models import Digest, Paper, Row
from mkdocs_arxiv_digest.render import inline_text, is_digest_markdown, render_digest, unavailable
from mkdocs_arxiv_digest.tex import safe_tex
from tests.html import Element, parse, read_digest

GOLDEN = Path(__file__).parent / "golden"

EXTENSIONS = ["tables", "footnotes", "attr_list", "md_in_html", "pymdownx.arithmatex"]
# `generic` is the arithmatex mode Material for MkDocs documents. (The default mode
# writes MathJax `<script type="math/tex">` tags, which would hide a script we let through.)
EXTENSION_CONFIGS = {"pymdownx.arithmatex": {"generic": True}}


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)


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
    assert render_digest(basic_rows()) == (GOLDEN / "render_basic.md").read_text(encoding="utf-8")


def test_golden_basic_as_a_reader_sees_it() -> None:
    digest = read_digest(to_html(render_digest(basic_rows())))
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
    footnotes = {label: [p.removesuffix(" ↩") for p in paragraphs] for label, paragraphs in digest.footnotes.items()}
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
    assert render_digest([Row(parse_id("arXiv:2403.11894"), paper, digest)]) == (
        "| Ref | Title | Summary |\n"
        "| --- | --- | --- |\n"
        "| [^2403.11894] | [From explainable to interpretable](https://arxiv.org/abs/2403.11894)"
        " | A review of interpretable NLP in healthcare. |\n"
        "\n"
        "[^2403.11894]: From explainable to interpretable\n"
        "\n"
        "    [https://arxiv.org/abs/2403.11894](https://arxiv.org/abs/2403.11894)\n"
        "\n"
        "    A review of interpretable NLP in healthcare.\n"
        "\n"
        "    Deep learning in NLP.\n"
    )


def test_no_rows_render_nothing() -> None:
    assert render_digest([]) == ""


def test_second_block_on_a_page_does_not_repeat_a_footnote() -> None:
    defined: dict[str, str] = {}
    first = render_digest(basic_rows(), defined=defined)
    assert defined == {"2403.16584": "en", "hep-th/9901001": "en", "2402.19379v2": "en"}
    second = render_digest(basic_rows()[:1], defined=defined)
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
    text = render_digest([rows[0], rows[1], rows[0]])
    assert text.count("| [^2403.16584] |") == 2
    assert text.count("[^2403.16584]:") == 1


def test_deterministic() -> None:
    first = render_digest(basic_rows(), math=True)
    again = render_digest(basic_rows(), math=True)
    assert first.encode() == again.encode()
    assert render_digest(basic_rows(), defined={}) == render_digest(basic_rows())


def test_rows_keep_the_order_asked_for() -> None:
    text = render_digest(list(reversed(basic_rows())))
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
def test_inline_text_escapes(text: str, expected: str) -> None:
    assert inline_text(text) == expected


@pytest.mark.parametrize(("text", "_expected"), ESCAPES)
def test_inline_text_renders_as_the_text_itself(text: str, _expected: str) -> None:
    # One paragraph holding exactly the original characters: no element, no attribute.
    html = to_html(inline_text(text))
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
def test_inline_text_keeps_math(text: str, expected: str) -> None:
    assert inline_text(text, math=True) == expected
    assert "|" not in expected
    assert unescaped_braces_balance(expected)


def test_math_off_escapes_dollars() -> None:
    assert inline_text("$a|b$", math=False) == "&#36;a&#124;b&#36;"
    assert "$" not in inline_text("$x_1 < y$ and $z$")


def unescaped_braces_balance(tex: str) -> bool:
    depth = 0
    for brace in re.sub(r"\\.", "", tex):
        depth += {"{": 1, "}": -1}.get(brace, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("text", [r"$\|x\|_2 \le 1$", r"$a \& b$"])
def test_escaped_tex_characters_stay_valid_tex(text: str) -> None:
    kept = inline_text(text, math=True)
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


@pytest.mark.parametrize("math", [True, False])
def test_hostile_text_renders_inert(math: bool) -> None:
    html = to_html(render_digest(hostile_rows(), math=math))
    page = parse(html)
    assert "<script" not in html
    elements = page.iter()
    assert not [(e.tag, name) for e in elements for name in e.attrs if name.startswith("on")]
    assert {e.tag for e in elements} <= DIGEST_TAGS
    assert [div.attrs.get("class") for div in page.iter("div")] == ["footnote"]
    hrefs = [e.attrs.get("href") or "" for e in page.iter("a")]
    assert hrefs
    assert all(href.startswith(("https://arxiv.org/abs/", "#fn:", "#fnref:")) for href in hrefs)
    # Three cells per row: the `|` in the title stayed in its cell.
    (table,) = page.iter("table")
    assert [len(tr.iter("th") + tr.iter("td")) for tr in table.iter("tr")] == [3, 3, 3]
    title_cell = table.iter("tr")[1].iter("td")[1]
    assert title_cell.text.startswith("A | B <script>alert(1)</script> ")
    # The reader sees the untrusted text, as text.
    (note, _) = read_digest(html).footnotes.values()
    assert note[0] == "- list? <div markdown>*md in html*</div>"
    assert note[-2] == "> quote? {: onclick=alert(1) } <svg onload=alert(1)>"
    assert note[-1].startswith("[link](javascript:alert(1)) <img src=x onerror=alert(1)> {: onclick=alert(1)} ")


def test_math_renders_through_arithmatex() -> None:
    page = parse(to_html(render_digest(hostile_rows(), math=True)))
    spans = [span.text for span in page.iter("span") if span.attrs.get("class") == "arithmatex"]
    # Title in the table and in the footnote; `$a|b$` in summary (table and footnote) and abstract.
    assert spans == [r"\(x_1 {\lt} y\)", r"\(a{\vert}b\)", r"\(x_1 {\lt} y\)", r"\(a{\vert}b\)", r"\(a{\vert}b\)"]


def test_math_off_leaves_dollars_as_text() -> None:
    page = parse(to_html(render_digest(hostile_rows(), math=False)))
    assert not page.iter("span")
    title_cell = page.iter("table")[0].iter("tr")[1].iter("td")[1]
    assert title_cell.text == "A | B <script>alert(1)</script> $x_1 < y$"


@pytest.mark.parametrize("math", [False, True])
def test_rendered_digests_pass_the_stored_page_check_and_tampering_fails(math: bool) -> None:
    rendered = render_digest(hostile_rows()[:1], math=math)  # complete papers: only those are stored
    assert is_digest_markdown(rendered, math=math)
    for tampered in [
        "<script>alert(1)</script>",
        "| [^2403.16584] | [title](https://example.com) | summary |",
        "| [^2403.16584] | [<b>x</b>](https://arxiv.org/abs/2403.16584) | summary |",
        "[^2403.16584]: {: onclick=alert(1)}",
        "    [link](javascript:alert(1))",
        "    `code`",
        "# heading",
        "    $a<b$" if math else "    $a$",
        "    $\\href{javascript:alert(1)}{x}$",
        "    Text: javascript&#58;alert(1) with a raw colon",
        "    Price &amp; value ~~struck~~",
        TAMPERED_DOLLAR,
    ]:
        assert not is_digest_markdown(rendered + "\n" + tampered, math=math), tampered


# Issue 8, finding 3: arithmatex reads `\$` inside math as an escaped dollar, so the math
# is `x\$b` and what follows it is Markdown, attribute list included.
TAMPERED_DOLLAR = "    $x\\$b$*here*{: onclick=alert(document.cookie)}$"


def test_the_tampered_dollar_row_is_an_attack() -> None:
    assert "<em onclick=" in to_html("[^2403.16584]: Note\n\n" + TAMPERED_DOLLAR + "\n\n[^2403.16584]")


MATH_KEPT = [
    (r"Costs $O(n \log n)$ time", r"Costs $O(n \log n)$ time"),
    (r"Reaches $66.4\%$ on GSM8K", r"Reaches $66.4\%$ on GSM8K"),
    (r"Rate $(1/310)(1^{+1.39}_{-0.59})$", r"Rate $(1/310)(1^{+1.39}_{-0.59})$"),
    (
        r"For $\|x\|_2 \le \epsilon$ and $x \in \mathbb{R}^d$",
        r"For ${\Vert}x{\Vert}_2 \le \epsilon$ and $x \in \mathbb{R}^d$",
    ),
    (r"With $\begin{pmatrix}a\\b\end{pmatrix}$", r"With $\begin{pmatrix}a\\b\end{pmatrix}$"),
]


@pytest.mark.parametrize(("text", "expected"), MATH_KEPT)
def test_ordinary_math_stays_math(text: str, expected: str) -> None:
    assert inline_text(text, math=True) == expected


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
    text = f"Hostile {span} next to $O(n)$."
    # The span is escaped as it would be with math off; the math beside it is kept.
    assert inline_text(text, math=True) == f"Hostile {inline_text(span)} next to $O(n)$."
    page = parse(to_html(inline_text(text, math=True)))
    assert [span.text for span in page.iter("span")] == [r"\(O(n)\)"]
    assert page.text == f"Hostile {span} next to".replace("  ", " ") + " " + r"\(O(n)\)" + " ."


@pytest.mark.parametrize("text", [r"$a \&lt; b$", r"$a &lt; b$", r"$\&bsol;href$", r"$a\&amp;b$"])
def test_math_reaches_mathjax_as_it_was_checked(text: str) -> None:
    # Arithmatex leaves `&lt;` in math as a reference, which the browser decodes: no `&`
    # may be followed by a name, so that MathJax reads the very TeX `safe_tex` checked.
    line = inline_text(text, math=True)
    (span,) = parse(to_html(line)).iter("span")
    assert span.children == ["\\(" + line[1:-1] + "\\)"]


def test_a_refused_span_leaves_the_other_dollars_paired_as_arithmatex_pairs_them() -> None:
    text = r"$\url{a}$b$c$ and $\mathrm{ok}$"
    assert inline_text(text, math=True) == r"&#36;&#92;url&#123;a&#125;&#36;b$c$ and $\mathrm{ok}$"
    page = parse(to_html(inline_text(text, math=True)))
    assert [span.text for span in page.iter("span")] == [r"\(c\)", r"\(\mathrm{ok}\)"]


# The stored-page check against the renderer, on many strings rich in what Markdown,
# its extensions and TeX act on. Seeded: the same strings on every run.
FUZZ_PIECES = [
    *"$$$\\\\{}{}[]()|*_^~#%&<>:=+!`'\"-. ax1é大",
    *["  ", "\n", "\t", "\x02", "\\$", "$$", "\\\\", "\\(", "\\)", "\\[", "javascript:", "http://x.y"],
    *[r"\href", r"\frac", r"\text", r"\style", r"\begin{pmatrix}", r"\end{pmatrix}", r"\vert", r"\&", "{\\lt}"],
    *[
        "{: onclick=alert(1)}",
        "*here*",
        "*x*{: onclick=alert(1)}",
        "[^2403.16584]",
        "](javascript:alert(1))",
        "<b>",
        "&lt;",
        "&#36;",
        "&amp;",
    ],
    *["==m==", "~~s~~", "^^c^^", "++i++", "<!--", "-->", "&#", "&#60;", ";"],
]
# Every attribute a digest's elements may carry, and the values it may take.
DIGEST_ATTRIBUTES = {
    ("a", "class"): re.compile("footnote-ref|footnote-backref"),
    ("a", "href"): re.compile(r"https://arxiv\.org/abs/2403\.16584|#fn:2403\.16584|#fnref\d*:2403\.16584"),
    ("a", "title"): re.compile(r"Jump back to footnote \d+ in the text"),
    ("div", "class"): re.compile("footnote"),
    ("li", "id"): re.compile(r"fn:2403\.16584"),
    ("sup", "id"): re.compile(r"fnref\d*:2403\.16584"),
    ("span", "class"): re.compile("arithmatex"),
}


def fuzz_text(rng: random.Random) -> str:
    """A few runs of pieces, about half of them in dollars (so that much of it is kept as math)."""
    runs = ("".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 4)))
    return "".join(f"${run}$" if rng.random() < 0.5 else run for run in runs)


def mutate(rng: random.Random, text: str) -> str:
    """``text`` with a few pieces inserted, or a few characters deleted."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(text))
        if rng.random() < 0.7:
            text = text[:at] + rng.choice(FUZZ_PIECES) + text[at:]
        else:
            text = text[:at] + text[at + rng.randint(1, 3) :]
    return text


def assert_inert(html: str, math: bool) -> None:
    """Only the digest's own elements and attributes; math only as allowed TeX."""
    page = parse(html)
    for element in page.iter():
        assert element.tag in DIGEST_TAGS, html
        for name, value in element.attrs.items():
            allowed = DIGEST_ATTRIBUTES.get((element.tag, name))
            assert allowed and allowed.fullmatch(value or ""), html
    for span in page.iter("span"):
        assert math, html
        (tex,) = span.children  # what MathJax is handed: `\(...\)`, text only
        assert isinstance(tex, str), html
        assert tex.startswith("\\(") and tex.endswith("\\)") and safe_tex(tex[2:-2]) is not None, html


def block_with(text: str) -> str:
    """A stored digest block with ``text`` in every place untrusted text goes."""
    url = "https://arxiv.org/abs/2403.16584"
    return (
        "| Ref | Title | Summary |\n| --- | --- | --- |\n"
        f"| [^2403.16584] | [{text}]({url}) | {text} |\n\n"
        f"[^2403.16584]: {text}\n\n    [{url}]({url})\n\n    {text}\n"
    )


@pytest.mark.parametrize("math", [True, False])
def test_fuzz_the_page_check_accepts_only_inert_markdown(math: bool) -> None:
    rng = random.Random(8)
    accepted = 0
    for _ in range(5000):
        line = inline_text(fuzz_text(rng), math=math)
        if not line:
            continue  # blank text: a paper without a title is not rendered as one
        # Whatever `inline_text` writes, the check accepts (or a cache hit would be refused)...
        assert is_digest_markdown(block_with(line), math=math), line
        # ...and whatever else the check accepts renders as inert as the renderer's own.
        tampered = mutate(rng, line)
        if is_digest_markdown(block_with(tampered), math=math):
            accepted += 1
            assert_inert(to_html(block_with(tampered)), math)
    assert accepted > 300  # the mutations reach the check's boundary, not only its refusals


def test_the_fuzz_alphabet_finds_the_tampered_dollar() -> None:
    # The finding's string is made of the fuzz's pieces, and the check refuses it.
    assert not is_digest_markdown(block_with(TAMPERED_DOLLAR.strip()), math=True)


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

    rendered = render_digest(rows, language=language)

    assert f"| {summary} |" in rendered
    assert unavailable(language)[1] in rendered and "build log" not in rendered
