"""Configures Django for the tests of ``quartzite.contrib.django`` (pytest-django is not used).

One session gets its own databases: two SQLite files (aliases ``default`` and ``other``) in a
temporary directory, and, when the servers answer, a fresh PostgreSQL database and a fresh
MariaDB database (aliases ``postgresql`` and ``mariadb``), dropped at the end. Every alias is
migrated once. Each test starts with empty quartzite tables on every alias.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any, Callable

import pytest

_SESSION = uuid.uuid4().hex[:12]
_SERVER_ERRORS: dict[str, str] = {}


def _create_postgresql(name: str) -> None:
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True, connect_timeout=3
    ) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def _drop_postgresql(name: str) -> None:
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True, connect_timeout=3
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _mariadb_connection() -> Any:
    import pymysql

    return pymysql.connect(
        host="127.0.0.1", port=3306, user="root", connect_timeout=3, autocommit=True
    )


def _create_mariadb(name: str) -> None:
    connection = _mariadb_connection()
    try:
        connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        connection.close()


def _drop_mariadb(name: str) -> None:
    connection = _mariadb_connection()
    try:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        connection.close()


def _configure() -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    directory = tempfile.mkdtemp(prefix="qz_dj_")
    os.environ["QZ_DJ_SQLITE_DIR"] = directory
    for variable, alias, create in (
        ("QZ_DJ_POSTGRESQL", "postgresql", _create_postgresql),
        ("QZ_DJ_MARIADB", "mariadb", _create_mariadb),
    ):
        name = f"qz_dj_{_SESSION}"
        try:
            create(name)
        except Exception as exc:
            _SERVER_ERRORS[alias] = f"{type(exc).__name__}: {exc}"
        else:
            os.environ[variable] = name
    try:
        import pymysql

        pymysql.install_as_MySQLdb()
    except ImportError:  # pragma: no cover - depends on the environment
        pass

    from contrib.django import settings as test_settings

    settings.configure(**test_settings.build())
    django.setup()


_configure()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    from django.db import connections

    connections.close_all()
    if os.environ.get("QZ_DJ_POSTGRESQL"):
        _drop_postgresql(os.environ["QZ_DJ_POSTGRESQL"])
    if os.environ.get("QZ_DJ_MARIADB"):
        _drop_mariadb(os.environ["QZ_DJ_MARIADB"])
    shutil.rmtree(os.environ.get("QZ_DJ_SQLITE_DIR", ""), ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def migrated() -> None:
    from django.conf import settings
    from django.core.management import call_command

    for alias in settings.DATABASES:
        call_command("migrate", database=alias, run_syncdb=False, verbosity=0)


def _clean(alias: str) -> None:
    from quartzite.contrib.django.models import (
        DjangoJob,
        DjangoJobExecution,
        DjangoJobQuarantine,
        DjangoSchedulerCheckin,
    )

    for model in (DjangoJobExecution, DjangoJob, DjangoJobQuarantine, DjangoSchedulerCheckin):
        model.objects.db_manager(alias).all().delete()


@pytest.fixture(autouse=True)
def clean_tables(migrated: None) -> Iterator[None]:
    from django.conf import settings
    from django.db import connections

    from contrib.django import routers

    for alias in settings.DATABASES:
        _clean(alias)
    yield
    routers.ROUTE_TO = None
    for alias in settings.DATABASES:
        _clean(alias)
    connections.close_all()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: Any, require_service: Callable[..., Any]) -> str:
    """A database alias of each backend (the server ones skip, or fail under
    ``QUARTZITE_REQUIRE_SERVICES=1``, when unreachable)."""
    if request.param == "sqlite":
        return "default"
    alias = request.param

    def check() -> bool:
        if alias in _SERVER_ERRORS:
            raise ConnectionError(_SERVER_ERRORS[alias])
        return True

    require_service({"postgresql": "PostgreSQL", "mariadb": "MariaDB"}[alias], check)
    return alias


@pytest.fixture
def routed(database: str) -> Iterator[str]:
    """Route the quartzite app to ``database`` for the test (the stores then use it)."""
    from contrib.django import routers

    routers.ROUTE_TO = database
    yield database
    routers.ROUTE_TO = None
