"""Job functions and :func:`make_job`, the one way the tests build a :class:`Job` by hand.

The functions live in an importable module because some jobs leave the test's process or its
memory: the process pool spawns its workers, which import a job's function by its textual
reference (``support.jobs:add``), and the serialising stores keep that reference in their rows.
pytest puts the ``tests`` directory on ``sys.path`` (``tests/conftest.py`` is a rootdir
conftest and ``tests`` is not a package), and spawned workers inherit the parent's ``sys.path``,
so ``support.jobs`` imports the same way everywhere.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any

from quartzite.job import Job
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger

#: the textual reference of this module, as stores write it before ``:NAME``
MODULE_REF = __name__


def dummy_job(*args: Any, **kwargs: Any) -> Any:
    """Accepts anything and returns its arguments as ``(args, kwargs)``."""
    return args, kwargs


def other_job(*args: Any, **kwargs: Any) -> str:
    """Returns a constant, to tell it apart from :func:`dummy_job`."""
    return "other"


def no_args_job() -> str:
    """Takes no arguments (for the signature checks of ``add_job``)."""
    return "done"


def add(a: int, b: int) -> int:
    """Returns ``a + b``: a result the test can predict, computed wherever the job ran."""
    return a + b


def get_pid() -> int:
    """Returns the id of the process the job ran in."""
    return os.getpid()


def get_sys_path() -> list[str]:
    """Returns the ``sys.path`` of the process the job ran in."""
    return list(sys.path)


def fail(message: str) -> None:
    """Raises ``ValueError(message)``."""
    raise ValueError(message)


def exit_process() -> None:
    """Ends the process at once, without cleanup (in a pool worker, this breaks the pool)."""
    os._exit(1)


async def coroutine_job() -> None:
    """A coroutine function (which thread and process pools refuse)."""


class Owner:
    """Has a method to schedule (a bound method keeps its instance as the job's first argument)."""

    def __init__(self, value: int = 1) -> None:
        self.value = value

    def method(self) -> int:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Owner) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


#: the run date of the jobs :func:`make_job` builds when neither trigger nor date is given
#: (an arbitrary instant; the real clock is never read)
DEFAULT_RUN_DATE = datetime.fromisoformat("2021-06-01T12:00:00+02:00")

# The first fire time of the default job is computed as if "now" were this (long before any
# date a test uses), so it is the trigger's first fire time whatever the real clock says.
_LONG_AGO = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def make_job(
    scheduler: Any = None,
    func: Any = dummy_job,
    *,
    trigger: BaseTrigger | None = None,
    run_date: datetime | None = None,
    paused: bool = False,
    jobstore_alias: str | None = None,
    **options: Any,
) -> Job:
    """A :class:`Job` with every field set, as the scheduler would hand it to a store or executor.

    :param scheduler: the job's scheduler (``None`` for a job that never reaches one)
    :param func: the job's callable
    :param trigger: the trigger; by default a :class:`DateTrigger` at ``run_date``
        (``DEFAULT_RUN_DATE`` when not given)
    :param paused: make ``next_run_time`` ``None`` (when ``next_run_time`` is not given)
    :param jobstore_alias: the store the job is "in" (executors report it in their events);
        ``None`` leaves the job pending
    :param options: any other :class:`Job` field (``id``, ``name``, ``args``, ``kwargs``,
        ``executor``, ``misfire_grace_time``, ``coalesce``, ``max_instances``,
        ``next_run_time``), overriding the defaults: executor ``"default"``, no arguments,
        a one-second grace time, coalescing, one instance, and the trigger's first fire time
    """
    if trigger is None:
        trigger = DateTrigger(run_date or DEFAULT_RUN_DATE, timezone="Europe/Berlin")
    fields: dict[str, Any] = {
        "func": func,
        "trigger": trigger,
        "executor": "default",
        "args": (),
        "kwargs": {},
        "misfire_grace_time": 1,
        "coalesce": True,
        "max_instances": 1,
    }
    fields.update(options)
    if "next_run_time" not in fields:
        fields["next_run_time"] = None if paused else trigger.get_next_fire_time(None, _LONG_AGO)
    job = Job(scheduler, **fields)
    if jobstore_alias is not None:
        # Job has no public way to say which store holds it; _jobstore_alias is the
        # contract's name for it (API.md §10), which stores and the scheduler set
        job._jobstore_alias = jobstore_alias
    return job
