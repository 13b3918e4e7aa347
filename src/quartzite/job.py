"""The Job: one scheduled call of a function, as data that a job store can keep."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MethodType
from typing import TYPE_CHECKING, Any, Callable

from .triggers.base import BaseTrigger
from .util import (
    check_callable_args,
    convert_to_datetime,
    datetime_repr,
    get_callable_name,
    obj_to_ref,
    ref_to_obj,
)

if TYPE_CHECKING:
    from .schedulers.base import BaseScheduler

__all__ = ("Job",)

_MODIFIABLE_ORDER = (
    "id",
    "func",
    "args",
    "kwargs",
    "name",
    "misfire_grace_time",
    "coalesce",
    "max_instances",
    "trigger",
    "executor",
    "next_run_time",
)


class Job:
    """A scheduled call: the options given when scheduling a callable, and its current schedule.

    Jobs are created by the scheduler (:meth:`~quartzite.schedulers.base.BaseScheduler.add_job`);
    never instantiate this class directly.

    :var str id: the unique identifier of this job
    :var str name: the description of this job
    :var func: the callable to execute
    :var tuple|list args: positional arguments to the callable
    :var dict kwargs: keyword arguments to the callable
    :var bool coalesce: whether to only run the job once when several run times are due
    :var trigger: the trigger object that controls the schedule of this job
    :var str executor: the name of the executor that will run this job
    :var int misfire_grace_time: the time (in seconds) how much this job's execution is allowed to
        be late (``None`` means "allow the job to run no matter how late it is")
    :var int max_instances: the maximum number of concurrently executing instances allowed
    :var datetime.datetime next_run_time: the next scheduled run time of this job

    .. note:: The ``id`` of a job cannot be changed once it is set.
    """

    __slots__ = (
        "__weakref__",
        "_jobstore_alias",
        "_scheduler",
        "args",
        "coalesce",
        "executor",
        "func",
        "func_ref",
        "id",
        "kwargs",
        "max_instances",
        "misfire_grace_time",
        "name",
        "next_run_time",
        "trigger",
    )

    if TYPE_CHECKING:
        _jobstore_alias: str | None
        _scheduler: BaseScheduler | None
        args: tuple[Any, ...]
        coalesce: bool
        executor: str
        func: Callable[..., Any]
        func_ref: str | None
        id: str
        kwargs: dict[str, Any]
        max_instances: int
        misfire_grace_time: int | None
        name: str
        next_run_time: datetime | None
        trigger: BaseTrigger

    def __init__(self, scheduler: BaseScheduler | None, id: str | None = None, **kwargs: Any):
        super().__init__()
        self._scheduler = scheduler
        self._jobstore_alias = None
        if not id:
            from uuid import uuid4  # uuid imports platform: keep it out of import time

            id = uuid4().hex
        self._modify(id=id, **kwargs)

    def modify(self, **changes: Any) -> Job:
        """Make the given changes to this job and save it in the associated job store.

        Accepted keyword arguments are the same as the attributes of this class.

        .. seealso:: :meth:`~quartzite.schedulers.base.BaseScheduler.modify_job`

        :return: this job instance
        """
        self._require_scheduler().modify_job(self.id, self._jobstore_alias, **changes)
        return self

    def reschedule(self, trigger: Any, **trigger_args: Any) -> Job:
        """Shortcut for switching the trigger on this job.

        .. seealso:: :meth:`~quartzite.schedulers.base.BaseScheduler.reschedule_job`

        :return: this job instance
        """
        self._require_scheduler().reschedule_job(
            self.id, self._jobstore_alias, trigger, **trigger_args
        )
        return self

    def pause(self) -> Job:
        """Temporarily suspend the execution of this job.

        .. seealso:: :meth:`~quartzite.schedulers.base.BaseScheduler.pause_job`

        :return: this job instance
        """
        self._require_scheduler().pause_job(self.id, self._jobstore_alias)
        return self

    def resume(self) -> Job:
        """Resume the schedule of this job if previously paused.

        .. seealso:: :meth:`~quartzite.schedulers.base.BaseScheduler.resume_job`

        :return: this job instance
        """
        self._require_scheduler().resume_job(self.id, self._jobstore_alias)
        return self

    def remove(self) -> None:
        """Unschedule this job and remove it from its associated job store.

        .. seealso:: :meth:`~quartzite.schedulers.base.BaseScheduler.remove_job`
        """
        self._require_scheduler().remove_job(self.id, self._jobstore_alias)

    @property
    def pending(self) -> bool:
        """``True`` if the job is waiting for the scheduler to start and add it to a store."""
        return self._jobstore_alias is None

    def _require_scheduler(self) -> BaseScheduler:
        scheduler = self._scheduler
        if scheduler is None:
            raise RuntimeError(f"Job {self.id!r} is not attached to a scheduler")
        return scheduler

    def _get_run_times(self, now: datetime) -> list[datetime]:
        """Compute the scheduled run times between ``next_run_time`` and ``now`` (inclusive)."""
        run_times: list[datetime] = []
        next_run_time = self.next_run_time
        # Compare instants: two aware datetimes sharing a tzinfo are compared by wall time,
        # which ignores ``fold`` and misorders the repeated hour of a DST change.
        now_timestamp = now.timestamp()
        while next_run_time is not None and next_run_time.timestamp() <= now_timestamp:
            run_times.append(next_run_time)
            next_run_time = self.trigger.get_next_fire_time(next_run_time, now)
        return run_times

    def _modify(self, **changes: Any) -> None:
        """Validate all ``changes``, then apply them all (or none, if any is invalid)."""
        approved: dict[str, Any] = {}

        if "id" in changes:
            value = changes.pop("id")
            if not isinstance(value, str):
                raise TypeError("id must be a nonempty string")
            if hasattr(self, "id"):
                raise ValueError("The job ID may not be changed")
            approved["id"] = value

        if "func" in changes or "args" in changes or "kwargs" in changes:
            func = changes.pop("func") if "func" in changes else self.func
            args = changes.pop("args") if "args" in changes else self.args
            kwargs = changes.pop("kwargs") if "kwargs" in changes else self.kwargs

            if isinstance(func, str):
                func_ref: str | None = func
                func = ref_to_obj(func)
            elif callable(func):
                try:
                    func_ref = obj_to_ref(func)
                except ValueError:
                    func_ref = None  # the job can run, but not be serialized
            else:
                raise TypeError("func must be a callable or a textual reference to one")

            if not hasattr(self, "name") and changes.get("name") is None:
                changes["name"] = get_callable_name(func)

            # The exact-type checks spare the (slow) ABC checks in the common case.
            if type(args) not in (tuple, list) and (
                isinstance(args, str) or not isinstance(args, Iterable)
            ):
                raise TypeError("args must be a non-string iterable")
            if type(kwargs) is not dict and (
                isinstance(kwargs, str) or not isinstance(kwargs, Mapping)
            ):
                raise TypeError("kwargs must be a dict-like object")

            check_callable_args(func, args, kwargs)

            approved["func"] = func
            approved["func_ref"] = func_ref
            approved["args"] = args
            approved["kwargs"] = kwargs

        if "name" in changes:
            value = changes.pop("name")
            if not value or not isinstance(value, str):
                raise TypeError("name must be a nonempty string")
            approved["name"] = value

        if "misfire_grace_time" in changes:
            value = changes.pop("misfire_grace_time")
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise TypeError("misfire_grace_time must be either None or a positive integer")
            approved["misfire_grace_time"] = value

        if "coalesce" in changes:
            approved["coalesce"] = bool(changes.pop("coalesce"))

        if "max_instances" in changes:
            value = changes.pop("max_instances")
            if not isinstance(value, int) or value <= 0:
                raise TypeError("max_instances must be a positive integer")
            approved["max_instances"] = value

        if "trigger" in changes:
            trigger = changes.pop("trigger")
            if not isinstance(trigger, BaseTrigger):
                raise TypeError(
                    f"Expected a trigger instance, got {trigger.__class__.__name__} instead"
                )
            approved["trigger"] = trigger

        if "executor" in changes:
            value = changes.pop("executor")
            if not isinstance(value, str):
                raise TypeError("executor must be a string")
            approved["executor"] = value

        if "next_run_time" in changes:
            value = changes.pop("next_run_time")
            scheduler_tz = self._scheduler.timezone if self._scheduler is not None else None
            approved["next_run_time"] = convert_to_datetime(value, scheduler_tz, "next_run_time")

        if changes:
            raise AttributeError(
                "The following are not modifiable attributes of Job: " + ", ".join(changes)
            )

        for key, value in approved.items():
            setattr(self, key, value)

    def __getstate__(self) -> dict[str, Any]:
        if not self.func_ref:
            raise ValueError(
                f"This Job cannot be serialized since the reference to its callable ({self.func!r})"
                " could not be determined. Consider giving a textual reference (module:function "
                "name) instead."
            )

        # A bound method of an instance is stored as the unbound function plus the instance
        # as the first positional argument.
        args = self.args
        func = self.func
        if (
            isinstance(func, MethodType)
            and not isinstance(func.__self__, type)
            and obj_to_ref(func) == self.func_ref
        ):
            args = (func.__self__, *tuple(args))

        return {
            "version": 1,
            "id": self.id,
            "func": self.func_ref,
            "trigger": self.trigger,
            "executor": self.executor,
            "args": args,
            "kwargs": self.kwargs,
            "name": self.name,
            "misfire_grace_time": self.misfire_grace_time,
            "coalesce": self.coalesce,
            "max_instances": self.max_instances,
            "next_run_time": self.next_run_time,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version", 1) > 1:
            raise ValueError(
                f"Job has version {state['version']}, but only version 1 can be handled"
            )

        self.id = state["id"]
        self.func_ref = state["func"]
        self.func = ref_to_obj(self.func_ref)
        self.trigger = state["trigger"]
        self.executor = state["executor"]
        self.args = state["args"]
        self.kwargs = state["kwargs"]
        self.name = state["name"]
        self.misfire_grace_time = state["misfire_grace_time"]
        self.coalesce = state["coalesce"]
        self.max_instances = state["max_instances"]
        self.next_run_time = state["next_run_time"]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Job):
            return self.id == other.id
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Job (id={self.id} name={self.name})>"

    def __str__(self) -> str:
        if hasattr(self, "next_run_time"):
            if self.next_run_time:
                status = "next run at: " + datetime_repr(self.next_run_time)
            else:
                status = "paused"
        else:
            status = "pending"
        return f"{self.name} (trigger: {self.trigger}, {status})"
