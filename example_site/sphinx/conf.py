"""The example site again, in Sphinx: the same reading list from the same committed snapshot.

Build it with `sphinx-build -W example_site/sphinx example_site/sphinx/_build/html`: no
network and no API key are needed, as on Read the Docs. Set ARXIV_DIGEST_OFFLINE=false
(and OPENAI_API_KEY) to add papers the snapshot does not hold.
"""

import os

project = "论文速递 · arxiv-digest 示例（Sphinx）"
extensions = ["mkdocs_arxiv_digest.sphinx", "myst_parser"]
language = "zh_CN"
exclude_patterns = ["_build", ".cache"]
html_theme = "alabaster"

# The snapshot's digests are in `zh`; Sphinx's locale is `zh_CN`.
arxiv_digest_language = "zh"
arxiv_digest_snapshot = "../arxiv-digest-snapshot.yml"
arxiv_digest_offline = os.environ.get("ARXIV_DIGEST_OFFLINE", "true") != "false"
