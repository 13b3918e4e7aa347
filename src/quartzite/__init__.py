"""quartzite: in-process job scheduling.

The version attributes are computed on first access so that importing the package stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ("__version__", "release", "version", "version_info")


def _read_release() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("quartzite").split("-", 1)[0]
    except PackageNotFoundError:
        return "3.5.0"


def __getattr__(name: str) -> Any:
    if name in ("release", "version_info", "version", "__version__"):
        release = _read_release()
        version_info = tuple(int(part) if part.isdigit() else part for part in release.split("."))
        version = ".".join(str(part) for part in version_info[:3])
        globals().update(
            release=release, version_info=version_info, version=version, __version__=version
        )
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
