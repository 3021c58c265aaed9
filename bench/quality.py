"""How well a model writes digests: the example site's papers, through the plugin's own model path.

    python bench/quality.py --base-url http://127.0.0.1:8011/v1 --model smollm2 --languages zh,en

For each language, every paper of the example site's snapshot (its English metadata; the
snapshot's own text is not used) is summarized by the plugin's `Summarizer` — the same
prompt, response-format negotiation, token bounds, checks and retries as a build — one
paper at a time, and the script prints: accepted on the first try, after retries, or
rejected; how often each kind of check failed; tokens and seconds per paper. The key comes
from OPENAI_API_KEY (any value for a local server). Nothing is cached.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mkdocs_arxiv_digest import llm
from mkdocs_arxiv_digest.errors import SummaryError
from mkdocs_arxiv_digest.snapshot import load_snapshot

SNAPSHOT = Path(__file__).resolve().parent.parent / "example_site" / "arxiv-digest-snapshot.yml"
# What a rejection was about, by the words the checks and the reply validation use.
KINDS = (
    ("language", ("is in ", "% in ", "expected ")),
    ("untranslated title", ("title is the original",)),
    ("echo or title", ("repeats (part of) the title", "repeats the instructions", "too short to say")),
    ("degenerate", ("repeats itself", "copies the abstract", "layout of the text", "not about this paper")),
    ("unfaithful", ("not a faithful translation", "title lost the name", "which the title and abstract do not")),
    ("length", ("too short", "too long", "longer than")),
    ("math", ("math",)),
    ("cut off", ("cut off",)),
    ("JSON form", ("JSON", "must be a non-empty string", "expected a JSON object", "no content", "refused")),
)


# The checks' problems are joined by "; ", each starting with its field.
_CHECKS = re.compile(r"; (?=`?(?:title|summary|abstract)\b)")


@dataclass
class Result:
    accepted_first: int = 0
    accepted_later: int = 0
    rejected: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    seconds: float = 0.0

    @property
    def papers(self) -> int:
        return self.accepted_first + self.accepted_later + self.rejected


def kind_of(problem: str) -> str:
    return next((kind for kind, words in KINDS if any(word in problem for word in words)), "other")


def evaluate(summarizer: llm.Summarizer, language: str, limit: int | None) -> Result:
    result = Result()
    problems: list[str] = []
    summarizer.on_rejected = problems.append
    entries = list(load_snapshot(SNAPSHOT).entries.values())[:limit]
    for entry in entries:
        problems.clear()
        before, start = summarizer.usage.prompt_tokens + summarizer.usage.completion_tokens, time.monotonic()
        try:
            summarizer.summarize(entry.paper, language)
        except SummaryError as error:
            result.rejected += 1
            reason = str(error)
        else:
            if problems:
                result.accepted_later += 1
            else:
                result.accepted_first += 1
            reason = "accepted"
        # A problem that joins several checks ("a; b") counts for each.
        result.failures.update(kind_of(part) for problem in problems for part in _CHECKS.split(problem))
        result.seconds += time.monotonic() - start
        result.tokens += summarizer.usage.prompt_tokens + summarizer.usage.completion_tokens - before
        print(f"  {language} {entry.paper.id}: {reason[:150]}", file=sys.stderr, flush=True)
    return result


def table(model: str, server: str, results: dict[str, Result]) -> str:
    kinds = sorted({kind for result in results.values() for kind in result.failures})
    head = ["language", "papers", "first try", "after retries", "rejected", *kinds, "tokens/paper", "s/paper"]
    lines = [f"model {model} at {server}", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for language, result in results.items():
        n = max(result.papers, 1)
        cells = [language, result.papers, result.accepted_first, result.accepted_later, result.rejected]
        cells += [result.failures[kind] for kind in kinds]
        cells += [round(result.tokens / n), f"{result.seconds / n:.1f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="the model server's OpenAI-compatible endpoint")
    parser.add_argument("--model", required=True)
    parser.add_argument("--languages", default="zh,en", help="comma-separated codes (default: zh,en)")
    parser.add_argument("--retries", type=int, default=2, help="invalid-reply retries, as the plugin's `retries`")
    parser.add_argument("--timeout", type=float, default=300.0, help="deadline per request, seconds")
    parser.add_argument("--papers", type=int, default=None, help="only the first N papers of the snapshot")
    args = parser.parse_args()
    os.environ.setdefault(llm.API_KEY_VARIABLE, "local")  # local servers take any key
    client = llm.make_client(base_url=args.base_url, timeout=args.timeout, retries=0)
    summarizer = llm.Summarizer(client, model=args.model, retries=args.retries)
    results = {language: evaluate(summarizer, language, args.papers) for language in args.languages.split(",")}
    print(table(args.model, args.base_url, results))
    print(f"response format used: {summarizer.server.format}; retries {args.retries}; timeout {args.timeout:g} s")


if __name__ == "__main__":
    main()
