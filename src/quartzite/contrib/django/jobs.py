"""Jobs declared by apps in their ``jobs.py`` modules, added when ``runscheduler`` starts.

In an installed app, ``myapp/jobs.py``::

    from quartzite.contrib.django.jobs import scheduled_job

    @scheduled_job("cron", hour=3, id="nightly-cleanup")
    def nightly_cleanup():
        ...

``runscheduler`` imports the ``jobs`` module of every installed app (as the admin does with
``admin.py``) and adds each declared job with ``replace_existing=True``, so restarting it, or
starting it in several processes at once, keeps one copy of each job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

__all__ = ("JobSpec", "autodiscover", "declared_jobs", "register_declared_jobs", "scheduled_job")

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class JobSpec:
    """One declared job: the function and the arguments ``add_job`` gets."""

    func: Callable[..., Any]
    trigger: Any = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


_declared: dict[str, JobSpec] = {}


def scheduled_job(trigger: Any = None, *args: Any, **kwargs: Any) -> Callable[[_F], _F]:
    """Declare the decorated function as a job, with ``scheduler.add_job``'s arguments.

    The job id defaults to ``"<module>.<function name>"``; a later declaration with the same id
    replaces an earlier one. The function is returned unchanged.
    """

    def decorate(func: _F) -> _F:
        options = dict(kwargs)
        options.setdefault("id", f"{func.__module__}.{func.__name__}")
        _declared[options["id"]] = JobSpec(func, trigger, args, options)
        return func

    return decorate


def declared_jobs() -> list[JobSpec]:
    """The jobs declared so far, in declaration order."""
    return list(_declared.values())


def autodiscover() -> None:
    """Import the ``jobs`` module of every installed app that has one."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")


def register_declared_jobs(scheduler: Any) -> list[str]:
    """Add every declared job to ``scheduler`` (replacing stored ones with the same id).

    :return: the ids of the jobs added
    """
    ids = []
    for spec in declared_jobs():
        options = {"replace_existing": True, **spec.kwargs}
        scheduler.add_job(spec.func, spec.trigger, *spec.args, **options)
        ids.append(options["id"])
    return ids
