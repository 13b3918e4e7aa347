"""Wake-ups: PostgreSQL notifications reach a listening store; local changes wake at once."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from quartzite.contrib.django import _wakeup


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_notification_committed_on_postgresql_reaches_the_listener(database: str) -> None:
    heard = threading.Event()
    listener = _wakeup.listener(database, heard.set)
    listener.start()
    try:
        assert heard.wait(10)  # the first call back, once it listens
        heard.clear()
        with transaction.atomic(using=database):
            _wakeup.notify(database)
        assert heard.wait(10)
    finally:
        listener.stop()


# on_commit callbacks run only on a real commit
@pytest.mark.django_db(transaction=True)
def test_a_change_in_this_process_wakes_registered_watchers_after_commit() -> None:
    calls: list[str] = []
    _wakeup.register(1, lambda: calls.append("woken"))
    try:
        with transaction.atomic(using="default"):
            _wakeup.notify("default")
            before_commit = len(calls)
        assert before_commit == 1 and len(calls) == 2
    finally:
        _wakeup.unregister(1)
