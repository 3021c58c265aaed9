"""What a check says about a reply: the field it is about and, in words, what to fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Why one field of a reply is not acceptable."""

    field: str
    """``title``, ``summary`` or ``abstract``."""
    reason: str
    """In words, starting with the field: ``summary is in English, expected German``."""

    def __str__(self) -> str:
        return self.reason
