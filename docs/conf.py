"""Sphinx configuration for the quartzite docs (``nox -s docs`` builds them, warnings as errors)."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from pathlib import Path

# Document the source tree even when quartzite is not installed (nox installs it anyway).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

project = "quartzite"
author = "The quartzite developers"
copyright = "the quartzite developers"
try:
    release = distribution_version("quartzite")
except PackageNotFoundError:
    release = "0.0.0"
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc"]  # docstrings use reST field lists (:param x:), no napoleon

# Optional integrations are imported only by their own modules; mock them so the reference builds
# without every extra installed.
autodoc_mock_imports = [
    "django",
    "gevent",
    "psycopg",
    "pymysql",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "redis",
    "sqlalchemy",
    "tornado",
    "twisted",
]
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autoclass_content = "both"

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {
    "description": "APScheduler 3.x's API, with correct cron maths, fast stores and more",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []
