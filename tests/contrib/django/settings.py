"""Django settings of the tests of ``quartzite.contrib.django`` (also usable by subprocesses).

The databases come from the environment, so the processes a test starts share the session's
databases: ``QZ_DJ_SQLITE_DIR`` (the directory of the SQLite files ``default.sqlite3`` and
``other.sqlite3``), ``QZ_DJ_POSTGRESQL`` and ``QZ_DJ_MARIADB`` (database names on the local
servers; the aliases ``postgresql`` and ``mariadb`` exist only when set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def build() -> dict[str, Any]:
    """The settings, as keyword arguments for ``settings.configure``."""
    directory = Path(os.environ.get("QZ_DJ_SQLITE_DIR", "."))
    databases: dict[str, Any] = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(directory / "default.sqlite3"),
            "OPTIONS": {"timeout": 20},
            "TEST": {"NAME": str(directory / "default.sqlite3")},
        },
        "other": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(directory / "other.sqlite3"),
            "OPTIONS": {"timeout": 20},
        },
    }
    if os.environ.get("QZ_DJ_POSTGRESQL"):
        databases["postgresql"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["QZ_DJ_POSTGRESQL"],
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
    if os.environ.get("QZ_DJ_MARIADB"):
        import pymysql

        pymysql.install_as_MySQLdb()
        databases["mariadb"] = {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ["QZ_DJ_MARIADB"],
            "USER": "root",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"},
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
            "quartzite.contrib.django",
            "contrib.django.testapp",
        ],
        "MIDDLEWARE": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        "ROOT_URLCONF": "contrib.django.urls",
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
