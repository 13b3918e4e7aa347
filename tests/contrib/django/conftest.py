"""Django for the tests of ``quartzite.contrib.django``, run by pytest-django.

Django is configured here, in ``pytest_configure`` (pytest-django's documented way to use
``settings.configure``), from :mod:`contrib.django.settings`; no ``DJANGO_SETTINGS_MODULE`` is
set, so the rest of the suite runs as before. pytest-django creates and destroys the test
databases: two SQLite *files* (aliases ``default`` and ``other``; files, so that the threads
and child processes of a test share them) and, when the local servers answer at start-up, a
PostgreSQL and a MariaDB database (aliases ``postgresql`` and ``mariadb``). Under xdist each
worker gets its own, suffixed with the worker id.

Tests ask for the database with ``pytest.mark.django_db``: ``transaction=True`` when scheduler
threads, other connections or child processes must see committed rows (the tables are emptied
after the test), plain when the test uses the ORM in its own thread only (it runs inside an
atomic block that is rolled back). ``databases=`` names the aliases a test touches; a test that
takes the ``database`` fixture (one alias per backend) gets that alias added to its mark by
:func:`pytest_collection_modifyitems`, so a test on PostgreSQL does not flush MariaDB.

Child processes get the current test databases from :func:`django_child_env`.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

#: server alias -> why it is missing (filled at start-up when the server does not answer)
SERVER_ERRORS: dict[str, str] = {}
#: server alias -> the name that ``require_service`` reports
SERVER_NAMES = {"postgresql": "PostgreSQL", "mariadb": "MariaDB"}
#: the ``database`` fixture's parameters -> alias
BACKENDS = {"sqlite": "default", "postgresql": "postgresql", "mariadb": "mariadb"}

_HERE = Path(__file__).resolve().parent
_SQLITE_DIRECTORY: list[str] = []


def _probe_postgresql() -> None:
    import psycopg

    psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3).close()


def _probe_mariadb() -> None:
    import pymysql

    pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3).close()


def pytest_configure(config: pytest.Config) -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    directory = tempfile.mkdtemp(prefix="qz_dj_")
    _SQLITE_DIRECTORY.append(directory)
    names = {
        "default": str(Path(directory) / "default.sqlite3"),
        "other": str(Path(directory) / "other.sqlite3"),
    }
    # A name of this session's own: pytest-django's test databases (test_<name>[_gwN]) cannot
    # collide with those of another run on the same servers.
    server_name = f"qz_dj_{uuid.uuid4().hex[:12]}"
    for alias, probe in (("postgresql", _probe_postgresql), ("mariadb", _probe_mariadb)):
        try:
            probe()
        except Exception as exc:
            SERVER_ERRORS[alias] = f"{type(exc).__name__}: {exc}"
        else:
            names[alias] = server_name

    from contrib.django import settings as test_settings

    settings.configure(**test_settings.build(names))
    django.setup()
    # When this conftest is loaded during collection (a run of the whole suite), pytest-django
    # has configured itself already and found no settings: let it finish its set-up now, so
    # that database access is blocked outside django_db tests in every kind of run. (When it
    # is loaded first, pytest-django's own hook runs after this one and blocks once more;
    # its pytest_unconfigure undoes every block.)
    plugin = config.pluginmanager.get_plugin("django")
    if plugin is not None:
        plugin.pytest_configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    for directory in _SQLITE_DIRECTORY:
        shutil.rmtree(directory, ignore_errors=True)
    _SQLITE_DIRECTORY.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Add the alias of the ``database`` parameter to the test's ``django_db`` mark."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "database" not in callspec.params:
            continue
        if _HERE not in item.path.resolve().parents:
            continue
        alias = BACKENDS[callspec.params["database"]]
        marker = item.get_closest_marker("django_db")
        if marker is None or alias in SERVER_ERRORS:
            # No mark: the test fails on its first query (as any unmarked one). A server that
            # did not answer: the database fixture skips the test (or fails it).
            continue
        assert not marker.args, f"{item.nodeid}: give django_db keyword arguments only"
        kwargs = dict(marker.kwargs)
        databases = kwargs.get("databases")
        if databases == "__all__":
            continue
        kwargs["databases"] = sorted({*(databases or ["default"]), alias})
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's ``django_db_setup``; before it drops the server test databases, end the
    sessions that tests left on them: the Django connection of a scheduler's thread outlives
    the thread, PostgreSQL refuses to drop a database in use and MariaDB waits for its locks."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in SERVER_NAMES:
            if alias not in connections:
                continue
            connection = connections[alias]
            if not str(connection.settings_dict["NAME"]).startswith("test_"):
                continue  # no test of the session used it: pytest-django made no database
            _end_other_sessions(connection)
        connections.close_all()


def _end_other_sessions(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        else:
            cursor.execute(
                "SELECT id FROM information_schema.processlist"
                " WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            )
            for (session,) in cursor.fetchall():
                try:
                    cursor.execute(f"KILL {int(session)}")
                except Exception:  # it ended meanwhile
                    pass


@pytest.fixture(autouse=True)
def _reset_route() -> Iterator[None]:
    from contrib.django import routers

    yield
    routers.ROUTE_TO = None


@pytest.fixture(params=list(BACKENDS))
def database(request: Any, require_service: Callable[..., Any]) -> str:
    """A database alias of each backend (the server ones skip, or fail under
    ``QUARTZITE_REQUIRE_SERVICES=1``, when their server did not answer at start-up)."""
    alias = BACKENDS[request.param]
    if alias in SERVER_NAMES:

        def check() -> bool:
            if alias in SERVER_ERRORS:
                raise ConnectionError(SERVER_ERRORS[alias])
            return True

        require_service(SERVER_NAMES[alias], check)
    return alias


@pytest.fixture
def routed(database: str) -> Iterator[str]:
    """Route the quartzite app to ``database`` for the test (the stores then use it)."""
    from contrib.django import routers

    routers.ROUTE_TO = database
    yield database
    routers.ROUTE_TO = None


@pytest.fixture
def django_child_env() -> dict[str, str]:
    """Environment variables that point :mod:`contrib.django.settings`, in a child process, at
    this test's databases (their names are known only once pytest-django has created them)."""
    from django.db import connections

    from contrib.django.settings import VARIABLES

    return {
        variable: str(connections[alias].settings_dict["NAME"])
        for alias, variable in VARIABLES.items()
        if alias in connections
    }
