"""Run the reply checks on every entry of the seed digest: real model output they must accept.

    python bench/seed_checks.py [path/to/seed-digest.md] [--language zh]

The seed digest (``../shared/reference/seed-digest.md`` beside the checkout) is read, not
copied: its text is someone else's writing. Each footnote holds, one paragraph each:
translated title, original title, link, summary, translated abstract, original abstract.
The original title and abstract are turned back into what arXiv's API returns (the seed
came from the RSS feed: a ``(arXiv:ID [cs.CL] UPDATED)`` suffix on the title, an
``arXiv:ID Announce Type: new Abstract:`` preamble on the abstract). Prints one line per
entry, then the length ratios of the abstracts; exits 1 if any entry fails.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mkdocs_arxiv_digest.checks import check_digest
from mkdocs_arxiv_digest.keys import CHECKS_VERSION

SEED_PATH = Path("shared") / "reference" / "seed-digest.md"


def find_seed(start: Path) -> Path:
    """The seed digest in the nearest folder above ``start`` that has one (a checkout or a worktree beside it)."""
    found = (parent / SEED_PATH for parent in start.resolve().parents)
    return next((path for path in found if path.exists()), start.resolve().parents[2] / SEED_PATH)


DEFAULT_SEED = find_seed(Path(__file__))
_FOOTNOTE = re.compile(r"(?m)^\[\^([^\]]+)\]: ")
_TITLE_SUFFIX = re.compile(r"\s*\(arXiv:[^)]*\)\s*$")
_ABSTRACT_PREAMBLE = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s+Abstract:\s*")


@dataclass(frozen=True)
class Entry:
    label: str
    title: str
    abstract: str
    translated_title: str
    summary: str
    translated_abstract: str


def read_entries(text: str) -> list[Entry]:
    """The seed's footnotes as entries (paragraphs joined to single lines, blank ones dropped)."""
    entries = []
    parts = _FOOTNOTE.split(text)
    for label, body in zip(parts[1::2], parts[2::2], strict=True):
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", body)]
        paragraphs = [p for p in paragraphs if p]
        if len(paragraphs) != 6:
            raise SystemExit(f"footnote [^{label}]: expected 6 paragraphs, found {len(paragraphs)}")
        translated_title, title, _link, summary, translated_abstract, abstract = paragraphs
        entries.append(
            Entry(
                label=label,
                title=_TITLE_SUFFIX.sub("", title),
                abstract=_ABSTRACT_PREAMBLE.sub("", abstract),
                translated_title=translated_title,
                summary=summary,
                translated_abstract=translated_abstract,
            )
        )
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", nargs="?", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--language", default="zh")
    args = parser.parse_args()
    entries = read_entries(args.seed.read_text(encoding="utf-8"))
    print(f"checks version {CHECKS_VERSION}, language {args.language}, {len(entries)} entries from {args.seed}")
    failed = 0
    started = time.perf_counter()
    for entry in entries:
        reply = {"title": entry.translated_title, "summary": entry.summary, "abstract": entry.translated_abstract}
        problems = check_digest(entry.title, entry.abstract, reply, args.language)
        failed += bool(problems)
        verdict = "FAIL " + "; ".join(map(str, problems)) if problems else "pass"
        print(f"[^{entry.label}] {verdict}   {entry.title[:60]}")
    elapsed = time.perf_counter() - started
    ratios = [len(e.translated_abstract) / len(e.abstract) for e in entries if e.abstract]
    print(
        f"{len(entries) - failed}/{len(entries)} accepted in {elapsed * 1000:.0f} ms; abstract length ratio "
        f"min {min(ratios):.2f}, median {statistics.median(ratios):.2f}, max {max(ratios):.2f}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
