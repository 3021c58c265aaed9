"""What readers see (issue 19, items 9, 10, 14): footnote parts they can scan, a Ref they can tap, unique ids.

Item 10: each writer marks a footnote's parts by their kind (a bold heading title, an
italic original title, the original abstract quoted). Item 9: the plugin ships a
stylesheet scoped to the digest's tables, measured in Chromium at 390 px. Item 14: a
Material blog index that shows two posts' digests of one paper has no id twice.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from mkdocs_arxiv_digest.layout import (
    ABSTRACT,
    LINK,
    SUMMARY,
    TITLE,
    TRANSLATED_ABSTRACT,
    TRANSLATED_TITLE,
    DigestLayout,
    Entry,
    Part,
)
from mkdocs_arxiv_digest.nodes import digest_nodes
from mkdocs_arxiv_digest.render import markdown_digest
from mkdocs_arxiv_digest.stylesheet import MARK, SITE_PATH
from mkdocs_arxiv_digest.unique_ids import unique_footnote_ids
from tests.browser import PHONE, browser_page, needs_chromium, phone_table, serve
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Site, accepted_chinese_reply, block
from tests.html import Element, parse

TITLE_EN = "Can Large Language Models (or Humans) Distill Text?"
ABSTRACT_EN = "We investigate the potential of large language models (LLMs) to distill text."
URL = "https://arxiv.org/abs/2403.16584"


def translated_layout() -> DigestLayout:
    parts = (
        Part(TRANSLATED_TITLE, "大型语言模型能否提炼文本？"),
        Part(TITLE, TITLE_EN),
        Part(LINK, URL),
        Part(SUMMARY, "一句话总结。"),
        Part(TRANSLATED_ABSTRACT, "我们研究了提炼文本的潜力。"),
        Part(ABSTRACT, ABSTRACT_EN),
    )
    return DigestLayout("zh", (Entry("2403.16584", TITLE_EN, URL, "一句话总结。", False, parts),))


def english_layout() -> DigestLayout:
    parts = (Part(TITLE, TITLE_EN), Part(LINK, URL), Part(SUMMARY, "One sentence."), Part(ABSTRACT, ABSTRACT_EN))
    return DigestLayout("en", (Entry("2403.16584", TITLE_EN, URL, "One sentence.", False, parts),))


# -- item 10: the footnote's parts, marked by kind ------------------------------------


def test_markdown_marks_each_part_of_a_translated_footnote() -> None:
    markdown = markdown_digest(translated_layout(), lambda text: text)
    note = markdown.split("[^2403.16584]: ", 1)[1]

    assert note.split("\n\n    ") == [
        "**大型语言模型能否提炼文本？**",
        f"*{TITLE_EN}*",
        f"[{URL}]({URL})",
        "一句话总结。",
        "我们研究了提炼文本的潜力。",
        f"> {ABSTRACT_EN}\n",
    ]


def test_markdown_without_a_translation_heads_the_footnote_with_the_title_and_quotes_nothing() -> None:
    markdown = markdown_digest(english_layout(), lambda text: text)
    note = markdown.split("[^2403.16584]: ", 1)[1]

    assert note.split("\n\n    ") == [f"**{TITLE_EN}**", f"[{URL}]({URL})", "One sentence.", f"{ABSTRACT_EN}\n"]


def footnote_parts(footnote: Element) -> list[tuple[str, str]]:
    """Each part of a built footnote: how it is set (strong, em, blockquote, plain) and its text."""
    found = []
    for child in footnote.children:
        if not isinstance(child, Element) or child.tag not in ("p", "blockquote") or child.text == "↩":
            continue  # (after a block quote, Python-Markdown gives the back link a paragraph of its own)
        inner = [c for c in child.children if isinstance(c, Element)]
        if child.tag == "blockquote":
            found.append(("blockquote", child.text))
        elif len(inner) == 1 and inner[0].tag in ("strong", "em") and inner[0].text == child.text.rstrip(" ↩"):
            found.append((inner[0].tag, inner[0].text))
        else:
            found.append(("plain", child.text))
    return found


def test_a_reader_sees_the_parts_set_apart_on_a_site(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", TITLE_EN, ABSTRACT_EN)
    llm_api.answer = accepted_chinese_reply
    site.options["language"] = "zh"
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    (footnote,) = [li for li in build.digest().page.iter("li") if li.attrs.get("id") == "fn:2403.16584"]
    reply = accepted_chinese_reply({}, "zh")
    assert footnote_parts(footnote) == [
        ("strong", reply["title"]),
        ("em", TITLE_EN),
        ("plain", URL),
        ("plain", reply["summary"]),
        ("plain", reply["abstract"]),
        ("blockquote", ABSTRACT_EN),
    ]


def test_docutils_marks_the_parts_as_the_markdown_does() -> None:
    document = new_document("test", get_default_settings(Parser))

    *_table, footnote = digest_nodes(translated_layout(), document)

    marks = []
    for child in footnote.children:
        if isinstance(child, nodes.block_quote):
            marks.append(("block_quote", child.astext()))
        elif len(child.children) == 1 and isinstance(child[0], nodes.strong | nodes.emphasis):
            marks.append((child[0].tagname, child.astext()))
        else:
            marks.append(("plain", child.astext()))
    assert marks == [
        ("strong", "大型语言模型能否提炼文本？"),
        ("emphasis", TITLE_EN),
        ("plain", URL),
        ("plain", "一句话总结。"),
        ("plain", "我们研究了提炼文本的潜力。"),
        ("block_quote", ABSTRACT_EN),
    ]


# -- item 9: the stylesheet and the tables it is scoped to ----------------------------


def test_only_digest_tables_are_marked_and_the_stylesheet_is_in_the_site(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", TITLE_EN, ABSTRACT_EN)
    author_table = (
        "| Note | Text |\n| --- | --- |\n| [^mine] | An author's own table of footnotes. |\n\n[^mine]: Mine.\n"
    )
    plain_table = "| A | B |\n| --- | --- |\n| 1 | 2 |\n"
    site.page("index.md", block("2403.16584") + "\n" + author_table + "\n" + plain_table)

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    page = parse(build.html())
    marked = {table.iter("th")[0].text: MARK in table.attrs for table in page.iter("table") if table.iter("th")}
    assert marked.items() >= {"Ref": True, "Note": False, "A": False}.items()
    assert list(marked.values()).count(True) == 1  # nor any table of the theme's
    links = [link.attrs.get("href") for link in page.iter("link")]
    assert SITE_PATH in links
    assert "table[data-arxiv-digest]" in (build.site / SITE_PATH).read_text(encoding="utf-8")


def test_a_site_file_of_the_stylesheet_name_wins(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", TITLE_EN, ABSTRACT_EN)
    site.page("index.md", block("2403.16584"))
    site.page(SITE_PATH, "/* the site's own */\n")

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert (build.site / SITE_PATH).read_text(encoding="utf-8") == "/* the site's own */\n"


def phone_site(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, theme: str) -> Path:
    # Two papers of the seed digest: a short title and a long one, a Chinese summary each.
    arxiv_api.add("2403.16584", TITLE_EN, ABSTRACT_EN)
    arxiv_api.add(
        "2109.07319",
        "InceptionXML: A Lightweight Framework with Synchronized Negative Sampling for Short Text Extreme Classification",
        ABSTRACT_EN,
    )
    llm_api.answer = accepted_chinese_reply
    site.config["theme"] = {"name": theme}
    site.options["language"] = "zh"
    site.page("index.md", "# Papers\n\n" + block("2403.16584", "2109.07319"))
    build = site.build()
    assert build.returncode == 0, build.log
    return build.site


@needs_chromium
@pytest.mark.parametrize("theme", ["material", "mkdocs"])
def test_each_ref_is_a_24px_tap_target_and_the_summary_has_the_width_at_390px(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, theme: str
) -> None:
    built = phone_site(site, arxiv_api, llm_api, theme)

    with serve(built) as url, browser_page(viewport=PHONE) as page:
        page.goto(url)
        refs, summaries, content = phone_table(page, "table", "a.footnote-ref")

    assert len(refs) == 2
    # WCAG 2.2, success criterion 2.5.8 (Target Size, Minimum): 24 × 24 CSS px.
    assert all(width >= 24 and height >= 24 for width, height in refs), refs
    # Readable on a phone: the summary takes most of the content's width (it had ~130
    # of 358 px under Material in three columns), not a narrow third.
    assert all(width >= 0.75 * content for width in summaries), (summaries, content)


# -- item 14: unique footnote ids on a page of excerpts -------------------------------


@pytest.mark.parametrize(
    ("page_html", "expected"),
    [
        # The post's own page: every id once, nothing changes.
        ('<sup id="fnref:2403.16584"><a href="#fn:2403.16584">1</a></sup><li id="fn:2403.16584">', None),
        # Two excerpts: the second occurrence is numbered, links stay as they are.
        (
            '<sup id="fnref:2403.16584"><a href="a/#fn:2403.16584"></a></sup>'
            '<sup id="fnref:2403.16584"><a href="b/#fn:2403.16584"></a></sup>'
            '<sup id="fnref:2403.16584"><a href="c/#fn:2403.16584"></a></sup>',
            '<sup id="fnref:2403.16584"><a href="a/#fn:2403.16584"></a></sup>'
            '<sup id="fnref:2403.16584-2"><a href="b/#fn:2403.16584"></a></sup>'
            '<sup id="fnref:2403.16584-3"><a href="c/#fn:2403.16584"></a></sup>',
        ),
        # Old-style IDs, a second language, UNIQUE_IDS' count, a second reference.
        (
            '<p id="fn:hep-th/9901001"><p id="fn:hep-th/9901001"><b id="fnref2:2403.16584v2-zh">'
            '<b id="fnref2:2403.16584v2-zh"><b id="fnref:1-2403.16584"><b id="fnref:1-2403.16584">',
            '<p id="fn:hep-th/9901001"><p id="fn:hep-th/9901001-2"><b id="fnref2:2403.16584v2-zh">'
            '<b id="fnref2:2403.16584v2-zh-2"><b id="fnref:1-2403.16584"><b id="fnref:1-2403.16584-2">',
        ),
        # Ids that are not a digest's are not ours to change.
        ('<h2 id="papers"></h2><h2 id="papers"></h2><li id="fn:1"></li><li id="fn:1"></li>', None),
    ],
)
def test_unique_footnote_ids(page_html: str, expected: str | None) -> None:
    assert unique_footnote_ids(page_html) == (page_html if expected is None else expected)


def ids(html: str) -> collections.Counter[str]:
    return collections.Counter(re.findall(r'\sid="([^"]*)"', html))


@pytest.mark.parametrize("unique_ids", [False, True], ids=["default", "UNIQUE_IDS"])
def test_a_material_blog_index_of_two_digests_of_one_paper_has_no_id_twice(
    site: Site, arxiv_api: FakeArxiv, unique_ids: bool
) -> None:
    arxiv_api.add("2403.16584", TITLE_EN, ABSTRACT_EN)
    site.config["theme"] = {"name": "material"}
    site.config["markdown_extensions"] = [{"footnotes": {"UNIQUE_IDS": unique_ids}}]
    site.plugins = ["blog", "arxiv-digest"]
    site.page("index.md", "# Home\n")
    site.page("blog/index.md", "# Blog\n")
    for name, day in (("first", "2024-03-01"), ("second", "2024-03-02")):
        post = f"---\ndate: {day}\n---\n\n# {name.title()} post\n\n{block('2403.16584')}\n<!-- more -->\n\nMore.\n"
        site.page(f"blog/posts/{name}.md", post)

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    index = build.html("blog/index.html")
    references = [a for a in parse(index).iter("a") if "footnote-ref" in (a.attrs.get("class") or "")]
    # Both excerpts show their digest, each Ref pointing at its own post's footnote...
    assert sorted(a.attrs["href"] for a in references) == [
        f"2024/03/0{day}/{name}-post/#fn:{'2-' if unique_ids else ''}2403.16584"
        for day, name in ((1, "first"), (2, "second"))
    ]
    # ... and no id is on the page twice.
    assert [id_ for id_, count in ids(index).items() if count > 1] == []
    # The posts' own pages keep the ids their links name.
    for day, name in ((1, "first"), (2, "second")):
        post_ids = ids(build.html(f"blog/2024/03/0{day}/{name}-post/index.html"))
        label = f"{'2-' if unique_ids else ''}2403.16584"
        assert post_ids[f"fn:{label}"] == 1 and post_ids[f"fnref:{label}"] == 1
