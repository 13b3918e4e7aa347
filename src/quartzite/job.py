"""The Job: one scheduled call of a function, held as plain data that a job store can persist.

A job carries what to call (``func``, ``args``, ``kwargs``), when (``trigger`` and the stored
``next_run_time``), and how runs are handled (``executor``, ``max_instances``, ``coalesce``,
``misfire_grace_time``). Its methods are shortcuts to the scheduler that owns it; the schedule
arithmetic itself lives in :mod:`quartzite._schedule`.

Every change goes through ``Job._modify``, which checks each field with the rule in
``_FIELD_RULES`` (the callable and its arguments are checked together) and applies the changes
only once all of them passed. The pickled state is laid out by ``_STATE_LAYOUT``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MethodType
from typing import TYPE_CHECKING, Any, Callable

from ._detail import with_detail
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
    from ._protocols import SchedulerLike
    from .runs import JobRun

__all__ = ("Job",)

# ``Job._modify`` checks the id, then these three together, then ``_FIELD_RULES`` in order, then
# next_run_time: the contract's order, which decides the error a change with several bad fields
# reports.
_CALL_FIELDS = frozenset(("func", "args", "kwargs"))
_KEEP = object()  # "not in this change": None is a value a change may carry

# Pickled state, version 1: each key and the attribute it is read from / written to. The keys and
# their order are the contract's, so states written by either implementation load in the other.
_STATE_VERSION = 1
_STATE_LAYOUT = (
    ("id", "id"),
    ("func", "func_ref"),
    ("trigger", "trigger"),
    ("executor", "executor"),
    ("args", "args"),
    ("kwargs", "kwargs"),
    ("name", "name"),
    ("misfire_grace_time", "misfire_grace_time"),
    ("coalesce", "coalesce"),
    ("max_instances", "max_instances"),
    ("next_run_time", "next_run_time"),
)


def _shown(value: Any) -> str:
    """``"TYPE: REPR"``, the detail our validation errors append to the contract's message."""
    return f"{type(value).__name__}: {value!r}"


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and value > 0


def _check_name(value: Any) -> str:
    if isinstance(value, str) and value:
        return value
    raise with_detail(TypeError("name must be a nonempty string"), f"got {_shown(value)}")


def _check_misfire_grace_time(value: Any) -> int | None:
    if value is None or _is_positive_int(value):
        return value
    raise with_detail(
        TypeError("misfire_grace_time must be either None or a positive integer"),
        f"got {_shown(value)} (seconds a run may start late; None: no limit)",
    )


def _check_coalesce(value: Any) -> bool:
    # The contract takes any value for its truth (APScheduler does the same): no error here.
    return bool(value)


def _check_at_most_once(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"at_most_once must be True or False, got {_shown(value)}")
    return value


def _check_max_instances(value: Any) -> int:
    if _is_positive_int(value):
        return value
    raise with_detail(TypeError("max_instances must be a positive integer"), f"got {_shown(value)}")


def _check_trigger(value: Any) -> BaseTrigger:
    # The MRO test is done in C; isinstance on the ABC runs Python code, so it only serves the
    # rare classes registered as virtual subclasses.
    if BaseTrigger in type(value).__mro__ or isinstance(value, BaseTrigger):
        return value
    raise with_detail(
        TypeError(f"Expected a trigger instance, got {type(value).__name__} instead"),
        f"got {value!r}: build one from quartzite.triggers, or pass an alias such as "
        "'interval' to add_job",
    )


def _check_executor(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise with_detail(
        TypeError("executor must be a string"), f"got {_shown(value)} (the executor's alias)"
    )


# Fields checked on their own, each by one rule returning the value to store.
_FIELD_RULES: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("name", _check_name),
    ("misfire_grace_time", _check_misfire_grace_time),
    ("coalesce", _check_coalesce),
    ("max_instances", _check_max_instances),
    ("at_most_once", _check_at_most_once),
    ("trigger", _check_trigger),
    ("executor", _check_executor),
)


def _resolve_func_ref(ref: str) -> Any:
    try:
        return ref_to_obj(ref)
    except ValueError as exc:  # no colon: keep the contract's message, show the value
        raise with_detail(exc, f"func is {ref!r} (expected 'package.module:function')")


def _check_args(args: Any) -> None:
    # Lists and tuples are nearly always what is given: test them by exact type first, which is
    # much cheaper than the ABC checks.
    if type(args) in (tuple, list):
        return
    if isinstance(args, str) or not isinstance(args, Iterable):
        raise with_detail(TypeError("args must be a non-string iterable"), f"got {_shown(args)}")


def _check_kwargs(kwargs: Any) -> None:
    if type(kwargs) is dict:
        return
    if isinstance(kwargs, str) or not isinstance(kwargs, Mapping):
        raise with_detail(TypeError("kwargs must be a dict-like object"), f"got {_shown(kwargs)}")


class Job:
    """One scheduled call: the callable with its arguments, its trigger, and its run options.

    The scheduler creates jobs (``add_job`` / ``scheduled_job``) and hands them out; build them
    through it rather than directly. Attributes, all set by the scheduler and changed only
    through :meth:`modify` (or the scheduler's ``modify_job``):

    - ``id`` (str): unique within the scheduler; fixed once set.
    - ``name`` (str): a label for logs and listings; defaults to the callable's name.
    - ``func``: the callable; ``func_ref`` is its ``"module:qualname"`` reference, or ``None``
      when it has none (such a job runs, but cannot be stored persistently).
    - ``args`` (tuple or list) and ``kwargs`` (dict): what ``func`` is called with.
    - ``trigger``: decides the fire times; ``next_run_time`` is the next one (``None`` while
      the job is paused).
    - ``executor`` (str): alias of the executor that runs the job.
    - ``max_instances`` (int): how many runs of this job may be in progress at once.
    - ``coalesce`` (bool): when several run times are due together, run only the latest.
    - ``misfire_grace_time`` (int or None): how many seconds late a run may still start; later
      runs are reported as missed. ``None`` lets a run start however late it is.
    - ``at_most_once`` (bool): when the scheduler running an occurrence dies before it ends,
      record the occurrence as interrupted instead of running it again on another scheduler
      (``False``, the default: run it again, so interrupted runs are at-least-once).
    """

    __slots__ = (
        "__weakref__",
        "_jobstore_alias",
        "_scheduler",
        "args",
        "at_most_once",
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
        _scheduler: SchedulerLike | None
        args: tuple[Any, ...]
        at_most_once: bool
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

    def __init__(self, scheduler: SchedulerLike | None, id: str | None = None, **kwargs: Any):
        self._scheduler = scheduler
        self._jobstore_alias = None
        self.at_most_once = False
        if not id:
            from uuid import uuid4  # uuid imports platform: keep it out of import time

            id = uuid4().hex
        self._modify(id=id, **kwargs)

    # -- shortcuts to the owning scheduler ------------------------------------------------------

    def modify(self, **changes: Any) -> Job:
        """Change attributes of this job (the keywords are attribute names) and save it.

        Goes through the scheduler's ``modify_job``; returns this job.
        """
        self._require_scheduler().modify_job(self.id, self._jobstore_alias, **changes)
        return self

    def reschedule(self, trigger: Any, **trigger_args: Any) -> Job:
        """Replace this job's trigger (an instance, or an alias with its options) and save it.

        Goes through the scheduler's ``reschedule_job``, which also computes the new next run
        time; returns this job.
        """
        self._require_scheduler().reschedule_job(
            self.id, self._jobstore_alias, trigger, **trigger_args
        )
        return self

    def pause(self) -> Job:
        """Stop this job from running until :meth:`resume` is called; returns this job."""
        self._require_scheduler().pause_job(self.id, self._jobstore_alias)
        return self

    def resume(self) -> Job:
        """Let a paused job run again from its trigger's next fire time; returns this job.

        A job whose trigger has no fire time left is removed instead.
        """
        self._require_scheduler().resume_job(self.id, self._jobstore_alias)
        return self

    def get_runs(
        self, *, status: Any = None, since: Any = None, limit: int | None = 100
    ) -> list[JobRun]:
        """This job's run records, newest first (the filters of the scheduler's
        ``get_job_runs``)."""
        scheduler = self._require_scheduler()
        return scheduler.get_job_runs(
            self.id, self._jobstore_alias, status=status, since=since, limit=limit
        )

    def run_now(self) -> JobRun:
        """Run one extra occurrence now, through the job's store (see ``run_job_now``)."""
        return self._require_scheduler().run_job_now(self.id, self._jobstore_alias)

    def remove(self) -> None:
        """Delete this job from its job store; it will not run again."""
        self._require_scheduler().remove_job(self.id, self._jobstore_alias)

    @property
    def pending(self) -> bool:
        """Whether the job still waits for the scheduler to start and put it in a job store."""
        return self._jobstore_alias is None

    def _require_scheduler(self) -> SchedulerLike:
        scheduler = self._scheduler
        if scheduler is None:
            raise RuntimeError(
                f"Job {self.id!r} is not attached to a scheduler: change it through the "
                "scheduler that holds it"
            )
        return scheduler

    # -- schedule ------------------------------------------------------------------------------

    def _get_run_times(self, now: datetime) -> list[datetime]:
        """List the run times from ``next_run_time`` up to ``now`` (inclusive), oldest first.

        Not coalesced. Bounded by :data:`quartzite._schedule.MAX_CATCH_UP`: beyond that many,
        older run times are skipped (see :func:`quartzite._schedule.run_times_until`).
        """
        from ._schedule import run_times_until

        run_times, _skipped, _next = run_times_until(
            self.trigger,
            self.next_run_time,
            now,
            misfire_grace_time=self.misfire_grace_time,
            job_id=self.id,
        )
        return run_times

    # -- validation ----------------------------------------------------------------------------

    def _modify(self, **changes: Any) -> None:
        """Check every change, then apply them all; if one is invalid, apply none."""
        approved: dict[str, Any] = {}
        if "id" in changes:
            approved["id"] = self._checked_id(changes.pop("id"))
        if not _CALL_FIELDS.isdisjoint(changes):
            approved.update(self._checked_call(changes))
        for field, rule in _FIELD_RULES:
            if field in changes:
                approved[field] = rule(changes.pop(field))
        if "next_run_time" in changes:
            zone = self._scheduler.timezone if self._scheduler is not None else None
            approved["next_run_time"] = convert_to_datetime(
                changes.pop("next_run_time"), zone, "next_run_time"
            )
        if changes:
            # Message fixed by the contract.
            raise AttributeError(
                "The following are not modifiable attributes of Job: " + ", ".join(changes)
            )

        for field, value in approved.items():
            setattr(self, field, value)

    def _checked_id(self, value: Any) -> str:
        if not isinstance(value, str):
            raise with_detail(TypeError("id must be a nonempty string"), f"got {_shown(value)}")
        if hasattr(self, "id"):
            raise with_detail(
                ValueError("The job ID may not be changed"),
                f"the job's id is {self.id!r}, the new id {value!r}: add a new job with that id "
                "and remove this one instead",
            )
        return value

    def _checked_call(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Check the callable and its arguments together (taking the missing ones from the job).

        Pops ``func``, ``args`` and ``kwargs`` from ``changes``; may add a default ``name``.
        """
        # A field not being changed keeps the job's current value (a new job has all three).
        func = changes.pop("func", _KEEP)
        if func is _KEEP:
            func = self.func
        args = changes.pop("args", _KEEP)
        if args is _KEEP:
            args = self.args
        kwargs = changes.pop("kwargs", _KEEP)
        if kwargs is _KEEP:
            kwargs = self.kwargs

        func_ref: str | None
        if isinstance(func, str):
            func_ref, func = func, _resolve_func_ref(func)
        elif callable(func):
            try:
                func_ref = obj_to_ref(func)
            except ValueError:
                func_ref = None  # runs fine, but cannot be pickled into a persistent store
        else:
            raise with_detail(
                TypeError("func must be a callable or a textual reference to one"),
                f"got {_shown(func)} (a reference looks like 'package.module:function')",
            )

        if changes.get("name") is None and not hasattr(self, "name"):
            changes["name"] = get_callable_name(func)
        # Exact types first (what nearly every job has): the full checks test ABCs, which is slow.
        if type(args) is not tuple and type(args) is not list:
            _check_args(args)
        if type(kwargs) is not dict:
            _check_kwargs(kwargs)
        try:
            check_callable_args(func, args, kwargs)
        except ValueError as exc:
            # The contract's message as it is; which function it is about in a note.
            raise with_detail(exc, f"job function: {get_callable_name(func)}")
        return {"func": func, "func_ref": func_ref, "args": args, "kwargs": kwargs}

    # -- pickling ------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        if not self.func_ref:
            # Message fixed by the contract.
            raise ValueError(
                f"This Job cannot be serialized since the reference to its callable ({self.func!r})"
                " could not be determined. Consider giving a textual reference (module:function "
                "name) instead."
            )
        state: dict[str, Any] = {"version": _STATE_VERSION}
        for key, attribute in _STATE_LAYOUT:
            state[key] = getattr(self, attribute)
        state["args"] = self._args_for_state()
        # Beyond the contract's layout, and only when set: states of jobs that keep the default
        # stay exactly as APScheduler 3.x writes them (and it ignores keys it does not know).
        if self.at_most_once:
            state["at_most_once"] = True
        return state

    def _args_for_state(self) -> Any:
        """The arguments to pickle: a bound method's instance becomes the first argument.

        ``func_ref`` then names the plain function (``Class.method``), and the instance travels
        with the arguments; class methods are left alone, as their reference resolves as is.
        """
        func = self.func
        if (
            isinstance(func, MethodType)
            and not isinstance(func.__self__, type)
            and obj_to_ref(func) == self.func_ref
        ):
            return (func.__self__, *tuple(self.args))
        return self.args

    def __setstate__(self, state: dict[str, Any]) -> None:
        version = state.get("version", 1)
        if version > _STATE_VERSION:
            # Message fixed by the contract.
            raise ValueError(f"Job has version {version}, but only version 1 can be handled")
        for key, attribute in _STATE_LAYOUT:
            setattr(self, attribute, state[key])
        self.at_most_once = state.get("at_most_once", False) is True
        self.func = ref_to_obj(self.func_ref)  # type: ignore[arg-type]

    # -- identity and display ------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Job):
            return self.id == other.id
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Job (id={self.id} name={self.name})>"

    def __str__(self) -> str:
        if not hasattr(self, "next_run_time"):
            status = "pending"
        elif self.next_run_time is None:
            status = "paused"
        else:
            status = f"next run at: {datetime_repr(self.next_run_time)}"
        return f"{self.name} (trigger: {self.trigger}, {status})"
