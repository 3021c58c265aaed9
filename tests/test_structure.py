"""The package's shape, as contracts: front ends reach the build only through `Pipeline`,
one `Build` per build, the command line's `--version`, no module over 450 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from click.testing import CliRunner

from mkdocs_arxiv_digest import __version__
from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cli import main
from mkdocs_arxiv_digest.config import Settings, validated_options
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import DigestRequest
from mkdocs_arxiv_digest.pipeline import Pipeline

PACKAGE = Path(__file__).parent.parent / "mkdocs_arxiv_digest"
FRONT_ENDS = ["plugin.py", "extension.py", "cli.py", *(f"sphinx/{p.name}" for p in (PACKAGE / "sphinx").glob("*.py"))]
BUILD_INTERNALS = {"resolver", "page_renderer", "metadata", "page_cache", "scan", "build"}


def imported_modules(path: Path) -> set[str]:
    """Every module of the package ``path`` imports, at any level (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name.removeprefix("mkdocs_arxiv_digest.") for name in names)
    return found


def test_front_ends_import_no_build_internals() -> None:
    assert len(FRONT_ENDS) > 4
    reaching_past = {
        front_end: sorted(imported_modules(PACKAGE / front_end) & BUILD_INTERNALS) for front_end in FRONT_ENDS
    }
    assert reaching_past == {front_end: [] for front_end in FRONT_ENDS}


def test_the_import_reader_sees_lazy_imports() -> None:
    """The contract above could not fail if the reader missed imports inside functions."""
    assert "pipeline" in imported_modules(PACKAGE / "cli.py")  # imported only inside `_pipeline`
    assert "page_renderer" in imported_modules(PACKAGE / "pipeline.py")  # only inside `renderer`


def test_no_module_is_over_450_lines() -> None:
    lengths = {str(path.relative_to(PACKAGE)): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert len(lengths) > 40  # the walk found the package, subpackages included
    assert {name: n for name, n in lengths.items() if n > 450} == {}


def test_each_build_starts_from_a_new_build_object(tmp_path: Path) -> None:
    settings = Settings.from_config(validated_options({"offline": True}), base_dir=tmp_path, default_language="en")
    with Pipeline(settings) as pipeline:
        first = pipeline.build
        first.shown[DigestRequest(parse_id("2403.16584"), "en", settings.model)] = True
        pipeline.begin_build()

        assert isinstance(pipeline.build, Build) and pipeline.build is not first
        assert pipeline.shown == {}


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])

    assert result.exit_code == 0, result.output
    assert result.output == f"arxiv-digest {__version__}\n"
