"""The TOML configuration file of ``quartzite run`` (and of ``--config`` for the other commands).

The file holds a scheduler's settings under the keys of its ``configure()`` options (the keys of
a ``SCHEDULER_CONFIG`` mapping, without the ``quartzite.`` prefix) and a list of jobs::

    timezone = "Europe/Berlin"

    [jobstores.default]
    type = "sqlalchemy"
    url = "sqlite:///jobs.sqlite"

    [[jobs]]
    id = "report"
    func = "myapp.tasks:report"
    trigger = "cron"
    hour = 9                  # the trigger's arguments, inline

Every key is checked here before anything is built, so a typo is reported with the file and the
key instead of being ignored; the values themselves are checked by the scheduler, the stores,
the executors and the triggers, whose errors are reported with the file and the job.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from ..schedulers.background import BackgroundScheduler
from ..schedulers.base import BaseScheduler
from ._output import EXIT_FAILURE, EXIT_USAGE, CliError, one_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = ("JOB_KEYS", "SCHEDULER_KEYS", "JobSpec", "ServiceConfig", "load_config")

#: Top-level keys: the scheduler options (see ``BaseScheduler``) and ``jobs``.
SCHEDULER_KEYS = (
    "timezone",
    "jobstores",
    "executors",
    "job_defaults",
    "scheduler_id",
    "checkin_interval",
    "lease_time",
    "max_catch_up",
    "jobstore_retry_interval",
    "jobs",
)
#: Keys of a ``[[jobs]]`` table that are ``add_job`` options; every other key is an argument of
#: the job's trigger.
JOB_KEYS = (
    "id",
    "func",
    "trigger",
    "args",
    "kwargs",
    "name",
    "misfire_grace_time",
    "coalesce",
    "max_instances",
    "jobstore",
    "executor",
    "at_most_once",
)
# add_job options passed through as they are (the others are handled one by one)
_PASSED_OPTIONS = tuple(
    key for key in JOB_KEYS if key not in ("id", "func", "trigger", "args", "kwargs")
)
# The logger of schedulers that only check a file; logs nowhere.
_QUIET_LOGGER = logging.getLogger("quartzite.cli.checking")
_QUIET_LOGGER.addHandler(logging.NullHandler())
_QUIET_LOGGER.propagate = False
_UNEXPECTED_KEYWORD_RE = re.compile(r"unexpected keyword argument '(?P<key>[^']+)'")


def _hint(name: str, known: Any) -> str:
    matches = get_close_matches(name, list(known), n=1)
    return f"; did you mean {matches[0]!r}?" if matches else ""


@dataclass
class JobSpec:
    """One ``[[jobs]]`` table: what to pass to ``add_job``."""

    id: str
    func: str
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def jobstore(self) -> str:
        """The alias of the store the job goes to."""
        return str(self.options.get("jobstore", "default"))


@dataclass
class ServiceConfig:
    """A checked configuration file: the scheduler options and the job declarations."""

    path: Path
    options: dict[str, Any]
    jobs: list[JobSpec]

    def error(self, message: str, where: str | None = None) -> CliError:
        """A usage error (exit status 2) that names this file (and ``where`` in it)."""
        place = f"{self.path}: {where}: " if where else f"{self.path}: "
        return CliError(place + one_line(message), EXIT_USAGE)

    def build_scheduler(
        self,
        cls: type[BaseScheduler] = BackgroundScheduler,
        executors: bool = True,
        quiet: bool = False,
    ) -> BaseScheduler:
        """A stopped scheduler of ``cls`` configured from the file (jobs not added).

        :param executors: build the file's executors too (not needed to inspect the stores)
        :param quiet: give the scheduler a logger that logs nothing (for one that only checks
            the jobs: its "adding job tentatively" lines would be noise)
        :raises CliError: (exit status 2) if the scheduler, a store or an executor refuses its
            settings
        """
        # (a deep copy: the scheduler takes "type" out of the component tables it is given)
        options = copy.deepcopy(self.options)
        if not executors:
            options.pop("executors", None)
        if quiet:
            options["logger"] = _QUIET_LOGGER
        try:
            return cls(**options)
        except Exception as exc:
            raise self.error(f"{exc}") from None

    def add_jobs(self, scheduler: BaseScheduler) -> None:
        """Add every job to ``scheduler`` with ``replace_existing=True`` (so a restart does not
        duplicate them); on a stopped scheduler this builds each trigger and imports each
        function without touching any store. On a started one, a job the store holds paused
        is replaced paused.

        :raises CliError: (exit status 2) naming the job whose function or trigger is invalid
        """
        running = scheduler.running
        for spec in self.jobs:
            options = dict(spec.options)
            if running:
                # A job paused in the store (``quartzite jobs pause``) stays paused across
                # restarts: replacing it would otherwise give it a run time again.
                stored = scheduler.get_job(spec.id, spec.jobstore)
                if stored is not None and stored.next_run_time is None:
                    options["next_run_time"] = None
            try:
                scheduler.add_job(
                    spec.func,
                    spec.trigger,
                    args=spec.args,
                    kwargs=spec.kwargs,
                    id=spec.id,
                    replace_existing=True,
                    **options,
                    **spec.trigger_args,
                )
            except Exception as exc:
                message = one_line(f"{exc}") or type(exc).__name__
                match = _UNEXPECTED_KEYWORD_RE.search(message)
                if isinstance(exc, TypeError) and match:
                    key = match.group("key")
                    message = (
                        f"unknown key {key!r} (not an option of a job nor an argument of the "
                        f"{spec.trigger!r} trigger)"
                    )
                elif isinstance(exc, (ImportError, LookupError)) and spec.func in message:
                    message = f"cannot import func {spec.func!r}: {message}"
                error = self.error(message, f"job {spec.id!r}")
                if running:  # the jobs were checked before: a store failed
                    error.status = EXIT_FAILURE
                raise error from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise CliError(f"{path}: no such configuration file", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read the file ({exc.strerror})", EXIT_USAGE) from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: not valid TOML: {one_line(str(exc))}", EXIT_USAGE) from None


def _check_table(config: ServiceConfig, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise config.error(f"{where} must be a table, got {type(value).__name__} {value!r}")
    return value


def _component_tables(config: ServiceConfig, name: str, value: Any) -> dict[str, Any]:
    """``[jobstores.ALIAS]`` / ``[executors.ALIAS]``: each a table naming its ``type`` or
    ``class``; the other keys are the component's constructor arguments."""
    tables = _check_table(config, name, value)
    for alias, settings in tables.items():
        settings = _check_table(config, f"{name}.{alias}", settings)
        if "type" not in settings and "class" not in settings:
            raise config.error(
                f"{name}.{alias} needs a 'type' (e.g. "
                f"{'sqlalchemy' if name == 'jobstores' else 'threadpool'!r}) or a 'class' "
                "('module:Class')"
            )
    return dict(tables)


def _job_spec(config: ServiceConfig, index: int, table: Any, seen: set[str]) -> JobSpec:
    table = _check_table(config, f"jobs[{index}]", table)
    job_id = table.get("id")
    where = f"job {job_id!r}" if isinstance(job_id, str) else f"jobs[{index}]"
    if not isinstance(job_id, str) or not job_id:
        raise config.error("every job needs an 'id' (a non-empty string)", where)
    if job_id in seen:
        raise config.error("another job has the same id", where)
    seen.add(job_id)
    func = table.get("func")
    if not isinstance(func, str) or ":" not in func:
        raise config.error(
            f"'func' must be a reference such as 'package.module:function', got {func!r}", where
        )
    trigger = table.get("trigger")
    if not isinstance(trigger, str):
        raise config.error(
            "'trigger' must name a trigger: 'cron', 'interval', 'date', 'calendarinterval'", where
        )
    if "trigger_args" in table:
        raise config.error(
            "unknown key 'trigger_args': write the trigger's arguments inline in the job's "
            "table (e.g. hour = 9)",
            where,
        )
    args = table.get("args", [])
    if not isinstance(args, list):
        raise config.error(f"'args' must be an array, got {args!r}", where)
    kwargs = table.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise config.error(f"'kwargs' must be a table, got {kwargs!r}", where)
    options = {key: table[key] for key in _PASSED_OPTIONS if key in table}
    for kind in ("jobstore", "executor"):
        alias = options.get(kind, "default")
        known = {"default", *config.options.get(f"{kind}s", {})}
        if not isinstance(alias, str) or alias not in known:
            raise config.error(
                f"{kind} {alias!r} is not configured (known: {', '.join(sorted(known))})", where
            )
    trigger_args = {key: value for key, value in table.items() if key not in JOB_KEYS}
    return JobSpec(job_id, func, trigger, trigger_args, list(args), dict(kwargs), options)


def load_config(path: str | Path) -> ServiceConfig:
    """Read and check a configuration file.

    :raises CliError: (exit status 2) naming the file and the key, for a missing file, invalid
        TOML, an unknown top-level key or a malformed job table
    """
    path = Path(path)
    data = _read_toml(path)
    config = ServiceConfig(path, {}, [])
    for key in data:
        if key not in SCHEDULER_KEYS:
            raise config.error(f"unknown key {key!r}{_hint(key, SCHEDULER_KEYS)}")
    options = {key: value for key, value in data.items() if key != "jobs"}
    for name in ("jobstores", "executors"):
        if name in options:
            options[name] = _component_tables(config, name, options[name])
    if "job_defaults" in options:
        _check_table(config, "job_defaults", options["job_defaults"])
    config.options = options

    jobs = data.get("jobs", [])
    if not isinstance(jobs, list):
        raise config.error("'jobs' must be an array of tables ([[jobs]] sections)")
    seen: set[str] = set()
    config.jobs = [_job_spec(config, index, table, seen) for index, table in enumerate(jobs)]
    return config
