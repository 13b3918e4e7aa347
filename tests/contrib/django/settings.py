"""Django settings of the tests of ``quartzite.contrib.django`` (also usable by subprocesses).

The conftest calls :func:`build` with the session's database names; pytest-django then creates
and destroys the test databases. A child process started with
``DJANGO_SETTINGS_MODULE=contrib.django.settings`` gets the names from the environment instead
(the conftest's ``django_child_env`` fixture gives the current test databases' names):
``QZ_DJ_DEFAULT`` and ``QZ_DJ_OTHER`` (the SQLite files of the aliases ``default`` and
``other``), ``QZ_DJ_POSTGRESQL`` and ``QZ_DJ_MARIADB`` (database names on the local servers;
the aliases ``postgresql`` and ``mariadb`` exist only when set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: alias -> the environment variable that names its database in a child process
VARIABLES = {
    "default": "QZ_DJ_DEFAULT",
    "other": "QZ_DJ_OTHER",
    "postgresql": "QZ_DJ_POSTGRESQL",
    "mariadb": "QZ_DJ_MARIADB",
}


def _sqlite(name: str) -> dict[str, Any]:
    path = Path(name)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"timeout": 20},
        # A file, not ":memory:": the threads and child processes of a test share it.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


def build(names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings, as keyword arguments for ``settings.configure``.

    :param names: alias -> database name (a file path for ``default`` and ``other``); by
        default read from the environment (:data:`VARIABLES`)
    """
    if names is None:
        names = {alias: os.environ[var] for alias, var in VARIABLES.items() if os.environ.get(var)}
    databases: dict[str, Any] = {
        "default": _sqlite(names.get("default", "default.sqlite3")),
        "other": _sqlite(names.get("other", "other.sqlite3")),
    }
    if names.get("postgresql"):
        databases["postgresql"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": names["postgresql"],
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
    if names.get("mariadb"):
        import pymysql

        pymysql.install_as_MySQLdb()
        databases["mariadb"] = {
            "ENGINE": "django.db.backends.mysql",
            "NAME": names["mariadb"],
            "USER": "root",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"CHARSET": "utf8mb4"},
        }
    return {
        "DEBUG": False,
        "SECRET_KEY": "quartzite-tests-only",
        "USE_TZ": True,
        "TIME_ZONE": "Europe/Berlin",
        "DATABASES": databases,
        "DATABASE_ROUTERS": ["contrib.django.routers.SwitchableRouter"],
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            # pytest-django's live_server serves the admin's CSS and scripts through it
            "django.contrib.staticfiles",
            "quartzite.contrib.django",
            "contrib.django.testapp",
        ],
        "MIDDLEWARE": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        "ROOT_URLCONF": "contrib.django.urls",
        "STATIC_URL": "/static/",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "SCHEDULER_CONFIG": {
            "quartzite.jobstores.default": {
                "class": "quartzite.contrib.django.jobstores:DjangoJobStore",
                "poll_interval": "0.5",
            },
            "quartzite.executors.default": {"type": "threadpool", "max_workers": "5"},
            "quartzite.checkin_interval": "1",
            "quartzite.lease_time": "3",
        },
        "APSCHEDULER_RUN_NOW_TIMEOUT": 10,
    }


# For subprocesses started with DJANGO_SETTINGS_MODULE=contrib.django.settings.
globals().update(build())
