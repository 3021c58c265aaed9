"""mkdocs-arxiv-digest: turn lists of arXiv IDs into digests of summaries and translations."""

__version__ = "0.1.0"
