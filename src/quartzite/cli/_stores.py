"""Opening the job store a command inspects or steers.

A store is named by ``--store URL``, by ``--config FILE`` (the job stores of a ``quartzite run``
configuration) or by ``--django-settings MODULE`` (the Django project's store). Commands never
touch a store's tables or keys themselves: they open it through a scheduler started paused
(which opens its stores and runs nothing) and use the scheduler's methods, so what they change
reaches the schedulers running on the store as any other change does.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from ..jobstores._persistent import SerializingJobStore
from ..jobstores.base import BaseJobStore, UnreadableJobError
from ..schedulers.background import BackgroundScheduler
from ..schedulers.base import BaseScheduler
from ._config import load_config
from ._output import EXIT_FAILURE, EXIT_USAGE, CliError, local_zone, one_line

__all__ = (
    "add_store_options",
    "check_reachable",
    "open_scheduler",
    "protect_jobs",
    "store_from_url",
    "unreadable",
)

DEFAULT_TABLE = "quartzite_jobs"
DEFAULT_JOBS_KEY = "quartzite.jobs"
DEFAULT_RUN_TIMES_KEY = "quartzite.run_times"
# Seconds to wait for a server before calling the store unreachable.
_CONNECT_TIMEOUT = 5
_PASSWORD_RE = re.compile(r"(://[^:/@]*:)[^@/]*@")


def add_store_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Add ``--store``/``--config``/``--django-settings`` and the name options to ``parser``.

    :param suppress: leave the options out of the namespace unless given (for a subcommand
        whose parent command has the same options, so either place works)
    """
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("job store (one of)")
    group.add_argument(
        "--store",
        metavar="URL",
        default=default,
        help="sqlite:///PATH, postgresql://USER@HOST/DB, mysql+pymysql://USER@HOST/DB or "
        "redis://HOST:PORT/DB",
    )
    group.add_argument(
        "--config", metavar="FILE", default=default, help="the job stores of this TOML file"
    )
    group.add_argument(
        "--django-settings",
        metavar="MODULE",
        default=default,
        help="the Django job store of this settings module",
    )
    names = parser.add_argument_group("non-default names (with --store)")
    names.add_argument(
        "--table",
        default=argparse.SUPPRESS if suppress else DEFAULT_TABLE,
        help=f"SQL table name (default: {DEFAULT_TABLE})",
    )
    names.add_argument(
        "--jobs-key",
        default=argparse.SUPPRESS if suppress else DEFAULT_JOBS_KEY,
        help=f"Redis key of the jobs (default: {DEFAULT_JOBS_KEY})",
    )
    names.add_argument(
        "--run-times-key",
        default=argparse.SUPPRESS if suppress else DEFAULT_RUN_TIMES_KEY,
        help=f"Redis key of the run times (default: {DEFAULT_RUN_TIMES_KEY})",
    )


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages)."""
    return _PASSWORD_RE.sub(r"\1***@", url)


def _sql_url(url: str, scheme: str) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL (with the default driver filled in) and engine options."""
    rest = url.split(":", 1)[1]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg:" + rest, {"connect_args": {"connect_timeout": _CONNECT_TIMEOUT}}
    if scheme in ("mysql", "mariadb"):
        return "mysql+pymysql:" + rest, {"connect_args": {"connect_timeout": _CONNECT_TIMEOUT}}
    if scheme.startswith(("postgresql+", "mysql+", "mariadb+")):
        return url, {"connect_args": {"connect_timeout": _CONNECT_TIMEOUT}}
    return url, {}


def _sqlite_path(url: str) -> str:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        raise CliError(
            f"{url}: an in-memory SQLite database holds no other process's jobs; give a file "
            "(sqlite:///relative/path or sqlite:////absolute/path)",
            EXIT_USAGE,
        )
    if not os.path.isfile(database):
        raise CliError(f"no SQLite database file at {database!r} (from {url})", EXIT_FAILURE)
    return database


def _redis_options(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise CliError(
            f"{redact(url)}: the path must be a database number (redis://HOST:PORT/DB)",
            EXIT_USAGE,
        )
    try:
        port = parts.port or 6379
    except ValueError:
        raise CliError(f"{redact(url)}: invalid port", EXIT_USAGE) from None
    options: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port,
        "db": int(path or 0),
        "socket_connect_timeout": _CONNECT_TIMEOUT,
    }
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        options["ssl"] = True
    return options


def store_from_url(
    url: str,
    table: str = DEFAULT_TABLE,
    jobs_key: str = DEFAULT_JOBS_KEY,
    run_times_key: str = DEFAULT_RUN_TIMES_KEY,
) -> BaseJobStore:
    """The job store a ``--store`` URL names.

    ``postgresql://`` uses the psycopg driver and ``mysql://`` PyMySQL unless the URL names
    another driver (``postgresql+asyncpg://`` is not a choice: the stores are synchronous).

    :raises CliError: exit status 2 for a URL of no known kind, 1 for a SQLite file that does
        not exist or a driver that is not installed
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    try:
        if scheme.startswith(("sqlite", "postgres", "mysql", "mariadb")):
            from ..jobstores.sqlalchemy import SQLAlchemyJobStore

            if scheme.startswith("sqlite"):
                _sqlite_path(url)
            sql_url, engine_options = _sql_url(url, scheme)
            return SQLAlchemyJobStore(sql_url, tablename=table, engine_options=engine_options)
        if scheme in ("redis", "rediss"):
            from ..jobstores.redis import RedisJobStore

            options = _redis_options(url)
            return RedisJobStore(jobs_key=jobs_key, run_times_key=run_times_key, **options)
    except ImportError as exc:
        raise CliError(
            f"the {scheme} store needs a package that is not installed ({exc}); install "
            f"quartzite[{'redis' if scheme.startswith('redis') else scheme.split('+')[0]}]",
            EXIT_FAILURE,
        ) from None
    except (TypeError, ValueError) as exc:
        raise CliError(f"{redact(url)}: {one_line(str(exc))}", EXIT_USAGE) from None
    raise CliError(
        f"unknown store URL {redact(url)!r} (expected sqlite:///PATH, postgresql://..., "
        "mysql+pymysql://... or redis://HOST:PORT/DB)",
        EXIT_USAGE,
    )


def _django_store(module: str) -> BaseJobStore:
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    try:
        import django
    except ImportError as exc:
        raise CliError(f"--django-settings: Django is not installed ({exc})", EXIT_USAGE) from None
    try:
        django.setup()
    except Exception as exc:
        raise CliError(
            f"--django-settings {module}: Django setup failed: {one_line(str(exc))}", EXIT_USAGE
        ) from None
    try:
        from ..contrib.django.jobstores import DjangoJobStore
    except ImportError as exc:
        raise CliError(
            f"the Django job store is not available (quartzite.contrib.django.jobstores: {exc})",
            EXIT_USAGE,
        ) from None
    store: BaseJobStore = DjangoJobStore()
    return store


def check_reachable(store: BaseJobStore, described: str, require_table: bool = True) -> None:
    """Fail early and plainly if the store's server does not answer (and, for SQL, if the
    table does not exist: opening it would create an empty one under a mistyped name).

    :param require_table: whether a missing SQL table is an error (not for ``quartzite run``,
        whose store creates its tables)
    """
    engine = getattr(store, "engine", None)
    if engine is not None:
        from sqlalchemy import inspect

        table = store.jobs_t  # type: ignore[attr-defined]
        try:
            exists = inspect(engine).has_table(table.name, schema=table.schema)
        except Exception as exc:
            raise CliError(
                f"cannot reach the job store {described}: {one_line(str(exc))}", EXIT_FAILURE
            ) from None
        if require_table and not exists:
            raise CliError(
                f"the job store {described} has no table {table.name!r} (give its name with "
                "--table)",
                EXIT_FAILURE,
            )
    client = getattr(store, "redis", None)
    if client is not None:
        from redis import ConnectionPool, Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # A probe without the client's retries: an unreachable server fails at once.
        pool = client.connection_pool
        kwargs = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
        probe_pool = ConnectionPool(connection_class=pool.connection_class, **kwargs)
        try:
            Redis(connection_pool=probe_pool).ping()
        except Exception as exc:
            raise CliError(
                f"cannot reach the job store {described}: {one_line(str(exc))}", EXIT_FAILURE
            ) from None
        finally:
            probe_pool.disconnect()


def _build_scheduler(args: argparse.Namespace) -> tuple[BaseScheduler, str]:
    store_url = getattr(args, "store", None)
    config_path = getattr(args, "config", None)
    django_settings = getattr(args, "django_settings", None)
    given = [value for value in (store_url, config_path, django_settings) if value]
    if len(given) != 1:
        raise CliError(
            "name the job store with exactly one of --store URL, --config FILE or "
            "--django-settings MODULE",
            EXIT_USAGE,
        )
    if config_path:
        config = load_config(config_path)
        scheduler = config.build_scheduler(BackgroundScheduler, executors=False)
        return scheduler, str(config_path)
    if django_settings:
        store = _django_store(django_settings)
        described = f"of {django_settings}"
    else:
        assert store_url is not None
        store = store_from_url(
            store_url,
            table=getattr(args, "table", DEFAULT_TABLE),
            jobs_key=getattr(args, "jobs_key", DEFAULT_JOBS_KEY),
            run_times_key=getattr(args, "run_times_key", DEFAULT_RUN_TIMES_KEY),
        )
        described = redact(store_url)
        check_reachable(store, described)
    scheduler = BackgroundScheduler(timezone=local_zone(), jobstores={"default": store})
    return scheduler, described


def protect_jobs(scheduler: BaseScheduler) -> None:
    """Make the scheduler's stores refuse, instead of quarantining, a job they cannot restore.

    A store moves a job it cannot restore (its function does not import, its arguments do not
    unpickle) to its quarantine, which is right in the application's scheduler. The command
    line often runs where the application's code is not importable; there that would take every
    job out of the schedule, so the store raises
    :class:`~quartzite.jobstores.base.UnreadableJobError` instead (see :func:`unreadable`).
    """
    for store in list(scheduler._jobstores.values()):
        if isinstance(store, SerializingJobStore):
            store.quarantine_unreadable = False


def unreadable(exc: UnreadableJobError) -> CliError:
    """The command line's error for a job it cannot read."""
    return CliError(
        f"cannot read job {exc.job_id!r} ({one_line(exc.error)}); nothing was changed. Run the "
        "command where the job functions are importable (from the application's directory, "
        "with PYTHONPATH, or with --path DIR)",
        EXIT_FAILURE,
    )


@contextmanager
def open_scheduler(args: argparse.Namespace) -> Iterator[BaseScheduler]:
    """A scheduler started paused on the store the command line names, shut down on exit.

    :raises CliError: if the store is named wrongly (status 2) or cannot be opened (status 1)
    """
    scheduler, described = _build_scheduler(args)
    protect_jobs(scheduler)
    if getattr(args, "config", None):
        for alias, store in list(scheduler._jobstores.items()):
            check_reachable(store, f"{alias!r} of {described}")
    try:
        scheduler.start(paused=True)
    except Exception as exc:
        raise CliError(
            f"cannot open the job store {described}: {one_line(str(exc))}", EXIT_FAILURE
        ) from None
    try:
        yield scheduler
    finally:
        try:
            scheduler.shutdown(wait=False)
        except Exception:  # closing must not hide what the command printed or raised
            pass
