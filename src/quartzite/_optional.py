"""The error raised when an optional third-party package (an "extra") is missing."""

from __future__ import annotations

import sys

__all__ = ("missing_dependency",)


def missing_dependency(message: str, extra: str, cause: ImportError) -> ModuleNotFoundError:
    """Build the error to raise (``from cause``) when an optional package cannot be imported.

    ``str()`` of the error is exactly ``message`` (the API contract's text, which users' code and
    tests compare); the extra to install is attached as a note, which tracebacks show on Python
    3.11+ (and pytest on every version).

    :param message: the contract's message, e.g. ``"GeventScheduler requires gevent installed"``
    :param extra: the name of the quartzite extra that installs the package, e.g. ``"gevent"``
    :param cause: the original import error
    """
    error = ModuleNotFoundError(message, name=cause.name)
    hint = f"Install it with: pip install quartzite[{extra}]"
    if sys.version_info >= (3, 11):
        error.add_note(hint)
    else:  # pragma: no cover - exercised on Python < 3.11 only
        setattr(error, "__notes__", [hint])  # noqa: B010  (no add_note() before 3.11)
    return error
