"""Detail for errors whose message the contract fixes word for word.

Code written for APScheduler compares some messages exactly (``str(exc) == "args must be a
non-string iterable"``), so those stay as they are, and what we know beyond them (the value that
was given, what would have worked) travels as a note on the exception (PEP 678): Python 3.11 and
later print notes under the message in every traceback, and pytest's ``match=`` reads them.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ("with_detail",)

_E = TypeVar("_E", bound=BaseException)


def with_detail(error: _E, detail: str) -> _E:
    """Attach ``detail`` to ``error`` as a note and return ``error`` (ready to raise)."""
    add_note = getattr(error, "add_note", None)
    if add_note is not None:
        add_note(detail)
    else:  # Python < 3.11: the same attribute, which tools that know PEP 678 read
        error.__notes__ = [*getattr(error, "__notes__", ()), detail]  # type: ignore[attr-defined]
    return error
