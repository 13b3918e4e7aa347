"""Fixtures for the tests of ``BaseScheduler`` (helpers are in ``support.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from quartzite.events import EVENT_ALL
from support import DummyScheduler, EventRecorder


@pytest.fixture
def scheduler(freeze_time: Any, timezone: Any) -> Iterator[DummyScheduler]:
    """A stopped DummyScheduler in Europe/Berlin on the fake clock (shut down afterwards)."""
    scheduler = DummyScheduler(timezone=timezone)
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


@pytest.fixture
def recorder(scheduler: DummyScheduler) -> EventRecorder:
    """An EventRecorder listening to every event of ``scheduler``."""
    listener = EventRecorder()
    scheduler.add_listener(listener, EVENT_ALL)
    return listener
