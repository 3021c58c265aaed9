"""What readers see beyond the seed's format: localised headings, and who wrote the text (issues 18.7, 19.11)."""

from __future__ import annotations

import yaml

from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Site, accepted_chinese_reply, block
from tests.html import Element, digest_tables

MODEL = "gpt-4.1-mini"


def headings(page: Element) -> list[str]:
    (table,) = digest_tables(page)
    return [th.text for th in table.iter("th")]


ABSTRACT = "We investigate the potential of large language models (LLMs) to distill text: to erase the textual traces of an undesired forbidden variable."


def test_defaults_keep_the_seed_headings_and_say_nothing_of_the_model(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Can Large Language Models (or Humans) Distill Text?", ABSTRACT)
    llm_api.answer = accepted_chinese_reply
    site.options["language"] = "zh"
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert headings(build.digest().page) == ["Ref", "Title", "Summary"]
    (footnote,) = build.digest().footnotes.values()
    assert not any(MODEL in paragraph for paragraph in footnote)


def test_localized_headings_and_the_model_disclosed(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Can Large Language Models (or Humans) Distill Text?", ABSTRACT)
    llm_api.answer = accepted_chinese_reply
    arxiv_api.add("2403.11894", "From explainable to interpretable deep learning")
    site.options |= {"language": "zh", "localized_headings": True, "disclose_model": True, "model": MODEL}
    # A person corrected one entry and says so in the snapshot.
    site.options["snapshot"] = "snapshot.yml"
    entry = {
        "id": "2403.11894",
        "version": 1,
        "title": "From explainable to interpretable deep learning",
        "abstract": "An abstract.",
        "digests": {
            "zh": {
                "model": "written-by-hand",
                "title": "从可解释到可诠释的深度学习",
                "summary": "本文综述了可解释的深度学习方法。",
                "abstract": "一篇摘要。",
                "reviewed": True,
            }
        },
    }
    (site.root / "snapshot.yml").write_text(yaml.safe_dump({"papers": [entry]}, allow_unicode=True), encoding="utf-8")
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    digest = build.digest()
    assert headings(digest.page) == ["引用", "标题", "总结"]
    machine, person = digest.footnotes.values()
    assert machine[-1].removesuffix(" ↩") == f"摘要和翻译由语言模型 {MODEL} 生成。"
    assert person[-1].removesuffix(" ↩") == "摘要和翻译已经人工审校。"
    # The stored page is the same page on a warm build.
    assert site.build("--strict").html() == build.html()
