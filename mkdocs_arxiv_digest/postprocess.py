"""The Python-Markdown side of `fragments`: after every other extension, the digests' text goes in.

Kept apart from `fragments` so that what never converts a page (the command line's
`render`, Sphinx) does not import Python-Markdown.
"""

from __future__ import annotations

from markdown import Markdown
from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor

from mkdocs_arxiv_digest.fragments import Fragments, MathFormat

ARITHMATEX = "pymdownx.arithmatex"


def math_format(md: Markdown) -> MathFormat | None:
    """How arithmatex writes inline math in ``md``, or None where the page renders no math."""
    for extension in md.registeredExtensions:
        if type(extension).__module__ == ARITHMATEX:
            config = extension.getConfigs()
            wrap = config.get("tex_inline_wrap") or ("\\(", "\\)")
            return MathFormat(bool(config.get("generic")), (str(wrap[0]), str(wrap[1])))
    return None


class FragmentsExtension(Extension):
    """Puts the HTML of a `Fragments`' texts in place of their tokens, after every other extension."""

    def __init__(self, fragments: Fragments) -> None:
        super().__init__()
        self.fragments = fragments

    def extendMarkdown(self, md: Markdown) -> None:
        md.postprocessors.register(_Resolve(md, self.fragments), "arxiv-digest-fragments", -100)


class _Resolve(Postprocessor):
    def __init__(self, md: Markdown, fragments: Fragments) -> None:
        super().__init__(md)
        self.fragments = fragments

    def run(self, text: str) -> str:
        return self.fragments.resolve(text, math_format(self.md))
