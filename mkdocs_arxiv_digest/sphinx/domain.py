"""Per-document state, kept the Sphinx way: in a Domain, pickled with the environment.

Sphinx calls `clear_doc` when a document is read again or removed, and
`merge_domaindata` when a parallel reader hands back its documents, so neither is
wired by hand.
"""

from __future__ import annotations

import time
from collections.abc import Set
from typing import TYPE_CHECKING, Any

from sphinx.domains import Domain

from mkdocs_arxiv_digest.layout import FootnoteLabels

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

DOMAIN = "arxiv_digest"


class ArxivDigestDomain(Domain):
    """Each document's footnote labels, and when to read it again."""

    name = DOMAIN
    label = "arXiv digest"
    initial_data = {"labels": {}, "reread": {}}  # noqa: RUF012  (as Sphinx declares it; copied per environment)
    data_version = 1

    @property
    def labels(self) -> dict[str, FootnoteLabels]:
        """The footnote labels of each document read, by name (one footnote per paper and language)."""
        labels: dict[str, FootnoteLabels] = self.data["labels"]
        return labels

    @property
    def reread(self) -> dict[str, float]:
        """Documents to read again, by name: when (epoch seconds; 0 for the next build)."""
        reread: dict[str, float] = self.data["reread"]
        return reread

    def labels_of(self, docname: str) -> FootnoteLabels:
        return self.labels.setdefault(docname, FootnoteLabels())

    def read_again(self, docname: str, when: float) -> None:
        """Read ``docname`` again at ``when`` (or sooner, if already due sooner)."""
        self.reread[docname] = min(when, self.reread.get(docname, float("inf")))

    def clear_doc(self, docname: str) -> None:
        """Forget what a document showed: it is read again, or gone."""
        self.labels.pop(docname, None)
        self.reread.pop(docname, None)

    def merge_domaindata(self, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        """Take what a parallel reader noted about its documents."""
        for key in ("labels", "reread"):
            self.data[key].update((name, value) for name, value in otherdata[key].items() if name in docnames)


def due_for_reading(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Unchanged documents to read again: incomplete digests, metadata due a refresh (``env-get-outdated``)."""
    domain = env.get_domain(DOMAIN)
    assert isinstance(domain, ArxivDigestDomain)
    now = time.time()
    return [
        docname
        for docname, due in domain.reread.items()
        if due <= now and docname in env.found_docs and docname not in removed
    ]
