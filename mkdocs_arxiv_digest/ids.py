"""arXiv identifiers: every form users paste, reduced to one canonical form.

Accepted: ``2403.16584``, ``2403.16584v2``, ``arXiv:2403.16584``,
``https://arxiv.org/abs/2403.16584``, ``https://arxiv.org/pdf/2403.16584v2.pdf``,
and old-style ``hep-th/9901001`` / ``math.GT/0309136`` in the same dressings.

Validation happens here, before any request: arXiv answers a single malformed ID
in an ``id_list`` with HTTP 400 for the whole batch.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mkdocs_arxiv_digest.errors import InvalidIdError

# New style (2007-04 on): YYMM.NNNN until 1412, YYMM.NNNNN from 1501.
_NEW = r"(?P<yymm>\d{4})\.(?P<number>\d{4,5})"
# Old style (before 2007-04): archive[.SUBJECT]/YYMMNNN.
_OLD = r"(?P<archive>[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?)/(?P<old_number>\d{7})"
_ID = re.compile(rf"^(?:{_NEW}|{_OLD})(?:v(?P<version>[1-9]\d*))?$")
_PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)
_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<id>.+?)"
    r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)

ABS_URL = "https://arxiv.org/abs/{}"


class ArxivId(NamedTuple):
    """A validated arXiv identifier; ``version`` is None when the user asked for the latest.

    A named tuple rather than a dataclass: it is a dict key on every hot path, and a
    tuple hashes in C.
    """

    base: str
    version: int | None = None

    def __str__(self) -> str:
        return self.base if self.version is None else f"{self.base}v{self.version}"

    @property
    def url(self) -> str:
        """The abstract page on arxiv.org (of this exact version, if one was asked for)."""
        return ABS_URL.format(self)


def parse_id(text: str) -> ArxivId:
    """Parse one identifier in any accepted form; raise `InvalidIdError` saying why not."""
    raw = text.strip()
    if not raw:
        raise InvalidIdError(text, "empty identifier")
    candidate = raw
    url = _URL.match(candidate)
    candidate = url.group("id") if url else _PREFIX.sub("", candidate)
    match = _ID.match(candidate)
    if not match:
        raise InvalidIdError(
            raw,
            "not an arXiv identifier (expected e.g. 2403.16584, arXiv:2403.16584v2, "
            "https://arxiv.org/abs/2403.16584 or hep-th/9901001)",
        )
    version = int(match.group("version")) if match.group("version") else None
    if match.group("yymm"):
        yymm, number = match.group("yymm"), match.group("number")
        if not 1 <= int(yymm[2:]) <= 12 or int(yymm) < 704:
            raise InvalidIdError(raw, f"{yymm} is not a valid year and month for a new-style arXiv identifier")
        digits = 5 if int(yymm) >= 1501 else 4
        if len(number) != digits:
            raise InvalidIdError(raw, f"identifiers from {yymm} have {digits} digits after the dot")
        return ArxivId(f"{yymm}.{number}", version)
    number = match.group("old_number")
    yymm = int(number[:4])
    if not 1 <= yymm % 100 <= 12 or 703 < yymm < 9107:
        raise InvalidIdError(
            raw, f"{number[:4]} is not a year and month of an old-style identifier (1991-08 to 2007-03)"
        )
    # `math.GT/0309136` names the paper arXiv knows (and answers) as `math/0309136`.
    archive = match.group("archive").split(".")[0]
    return ArxivId(f"{archive}/{number}", version)
