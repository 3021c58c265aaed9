"""How often each reply check refuses real text, and how often it catches degenerate text.

    python bench/check_rates.py [--locale-dirs /usr/share/locale ...] [--quick]

Real text, all offline:

- the seed digest's 14 Chinese entries (``../shared/reference/seed-digest.md`` beside the
  checkout) and the example site's 8 hand-written ones (``example_site/arxiv-digest-snapshot.yml``):
  titles, summaries and abstracts with their originals;
- the gettext catalogs on this machine (``/usr/share/locale``: the translations Debian's
  packages ship; the ``locale`` folders of the packages in this venv: Sphinx and its
  contrib packages): each translated message with its English original, for the checks a
  translation passes (repetition, fidelity, a title with a marker added);
- the installed Debian packages' descriptions (``/var/lib/dpkg/status``): a one-line
  synopsis written by a person for each longer English description, for the checks a
  summary passes (about the text, figures, copied, layout).

Degenerate text is made from the digests' real entries the way small models fail (the
kinds of issue 18): a loop, a half translation finished by a loop, a marker added to the
original title, a summary around a cut-off title, the abstract's first sentence as the
summary, a summary about the layout, a figure added to a real summary, the whole reply of
another paper. Prints a table of both rates per check.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from babel.messages.mofile import read_mo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_checks import DEFAULT_SEED, read_entries

from mkdocs_arxiv_digest.checks import check_digest
from mkdocs_arxiv_digest.checks.content import needs_translation, repetition_problem, title_problems
from mkdocs_arxiv_digest.checks.fidelity import (
    MAX_WRONG_SHARE,
    MIN_WRONG,
    _required_figures,
    _values,
    abstract_fidelity_problem,
    title_fidelity_problem,
)
from mkdocs_arxiv_digest.checks.reply import _summary_problems
from mkdocs_arxiv_digest.checks.text import comparable

EXAMPLE = Path(__file__).resolve().parent.parent / "example_site" / "arxiv-digest-snapshot.yml"
VENV_LOCALES = Path(sys.prefix) / "lib"


@dataclass(frozen=True)
class Entry:
    """A paper and a digest of it written by a person or a real model."""

    source: str
    title: str
    abstract: str
    translated_title: str
    summary: str
    translated_abstract: str


def digests() -> list[Entry]:
    entries = [
        Entry("seed", e.title, e.abstract, e.translated_title, e.summary, e.translated_abstract)
        for e in read_entries(DEFAULT_SEED.read_text(encoding="utf-8"))
    ]
    for paper in yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["papers"]:
        zh = paper["digests"]["zh"]
        entries.append(Entry("example", paper["title"], paper["abstract"], zh["title"], zh["summary"], zh["abstract"]))
    return entries


def catalogs(folders: list[Path]) -> Iterator[tuple[str, str, str]]:
    """(language, English message, translation) for every translated message of the catalogs under ``folders``."""
    for folder in folders:
        for path in sorted(folder.rglob("*.mo")):
            language = path.parent.parent.name if path.parent.name == "LC_MESSAGES" else path.stem
            if language.startswith("en"):
                continue
            try:
                with path.open("rb") as file:
                    catalog = read_mo(file)
            except (OSError, ValueError, UnicodeDecodeError, LookupError):
                continue
            for message in catalog:
                source, translation = message.id, message.string
                if isinstance(source, str) and isinstance(translation, str) and source and translation != source:
                    yield language, source, translation


def synopses() -> Iterator[tuple[str, str, str]]:
    """(package, synopsis, long description) of the installed Debian packages."""
    status = Path("/var/lib/dpkg/status")
    if not status.exists():
        return
    for block in status.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        match = re.search(r"^Package: (\S+)$", block, re.M)
        description = re.search(r"^Description: (.*)\n((?: .*\n?)*)", block, re.M)
        if match and description:
            long = " ".join(line.strip() for line in description.group(2).splitlines() if line.strip() != ".")
            if len(long) >= 200:
                yield match.group(1), description.group(1).strip(), long


def loop(text: str, phrase: str) -> str:
    return (phrase * (len(text) // max(1, len(phrase)) + 1))[: len(text)]


def degenerate(entries: list[Entry]) -> dict[str, list[tuple[Entry, dict[str, str], str]]]:
    """Replies of each degenerate kind, made from real entries: (paper, reply, language)."""
    kinds: dict[str, list[tuple[Entry, dict[str, str], str]]] = {}

    def add(kind: str, entry: Entry, language: str, **fields: str) -> None:
        reply = {"title": entry.translated_title, "summary": entry.summary, "abstract": entry.translated_abstract}
        if language == "en":
            reply = {"summary": entry.summary}
        kinds.setdefault(kind, []).append((entry, reply | fields, language))

    for i, entry in enumerate(entries):
        other = entries[(i + 1) % len(entries)]
        half = entry.translated_abstract[: len(entry.translated_abstract) // 2]
        first = re.split(r"(?<=[.!?])\s", entry.abstract)[0]
        add(
            "abstract: a phrase looped to length",
            entry,
            "zh",
            abstract=loop(entry.translated_abstract, "中文摘要的翻译，"),
        )
        add(
            "abstract: half translated, then a loop",
            entry,
            "zh",
            abstract=half + loop(half, re.split(r"(?<=。)", half)[0] if "。" in half else half[:20]),
        )
        for marker in ("【译】{}", "[译] {}", "{}（译文）", "中文标题：{}"):
            add(f"title: marker + original ({marker.format('…')})", entry, "zh", title=marker.format(entry.title))
        add("summary: template around a cut-off title", entry, "zh", summary=f"本文研究{entry.title[:20].strip()}。")
        add("summary: the abstract's first sentence (en)", entry, "en", summary=first)
        add(
            "summary: the translation's first sentence (zh)",
            entry,
            "zh",
            summary=entry.translated_abstract.split("。")[0] + "。",
        )
        add(
            "summary: the text's layout (en)",
            entry,
            "en",
            summary="The paper is divided into a single paragraph. The first paragraph provides an introduction.",
        )
        add("summary: an invented figure", entry, "zh", summary=entry.summary.rstrip("。") + "，准确率提高了37.5%。")
        add("summary: about nothing in the paper (en)", entry, "en", summary=other.summary and WHISPER_135M)
        for other in entries:
            if other is not entry:
                add(
                    "reply: another paper's, whole (every other entry)",
                    entry,
                    "zh",
                    title=other.translated_title,
                    summary=other.summary,
                    abstract=other.translated_abstract,
                )
    return kinds


HAS_FIGURE_OR_NAME = re.compile(r"\d|[A-Z][A-Za-z0-9]*[A-Z0-9]")
NAME = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9][A-Za-z0-9]*\b")

# What llama-server's SmolLM2-135M answered for 2402.08021 (issue 18).
WHISPER_135M = "One sentence: How the world is losing its ability to read the word"


def figures_lost(source: str, translation: str) -> bool:
    """`abstract_fidelity_problem`'s rule on the figures alone."""
    figures = _required_figures(source)
    kept = _values(translation, words=True)
    lost = sum(not values & kept for _text, values in figures)
    return lost >= MIN_WRONG and lost > MAX_WRONG_SHARE * len(figures)


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.1f}%)" if total else "–"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locale-dirs", nargs="*", type=Path, default=[Path("/usr/share/locale"), VENV_LOCALES])
    parser.add_argument("--quick", action="store_true", help="the digests only, no catalogs")
    args = parser.parse_args()
    started = time.perf_counter()
    entries = digests()

    print(f"## Real digests: {len(entries)} ({DEFAULT_SEED.name}, {EXAMPLE.name})")
    refused = [e for e in entries if check_digest(e.title, e.abstract, _reply(e), "zh")]
    print(f"refused: {rate(len(refused), len(entries))}")

    print("\n## Detection on degenerate replies made from them")
    for kind, cases in degenerate(entries).items():
        caught = sum(bool(check_digest(e.title, e.abstract, reply, language)) for e, reply, language in cases)
        print(f"- {kind}: {rate(caught, len(cases))}")

    if args.quick:
        return 0
    print("\n## Summaries written by people: Debian package synopses against their descriptions")
    counts: Counter[str] = Counter()
    total = 0
    for _package, synopsis, description in synopses():
        total += 1
        for problem in _summary_problems(synopsis, ["", description], ["", ""], "en", ""):
            counts[problem.reason.split(":")[0].split(" (")[0][:40]] += 1
    print(f"synopses: {total}; refused by kind: {dict(counts)}")

    print("\n## Translations: gettext catalogs")
    # Each check: to which messages it applies, and the check (a problem, or None).
    Check = Callable[[str, str, str], object]
    checks: dict[str, tuple[Check, Check]] = {
        "repetition (messages of 100+ characters)": (
            lambda code, s, t: len(s) >= 100,
            lambda code, s, t: repetition_problem("abstract", t, s),
        ),
        # Only where there is something to keep (a digit, a name): the rest cannot fail.
        "fidelity of figures and names (messages of 200+ characters with some)": (
            lambda code, s, t: len(s) >= 200 and bool(HAS_FIGURE_OR_NAME.search(s)),
            lambda code, s, t: abstract_fidelity_problem(s, t),
        ),
        "fidelity of figures and names (messages of 20-200 characters with some)": (
            lambda code, s, t: 20 <= len(s) < 200 and bool(HAS_FIGURE_OR_NAME.search(s)),
            lambda code, s, t: abstract_fidelity_problem(s, t),
        ),
        # Figures alone: what a translated message keeps whatever its placeholders (FILE, MODE).
        "fidelity of figures alone (messages with a figure to keep)": (
            lambda code, s, t: len(s) >= 20 and bool(_required_figures(s)),
            lambda code, s, t: figures_lost(s, t),
        ),
        # Messages that could be titles; identification (slow) only for those holding the original.
        "title with a marker added (title-like messages, 2+ words to translate)": (
            lambda code, s, t: 10 <= len(s) <= 120 and "\n" not in s,
            lambda code, s, t: (
                (
                    comparable(s) in comparable(t)
                    and needs_translation(s, code)
                    and [p for p in title_problems(s, t, code) if " added, " in p.reason]
                )
                or None
            ),
        ),
        "title keeps one of its names (title-like messages with a name)": (
            lambda code, s, t: 10 <= len(s) <= 120 and "\n" not in s and bool(NAME.search(s)),
            lambda code, s, t: title_fidelity_problem(s, t),
        ),
    }
    tried: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    messages = 0
    for language, source, translation in catalogs(args.locale_dirs):
        messages += 1
        code = language.replace("_", "-").split("@")[0]
        for name, (applies, check) in checks.items():
            if not applies(code, source, translation):
                continue
            tried[name] += 1
            if check(code, source, translation):
                failed[name] += 1
                examples.setdefault(name, []).append(f"{language}: {source[:60]!r} → {translation[:60]!r}")
    print(f"{messages} translated messages")
    for name in checks:
        print(f"- {name}: refused {rate(failed[name], tried[name])}")
        for example in examples.get(name, [])[:5]:
            print(f"    {example}")
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


def _reply(entry: Entry) -> dict[str, str]:
    return {"title": entry.translated_title, "summary": entry.summary, "abstract": entry.translated_abstract}


if __name__ == "__main__":
    sys.exit(main())
