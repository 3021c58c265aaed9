"""The snapshot file is the person's: `save_snapshot` never loses what they wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mkdocs_arxiv_digest.errors import SnapshotError
from mkdocs_arxiv_digest.models import Digest, Paper
from mkdocs_arxiv_digest.snapshot import Snapshot, load_snapshot, save_snapshot

# As a person keeps it: their own header, their order (not sorted), comments between
# entries, an indented list, a folded abstract, a corrected translation.
HAND_KEPT = """\
# Reading group snapshot. Corrections by Ada, March 2024.
papers:
  # The one we discussed first.
  - id: "2403.16584"
    version: 1
    title: Distilling text
    authors: [Ada Lovelace]
    published: "2024-03-25"
    abstract: >-
      We distill
      text.
    digests:
      zh:
        model: written-by-hand
        title: 文本蒸馏
        summary: 一句话摘要（已人工校对）。
        abstract: 我们蒸馏文本。

  # Older, kept for reference.
  - id: "1412.6980"
    version: 9
    title: "Adam: A Method for Stochastic Optimization"
    authors: [Diederik P. Kingma, Jimmy Ba]
    published: "2014-12-22"
    abstract: We introduce Adam.
    digests:
      zh: {model: written-by-hand, title: Adam：一种随机优化方法, summary: 提出 Adam。, abstract: 我们提出 Adam。}
# End of the hand-kept part.
"""


def paper(paper_id: str, title: str, version: int = 1) -> Paper:
    return Paper(paper_id, version, title, f"Abstract of {title}.", ("Alan Turing",), "2024-03-01")


def digest(title: str, language: str = "zh") -> Digest:
    return Digest(language, "gpt-4.1-mini", f"[{language}] summary of {title}.", f"[{language}] {title}", "[zh] ...")


@pytest.fixture
def hand_kept(tmp_path: Path) -> Path:
    path = tmp_path / "papers.yml"
    path.write_text(HAND_KEPT, encoding="utf-8")
    return path


def test_a_file_edited_since_it_was_read_is_left_as_it_is(hand_kept: Path) -> None:
    snapshot = load_snapshot(hand_kept)
    snapshot.add(paper("2403.11894", "Explainable"), digest("Explainable"))
    # While `arxiv-digest snapshot` waits on the model, a person saves a correction.
    corrected = HAND_KEPT.replace("一句话摘要（已人工校对）。", "更好的一句话摘要。")
    hand_kept.write_text(corrected, encoding="utf-8")

    with pytest.raises(SnapshotError) as refused:
        save_snapshot(snapshot, hand_kept)

    assert "changed since it was read" in str(refused.value)
    assert "Re-run `arxiv-digest snapshot`" in str(refused.value)
    assert hand_kept.read_text(encoding="utf-8") == corrected
    assert os.listdir(hand_kept.parent) == ["papers.yml"]  # no temporary file left behind


def test_a_file_that_was_not_read_is_not_written_over(hand_kept: Path) -> None:
    snapshot = Snapshot()
    snapshot.add(paper("2403.11894", "Explainable"), digest("Explainable"))

    with pytest.raises(SnapshotError, match="changed since it was read"):
        save_snapshot(snapshot, hand_kept)

    assert hand_kept.read_text(encoding="utf-8") == HAND_KEPT


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_that_fails_half_way_leaves_the_old_file_whole(hand_kept: Path) -> None:
    # A file size limit makes the write fail after some bytes, as a full disk does.
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from mkdocs_arxiv_digest.errors import SnapshotError
        from mkdocs_arxiv_digest.models import Digest, Paper
        from mkdocs_arxiv_digest.snapshot import load_snapshot, save_snapshot

        path = Path({str(hand_kept)!r})
        snapshot = load_snapshot(path)
        for number in range(50):
            title = f"Paper {{number}} " + "with a long title " * 10
            snapshot.add(Paper(f"2403.{{10000 + number}}", 1, title, "An abstract. " * 50), Digest("zh", "m", "摘要"))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(HAND_KEPT.encode())}, resource.RLIM_INFINITY))
        try:
            save_snapshot(snapshot, path)
        except SnapshotError as error:
            sys.exit(str(error))
        """
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert hand_kept.read_text(encoding="utf-8") == HAND_KEPT
    assert os.listdir(hand_kept.parent) == ["papers.yml"]
    assert result.returncode == 1, result.stderr
    assert "could not write the snapshot" in result.stderr and "the file is unchanged" in result.stderr


def test_new_papers_are_appended_to_the_text_as_it_was(hand_kept: Path) -> None:
    snapshot = load_snapshot(hand_kept)
    # In the order the site shows them, which is not the IDs' order.
    snapshot.add(paper("2403.11894", "Explainable"), digest("Explainable"))
    snapshot.add(paper("2309.12284", "MetaMath"), digest("MetaMath"))

    save_snapshot(snapshot, hand_kept)

    text = hand_kept.read_text(encoding="utf-8")
    assert text.startswith(HAND_KEPT)  # every byte the person wrote, comments included
    assert text[len(HAND_KEPT) :].startswith("  - id: '2403.11894'\n    version: 1\n")  # the list's indentation
    again = load_snapshot(hand_kept)
    assert list(again.entries) == ["2403.16584", "1412.6980", "2403.11894", "2309.12284"]
    assert again.entries["2309.12284"].digests["zh"] == digest("MetaMath")


def test_a_new_language_keeps_the_order_and_the_leading_comment(hand_kept: Path) -> None:
    snapshot = load_snapshot(hand_kept)
    snapshot.add(snapshot.entries["1412.6980"].paper, digest("Adam", language="ja"))
    snapshot.add(paper("2403.11894", "Explainable"), digest("Explainable"))

    save_snapshot(snapshot, hand_kept)

    text = hand_kept.read_text(encoding="utf-8")
    assert text.startswith("# Reading group snapshot. Corrections by Ada, March 2024.\npapers:\n")
    again = load_snapshot(hand_kept)
    assert list(again.entries) == ["2403.16584", "1412.6980", "2403.11894"]
    assert list(again.entries["1412.6980"].digests) == ["zh", "ja"]
    assert again.entries["2403.16584"].digests["zh"].summary == "一句话摘要（已人工校对）。"
    assert again.entries["2403.16584"].paper.abstract == "We distill text."


def test_what_the_person_wrote_wins_over_what_is_added(hand_kept: Path) -> None:
    snapshot = load_snapshot(hand_kept)
    pinned = snapshot.entries["2403.16584"].paper
    os.utime(hand_kept, ns=(1_000_000_000, 1_000_000_000))

    # The same version, with arXiv's metadata and the model's text: neither replaces the person's.
    assert not snapshot.add(Paper(pinned.id, pinned.version, "Distilling Text (arXiv)", "Other."), digest("X"))
    save_snapshot(snapshot, hand_kept)

    assert hand_kept.read_text(encoding="utf-8") == HAND_KEPT
    assert hand_kept.stat().st_mtime_ns == 1_000_000_000  # not even rewritten
    # Another version replaces the entry, in its place.
    assert snapshot.add(paper("2403.16584", "Distilling text v2", version=2), digest("v2"))
    save_snapshot(snapshot, hand_kept)
    again = load_snapshot(hand_kept)
    assert list(again.entries) == ["2403.16584", "1412.6980"]
    assert again.entries["2403.16584"].paper.version == 2


def test_line_endings_and_permissions_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "papers.yml"
    path.write_bytes(HAND_KEPT.replace("\n", "\r\n").encode("utf-8"))
    path.chmod(0o640)
    snapshot = load_snapshot(path)
    snapshot.add(paper("2403.11894", "Explainable"), digest("Explainable"))

    save_snapshot(snapshot, path)

    data = path.read_bytes()
    assert data.startswith(HAND_KEPT.replace("\n", "\r\n").encode("utf-8"))
    assert data.count(b"\n") == data.count(b"\r\n")
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_new_file_is_written_in_reading_order(tmp_path: Path) -> None:
    path = tmp_path / "papers.yml"
    snapshot = load_snapshot(path)
    snapshot.add(paper("2403.16584", "Distilling text"), digest("Distilling text"))
    snapshot.add(paper("2309.12284", "MetaMath"), digest("MetaMath"))

    save_snapshot(snapshot, path)

    assert path.read_text(encoding="utf-8").startswith("# arxiv-digest snapshot")
    assert list(load_snapshot(path).entries) == ["2403.16584", "2309.12284"]
