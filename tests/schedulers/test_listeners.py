"""The listener hub (``schedulers/_listeners.py``): registration, masks and safe delivery."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from quartzite.events import (
    EVENT_JOB_ADDED,
    EVENT_JOB_REMOVED,
    EVENT_SCHEDULER_STARTED,
    SchedulerEvent,
)
from quartzite.schedulers._listeners import ListenerHub

LOGGER = logging.getLogger("quartzite.test.listeners")


@pytest.fixture
def hub() -> ListenerHub:
    return ListenerHub(threading.RLock())


def test_an_event_reaches_the_listeners_whose_mask_has_its_code(hub: ListenerHub) -> None:
    got: list[tuple[str, int]] = []
    hub.add(lambda event: got.append(("jobs", event.code)), EVENT_JOB_ADDED | EVENT_JOB_REMOVED)
    hub.add(lambda event: got.append(("start", event.code)), EVENT_SCHEDULER_STARTED)

    hub.dispatch(SchedulerEvent(EVENT_JOB_ADDED), LOGGER)
    hub.dispatch(SchedulerEvent(EVENT_SCHEDULER_STARTED), LOGGER)

    assert got == [("jobs", EVENT_JOB_ADDED), ("start", EVENT_SCHEDULER_STARTED)]


def test_wants_tells_whether_any_mask_covers_a_code(hub: ListenerHub) -> None:
    assert not hub.wants(EVENT_JOB_ADDED)
    hub.add(print, EVENT_JOB_ADDED)
    assert hub.wants(EVENT_JOB_ADDED)
    assert not hub.wants(EVENT_JOB_REMOVED)


def test_remove_forgets_every_registration_of_an_equal_callback(hub: ListenerHub) -> None:
    class Owner:
        def listen(self, event: Any) -> None:
            pass

    owner = Owner()
    hub.add(owner.listen, EVENT_JOB_ADDED)
    hub.add(print, EVENT_JOB_ADDED)
    hub.add(owner.listen, EVENT_JOB_REMOVED)
    listeners = hub.listeners

    hub.remove(owner.listen)  # a new bound method object, equal to the registered ones

    assert hub.listeners == [(print, EVENT_JOB_ADDED)]
    assert hub.listeners is listeners  # changed in place: a view held elsewhere stays valid


def test_a_listener_that_raises_is_logged_and_the_others_still_hear(
    hub: ListenerHub, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[int] = []

    def broken(event: Any) -> None:
        raise RuntimeError("listener bug")

    hub.add(broken, EVENT_JOB_ADDED)
    hub.add(lambda event: got.append(event.code), EVENT_JOB_ADDED)

    hub.dispatch(SchedulerEvent(EVENT_JOB_ADDED), LOGGER)

    assert got == [EVENT_JOB_ADDED]
    [record] = caplog.records
    assert record.name == LOGGER.name and record.message == "Error notifying listener"


def test_a_listener_may_remove_itself_while_being_called(hub: ListenerHub) -> None:
    calls: list[int] = []

    def once(event: Any) -> None:
        calls.append(event.code)
        hub.remove(once)

    hub.add(once, EVENT_JOB_ADDED)
    hub.dispatch(SchedulerEvent(EVENT_JOB_ADDED), LOGGER)
    hub.dispatch(SchedulerEvent(EVENT_JOB_ADDED), LOGGER)

    assert calls == [EVENT_JOB_ADDED]
