"""``DummyScheduler`` lives in :mod:`support.schedulers`; this name stays for the modules that
still import it from here (tests/round_bounds_support.py)."""

from __future__ import annotations

from support.schedulers import DummyScheduler

__all__ = ["DummyScheduler"]
