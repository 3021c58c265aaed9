"""`python -m mkdocs_arxiv_digest` is the `arxiv-digest` command."""

from mkdocs_arxiv_digest.cli import main

main()
