"""Real builds where the model answers the way small models fail (issue 18): each reply is refused,
the problem is fed back, the paper is shown degraded and nothing is cached. Every text here was
written for these tests."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Site, block

TITLE = "SparseRoute: Mixture Routing for Short Text Extreme Classification"
ABSTRACT = (
    "Extreme classification assigns each short text, such as a search query or a product title, the few "
    "relevant labels among millions. We present SparseRoute, a light-weight architecture that routes every "
    "query to a small set of experts before ranking the labels they hold. On AmazonTitles-3M and "
    "WikiSeeAlso-500K, SparseRoute reaches 47.3% precision at one, 2.1 points above InceptionXML, while it "
    "needs twelve times less memory than a BERT encoder and answers a query in 0.8 ms on one CPU core."
)
GOOD = {
    "title": "SparseRoute：用于短文本极端分类的混合路由",
    "summary": "提出轻量级架构SparseRoute，先把每个查询路由到少数专家再对标签排序，在AmazonTitles-3M上以更少内存超过InceptionXML。",
    "abstract": (
        "极端分类为每个短文本（例如搜索查询或商品标题）从数百万个标签中找出少数相关标签。我们提出SparseRoute，"
        "一种轻量级架构，它先把每个查询路由到一小组专家，再对这些专家所持有的标签进行排序。在AmazonTitles-3M和"
        "WikiSeeAlso-500K上，SparseRoute的第一位精确率达到47.3%，比InceptionXML高2.1个百分点，所需内存比BERT"
        "编码器少十二倍，并能在单个CPU核心上以0.8毫秒回答一个查询。"
    ),
}
# A fluent, faithful translation of another paper: what a mix-up between concurrent
# requests, or a batch file with swapped ids, hands back for this one.
OTHER_PAPER = {
    "title": "面向流式语音识别的带缓存Conformer",
    "summary": "提出带缓存的流式Conformer语音识别模型，在LibriSpeech上把词错误率降到5.6%并把延迟减半。",
    "abstract": (
        "流式自动语音识别要求模型在音频到达时立即给出文字。我们提出一种带缓存的Conformer模型，它在推理时"
        "复用之前各帧的激活，从而无需重新计算整个上下文。在LibriSpeech上，该模型的词错误率为5.6%，比非流式"
        "基线只高0.4个百分点，而延迟从640毫秒降到320毫秒。我们还提出CTC与RNN-T的混合解码器，使训练速度提高"
        "了35%，并公开了代码和模型。"
    ),
}
FIRST_SENTENCE = ABSTRACT.split(". ")[0] + "."

# Each kind: the site's language, the reply the model keeps sending, a problem the build names.
DEGENERATE: dict[str, tuple[str, dict[str, str], str]] = {
    "a repetition loop": (
        "zh",
        GOOD | {"abstract": "中文摘要的翻译，" * 21},
        "abstract repeats itself (“中文摘要的翻译，” 21 times); translate each sentence of the abstract once",
    ),
    "the original title with a marker": (
        "zh",
        GOOD | {"title": "【译】" + TITLE},
        "title is the original with “【译】” added, not translated into Chinese (Simplified)",
    ),
    "a template around a cut-off title": (
        "zh",
        GOOD | {"summary": "本文研究SparseRoute: Mixture Rout。"},
        "summary only repeats (part of) the title; say what the paper contributes",
    ),
    "the abstract's first sentence as the summary": (
        "en",
        {"summary": FIRST_SENTENCE},
        "summary copies the abstract word for word",
    ),
    "the text's layout as the summary": (
        "en",
        {"summary": "The paper is divided into a single paragraph. The first paragraph provides an introduction."},
        "summary describes the layout of the text (“paragraph”), not the paper; say what the paper contributes",
    ),
    "a summary about nothing in the paper": (
        "en",
        {"summary": "The world is losing its ability to read the word, and the authors explain how."},
        "summary is not about this paper: it shares no term with its title or abstract",
    ),
    "a summary with an invented figure": (
        "zh",
        GOOD | {"summary": GOOD["summary"].rstrip("。") + "，准确率提高了93.5%。"},
        "summary states 93.5%, which the title and abstract do not; state only figures the abstract gives",
    ),
    "a fluent translation of another paper": (
        "zh",
        OTHER_PAPER,
        "abstract is not a faithful translation of this abstract: it lost 47.3%, 2.1, 0.8",
    ),
}


def cached_digests(site: Site) -> list[str]:
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        return [key for (key,) in db.execute("select key from Cache") if key.startswith("digest:")]


def answering(reply: dict[str, str]) -> Any:
    return lambda paper, language: reply


@pytest.mark.parametrize("kind", list(DEGENERATE))
def test_a_degenerate_reply_is_refused_shown_degraded_and_asked_again_next_build(
    kind: str, site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    language, reply, problem = DEGENERATE[kind]
    arxiv_api.add("2109.07319", TITLE, ABSTRACT)
    llm_api.answer = answering(reply)
    site.options.update(language=language, retries=1)
    site.page("index.md", block("2109.07319"))

    build = site.build()

    assert build.returncode == 0, build.log
    assert "2109.07319: no summary: no valid reply from gpt-4.1-mini after 2 tries: " in build.log
    assert problem in build.log
    # What to fix went back to the model with its reply.
    assert problem in llm_api.requests[1]["messages"][-1]["content"]
    digest = build.digest()
    assert digest.rows[0].summary == ("暂无摘要。" if language == "zh" else "No summary yet.")
    page = build.html()
    for text in reply.values():
        if text not in ABSTRACT:  # a copy of the abstract is in the page: as the abstract
            assert json.dumps(text, ensure_ascii=False)[1:-1][:40] not in page
    assert cached_digests(site) == []

    site.env["ARXIV_DIGEST_RETRY_REJECTED"] = "1"  # else held back for an hour (tests/test_backoff.py)
    again = site.build()

    assert again.returncode == 0, again.log
    assert len(llm_api.requests) == 4  # asked again: nothing was kept


def test_a_faithful_reply_to_the_same_paper_is_accepted_and_cached(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2109.07319", TITLE, ABSTRACT)
    llm_api.answer = answering(GOOD)
    site.options.update(language="zh")
    site.page("index.md", block("2109.07319"))

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert build.digest().rows[0].summary == GOOD["summary"]
    assert len(cached_digests(site)) == 1
    assert site.build("--strict").returncode == 0
    assert len(llm_api.requests) == 1
