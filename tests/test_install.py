"""The package as a user gets it: sdist and wheel built as the release workflow builds them,
the wheel installed in a fresh virtual environment, and the example site built with it.

The sources are the files a commit of this checkout holds (tracked, plus untracked files
git does not ignore), copied out first: nothing in the checkout is built in or written to,
and nothing ignored (caches, a stale `build/`) can slip into the package.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # `build`, a test dependency, brings tomli there
    import tomli as tomllib

from tests.helpers import clean_env, made_once
from tests.html import read_digest

ROOT = Path(__file__).parent.parent
PACKAGE = "mkdocs_arxiv_digest"
DISTRIBUTION = "mkdocs-arxiv-digest"
SDIST_ROOT_FILES = {"PKG-INFO", "README.md", "pyproject.toml", "setup.cfg"}
"""What an sdist needs beside the package: metadata, the readme it describes, the build config."""
BUILD_FILES = {"MANIFEST.in"}
"""Build configuration an sdist carries when the project has it."""


@dataclass
class Dist:
    source: Path
    sdist: Path
    wheel: Path


def committed_files() -> list[str]:
    """Tracked files and untracked ones git does not ignore: what a commit of this checkout holds."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """An sdist, and a wheel built from that sdist (as `python -m build` does and the release workflow runs)."""
    built = made_once(tmp_path_factory, "dist", build_dist)
    [sdist], [wheel] = sorted((built / "out").glob("*.tar.gz")), sorted((built / "out").glob("*.whl"))
    return Dist(built / "mkdocs-arxiv-digest", sdist, wheel)


def build_dist(directory: Path) -> None:
    """A copy of what a commit holds in ``directory/mkdocs-arxiv-digest``, built into ``directory/out``."""
    source = directory / "mkdocs-arxiv-digest"
    for name in committed_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(directory / "out"), str(source)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, "`build` is a test dependency\n" + result.stdout + result.stderr


def licenses(source: Path) -> set[str]:
    return {
        path.name
        for path in source.iterdir()
        if path.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS"))
    }


def modules(source: Path) -> set[str]:
    """Every file of the package: modules, subpackages (`sphinx/`) included, and the stylesheet it ships."""
    package = source / PACKAGE
    return {path.relative_to(source).as_posix() for path in [*package.rglob("*.py"), *package.glob("assets/*.css")]}


def test_sdist_holds_the_package_and_nothing_else(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        top = dist.sdist.name.removesuffix(".tar.gz")
        names = {member.name.removeprefix(f"{top}/") for member in sdist.getmembers() if member.isfile()}
    egg_info = {name for name in names if name.startswith(f"{PACKAGE}.egg-info/")}
    built_with = {name for name in BUILD_FILES if (dist.source / name).is_file()}
    expected = SDIST_ROOT_FILES | built_with | licenses(dist.source) | modules(dist.source)

    # No tests (a part of the suite without its fixtures and fakes runs nowhere), no bench,
    # no example site, nothing a build or a test run leaves behind.
    assert names - egg_info == expected


def test_wheel_holds_the_package_its_entry_points_and_licence(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
        [info] = {name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA")}
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()

    assert {name for name in names if not name.startswith(info)} == modules(dist.source)
    assert {name.rsplit("/", 1)[-1] for name in names if name.startswith(f"{info}/licenses/")} == licenses(dist.source)
    for group, line in [
        ("mkdocs.plugins", "arxiv-digest = mkdocs_arxiv_digest.plugin:ArxivDigestPlugin"),
        ("markdown.extensions", "arxiv_digest = mkdocs_arxiv_digest.extension:ArxivDigestExtension"),
        ("console_scripts", "arxiv-digest = mkdocs_arxiv_digest.cli:main"),
    ]:
        assert line in entry_points.split(f"[{group}]")[1].split("[")[0]


def test_twine_accepts_both(dist: Dist) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, "`twine` is a test dependency\n" + result.stdout + result.stderr


def test_wheel_installs_in_a_fresh_venv_and_builds_the_example_site(dist: Dist, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # A venv of the base interpreter, none of this environment's packages: a missing
    # dependency fails here. It gets no pip of its own (ensurepip costs seconds); this
    # environment's pip installs into it, resolving against it alone.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python, bin_dir = venv / "bin/python", venv / "bin"
    env = {k: v for k, v in clean_env().items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-compile",
            "-q",
            dist.wheel,
            "mkdocs-material",
            "mkdocs-static-i18n",  # the example site is in two languages
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    where = subprocess.run(
        [python, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    cli = subprocess.run([bin_dir / "arxiv-digest", "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0 and "snapshot" in cli.stdout, cli.stderr

    site = tmp_path / "site"
    # A copy: the build writes its cache beside mkdocs.yml, and `dist.source` is shared by every test.
    example = shutil.copytree(dist.source / "example_site", tmp_path / "example_site")
    build = subprocess.run(
        [bin_dir / "mkdocs", "build", "--strict", "-f", str(example / "mkdocs.yml"), "-d", str(site)],
        cwd=tmp_path,
        env=env,  # no OPENAI_API_KEY: the example site builds from its snapshot
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert build.returncode == 0, build.stdout + build.stderr
    assert "8 papers: 8 from the snapshot, 0 cached, 0 generated, 0 failed; 0 arXiv requests" in build.stderr
    digest = read_digest((site / "index.html").read_text(encoding="utf-8"))
    assert len(digest.rows) == 8
    assert all(row.title_href.startswith("https://arxiv.org/abs/") and row.summary for row in digest.rows)
    # The stylesheet is package data: an install that lost it would build a site without it.
    assert "table[data-arxiv-digest]" in (site / "assets/stylesheets/arxiv-digest.css").read_text(encoding="utf-8")


def test_the_oldest_build_backend_declared_builds_the_wheel(dist: Dist, tmp_path: Path) -> None:
    source = shutil.copytree(dist.source, tmp_path / "source")
    pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    [setuptools] = [r for r in map(Requirement, pyproject["build-system"]["requires"]) if r.name == "setuptools"]
    [oldest] = [spec.version for spec in setuptools.specifier if spec.operator == ">="]
    constraints = tmp_path / "constraints.txt"
    # The release series the bound names (`>=77`: 77.x; 77.0.0 itself was withdrawn).
    constraints.write_text(f"setuptools=={oldest}.*\n", encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "out"), str(source)],
        env=clean_env(PIP_CONSTRAINT=str(constraints)),  # pip installs the build backend, pinned
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, f"setuptools {oldest} cannot build the package:\n" + result.stdout + result.stderr


def install_commands() -> list[tuple[str, str]]:
    """Every `pip install` the README and the workflows tell someone to run, with where it is written."""
    commands: list[tuple[str, str]] = []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL):
        commands += [("README.md", line) for line in block.splitlines() if "pip install" in line]
    for workflow in sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("example_site/.github/workflows/*.yml")]):
        where = str(workflow.relative_to(ROOT))
        commands += [
            (where, line) for line in workflow.read_text(encoding="utf-8").splitlines() if "pip install" in line
        ]
    return commands


def test_every_install_command_names_a_source_that_has_the_package() -> None:
    # Until the first release is on PyPI, the bare name installs nothing (or someone else's
    # package): the package comes from a git URL or a local path.
    wrong: list[str] = []
    for where, line in install_commands():
        for command in re.split(r"&&|;", line.split("run:", 1)[-1]):
            words = shlex.split(command, comments=True)
            if "install" not in words:
                continue
            for word in words[words.index("install") + 1 :]:
                name = re.split(r"[\[<>=@ ;]", word, maxsplit=1)[0]
                if name.lower().replace("_", "-") == DISTRIBUTION and " @ git+" not in word:
                    wrong.append(f"{where}: {line.strip()}")

    assert install_commands(), "the README says how to install"
    assert wrong == []
