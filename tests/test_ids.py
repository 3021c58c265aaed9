"""`parse_id`: every form users paste, reduced to one canonical ID and its abstract page."""

from __future__ import annotations

import pytest

from mkdocs_arxiv_digest.errors import InvalidIdError
from mkdocs_arxiv_digest.ids import ArxivId, parse_id


@pytest.mark.parametrize(
    ("text", "canonical", "url"),
    [
        # New style, five digits after the dot (2015 on).
        ("2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("2403.16584v2", "2403.16584v2", "https://arxiv.org/abs/2403.16584v2"),
        ("arXiv:2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("arxiv:2403.16584v2", "2403.16584v2", "https://arxiv.org/abs/2403.16584v2"),
        ("ARXIV:2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("arXiv: 2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("  2403.16584\t", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("1501.00001", "1501.00001", "https://arxiv.org/abs/1501.00001"),
        # URLs: abs, pdf (with and without `.pdf`), html, the export and www hosts.
        ("https://arxiv.org/abs/2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("http://arxiv.org/abs/2402.19379v2", "2402.19379v2", "https://arxiv.org/abs/2402.19379v2"),
        ("https://arxiv.org/pdf/2309.12284", "2309.12284", "https://arxiv.org/abs/2309.12284"),
        ("https://arxiv.org/pdf/2309.12284v1.pdf", "2309.12284v1", "https://arxiv.org/abs/2309.12284v1"),
        ("https://arxiv.org/html/2403.16584v1", "2403.16584v1", "https://arxiv.org/abs/2403.16584v1"),
        ("https://export.arxiv.org/abs/2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("https://www.arxiv.org/abs/2403.16584v3", "2403.16584v3", "https://arxiv.org/abs/2403.16584v3"),
        ("arxiv.org/abs/2403.16584", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("https://arxiv.org/abs/2403.16584/", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("https://arxiv.org/abs/2403.16584?context=cs", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        ("https://arxiv.org/abs/2403.16584#S2", "2403.16584", "https://arxiv.org/abs/2403.16584"),
        # Old style (before 2007-04): archive[.SUBJECT]/YYMMNNN.
        ("hep-th/9901001", "hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001"),
        ("math.GT/0309136v2", "math/0309136v2", "https://arxiv.org/abs/math/0309136v2"),
        ("q-bio.NC/0401001", "q-bio/0401001", "https://arxiv.org/abs/q-bio/0401001"),
        ("physics/9901001", "physics/9901001", "https://arxiv.org/abs/physics/9901001"),
        ("arXiv:hep-th/9901001", "hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001"),
        ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136", "https://arxiv.org/abs/math/0309136"),
        ("https://arxiv.org/pdf/hep-th/9901001v1.pdf", "hep-th/9901001v1", "https://arxiv.org/abs/hep-th/9901001v1"),
        # New style, four digits after the dot (2007-04 to 2014-12).
        ("0704.0001", "0704.0001", "https://arxiv.org/abs/0704.0001"),
        ("1412.8000", "1412.8000", "https://arxiv.org/abs/1412.8000"),
        ("arXiv:0704.0001v1", "0704.0001v1", "https://arxiv.org/abs/0704.0001v1"),
    ],
)
def test_accepted_forms(text: str, canonical: str, url: str) -> None:
    arxiv_id = parse_id(text)
    assert str(arxiv_id) == canonical
    assert arxiv_id.url == url


@pytest.mark.parametrize(
    ("text", "base", "version"),
    [
        ("2403.16584", "2403.16584", None),
        ("https://arxiv.org/pdf/2309.12284v12.pdf", "2309.12284", 12),
        ("math.GT/0309136v2", "math/0309136", 2),
    ],
)
def test_version_is_split_off(text: str, base: str, version: int | None) -> None:
    assert parse_id(text) == ArxivId(base, version)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "not an arXiv identifier"),
        ("2403.1658", "identifiers from 2403 have 5 digits after the dot"),
        ("1412.80001", "identifiers from 1412 have 4 digits after the dot"),
        ("arXiv:", "not an arXiv identifier"),
        ("", "empty identifier"),
        ("   ", "empty identifier"),
        ("2413.12345", "2413 is not a valid year and month"),
        ("2400.12345", "2400 is not a valid year and month"),
        ("0612.1234", "0612 is not a valid year and month"),
        ("hep-th/99010", "not an arXiv identifier"),
        ("hep-th/9913001", "9913 is not a year and month of an old-style identifier"),
        ("hep-th/0801001", "0801 is not a year and month of an old-style identifier"),
        ("hep-th/9001001", "9001 is not a year and month of an old-style identifier"),
        ("https://example.com/abs/2403.16584", "not an arXiv identifier"),
        ("https://arxiv.org.example.com/abs/2403.16584", "not an arXiv identifier"),
        ("https://arxiv.org/list/2403.16584", "not an arXiv identifier"),
        ("2403.16584v0", "not an arXiv identifier"),
        ("2403.16584v", "not an arXiv identifier"),
        ("2403.165840", "not an arXiv identifier"),
        ("2403.16584 2403.16585", "not an arXiv identifier"),
    ],
)
def test_malformed_ids_are_rejected_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        parse_id(text)
    assert reason in caught.value.reason
    # The message names what the user wrote, so they can find it on the page.
    assert caught.value.text.strip() == text.strip()
    assert reason in str(caught.value)
