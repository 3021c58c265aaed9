"""How the checks read text: scripts of letters, words, and what every language writes alike.

Shared by every kind of check; pure and cheap (no language identification here).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter

SCRIPT_NAMES = {
    "LATIN": "Latn", "CJK": "Hani", "IDEOGRAPHIC": "Hani", "HIRAGANA": "Hira", "KATAKANA": "Kana",
    "HANGUL": "Hang", "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARABIC": "Arab", "HEBREW": "Hebr",
    "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya",
    "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh",
    "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt", "MYANMAR": "Mymr", "GEORGIAN": "Geor",
    "ARMENIAN": "Armn", "ETHIOPIC": "Ethi", "KHMER": "Khmr", "MONGOLIAN": "Mong", "THAANA": "Thaa",
    "SYRIAC": "Syrc",
}  # fmt: skip
"""The first word of a letter's Unicode name → its ISO 15924 script."""
_WIDTH_WORDS = {"FULLWIDTH", "HALFWIDTH"}

URL = re.compile(r"\b(?:https?://|www\.)\S+|\barXiv:\S+", re.IGNORECASE)
# Code: paths, options, identifiers, file names (github.com/x/y, --flag, model_name, torch.nn).
CODE = re.compile(r"[!-~]*[/_=@|<>`][!-~]*|(?<![!-~])--?[A-Za-z][\w-]*|\b[A-Za-z]+(?:\.[A-Za-z]+)+\b")
_CODE_MARK = re.compile(r"[/_=@|<>`.-]")  # what each alternative of `CODE` needs one of
TEX = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\]|\\[A-Za-z]+", re.DOTALL)
LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
LATIN_WORD = re.compile(rf"[{LATIN_LETTERS}\d]+(?:['’][{LATIN_LETTERS}]+)*")
# Latin words separated by nothing but ASCII spaces, digits and punctuation.
LATIN_RUN = re.compile(rf"{LATIN_WORD.pattern}(?:[\s!-@\[-`{{-~]+{LATIN_WORD.pattern})*")
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNITS = re.compile(rf"[{CJK}]|[^\W_{CJK}]+")
WORDS = re.compile(r"\w+")
_ALPHANUMERIC = re.compile(r"[^\W_]+")  # what `str.isalnum` is true of (`\w` is that and `_`)


def prose_of(text: str, *, names: bool) -> str:
    """``text`` without what every language writes alike: URLs, TeX, code, numbers, acronyms, CamelCase.

    With ``names``, also without capitalized Latin words: in a text in another script
    they are names (Whisper, Fisher, Transformer). Not in a Latin-script text, where
    German capitalizes every noun.
    """
    text = unicodedata.normalize("NFC", text)
    text = URL.sub(" ", text)
    text = TEX.sub(" ", text)
    if _CODE_MARK.search(text):  # else nothing `CODE` matches (most translations and summaries)
        text = CODE.sub(" ", text)

    def keep(match: re.Match[str]) -> str:
        word = match.group()
        if word.isalpha() and word[1:].islower():  # most words: no digit, a capital first at most
            return " " if names and word[0].isupper() else word
        if any(char.isdigit() for char in word) or sum(char.isupper() for char in word) >= 2:
            return " "  # GSM8K, 7B, LLM, BERT, MetaMath, LLaMA
        if names and word[0].isupper():
            return " "
        return word

    return LATIN_WORD.sub(keep, text)


def letters_by_script(text: str) -> Counter[str]:
    """How many letters of ``text`` are in each script."""
    scripts: Counter[str] = Counter()
    for char, count in Counter(text).items():  # each distinct character once (a text repeats most)
        if char.isalpha():
            scripts[script_of(char)] += count
    return scripts


@functools.lru_cache(maxsize=8192)
def script_of(char: str) -> str:
    """The ISO 15924 script of a letter (its Unicode name's first word if we have no code for it)."""
    if char.isascii():
        return "Latn"
    words = unicodedata.name(char, "").replace("-", " ").split()
    for word in words:
        if word not in _WIDTH_WORDS:
            return SCRIPT_NAMES.get(word, word)
    return ""


@functools.lru_cache(maxsize=8192)
def is_cjk(char: str) -> bool:
    return script_of(char) in {"Hani", "Hira", "Kana"}


@functools.lru_cache(maxsize=16)  # a title is compared twice per reply
def comparable(text: str) -> str:
    """``text`` with only its letters and digits, case-folded: what two spellings of one title share."""
    return "".join(_ALPHANUMERIC.findall(unicodedata.normalize("NFKC", text).casefold()))


@functools.lru_cache(maxsize=32)  # a reply's checks read its texts and the paper's several times each
def units(text: str) -> tuple[str, ...]:
    """Words, each CJK character one (NFKC, casefolded)."""
    return tuple(_UNITS.findall(unicodedata.normalize("NFKC", text).casefold()))


@functools.lru_cache(maxsize=8192)  # words recur: the repetition check weighs every word of a text
def weight(unit: str) -> float:
    """How many words a unit is worth: a CJK character half one (a Chinese or Japanese word is about two)."""
    return 0.5 if len(unit) == 1 and is_cjk(unit) else 1.0
