"""Job functions for the job store tests (stored as ``jobstores.jobfuncs:NAME``)."""

from __future__ import annotations

from typing import Any


def dummy_job(*args: Any, **kwargs: Any) -> None:
    """Does nothing."""


def other_job(*args: Any, **kwargs: Any) -> str:
    """Returns a constant, to tell it apart from :func:`dummy_job`."""
    return "other"


class Owner:
    """Has a method to schedule (the instance is stored as the first argument)."""

    def __init__(self, value: int = 1) -> None:
        self.value = value

    def method(self) -> int:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Owner) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]
