"""Is a model's reply acceptable? The checks a digest passes before it is shown as complete.

Pure: text in, problems out, each said in words that the model can act on when it is
fed back and that a reader of the build log understands ("summary is in English,
expected Chinese (Simplified)"). One module per kind:

- `language`: the summary, translated title and translated abstract are in the language
  asked for.
- `completeness`: the translated abstract is as long as a translation of the whole
  abstract would be, and keeps every inline math span.
- `content`: a translated title is translated; a summary is not the title, the
  instructions or a fragment.

`reply` puts them together for a whole reply (`check_digest`); `text` is how they all
read text. The checks favour accepting: a false alarm costs a retry and, after the last
one, a paper without a digest. Every threshold says how it was calibrated.

Imported only when a reply is checked (a warm build checks nothing): see
``tests/test_imports.py``.
"""

from __future__ import annotations

from mkdocs_arxiv_digest.checks.completeness import max_length_ratio
from mkdocs_arxiv_digest.checks.content import is_translated_title
from mkdocs_arxiv_digest.checks.problem import Problem
from mkdocs_arxiv_digest.checks.reply import check_digest

__all__ = ["Problem", "check_digest", "is_translated_title", "max_length_ratio"]
