"""Settings of the example project: SQLite, the admin, and quartzite's Django app.

For trying things out only (DEBUG on, a published secret key).
"""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = True
SECRET_KEY = "example-only-never-use-this-key-in-production"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The jobs and run-history tables, the admin pages and `manage.py runscheduler`.
    "quartzite.contrib.django",
    # An app of ours: `runscheduler` adds the jobs its jobs.py declares.
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
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
]

# One SQLite file beside manage.py. The web server and any number of `runscheduler` processes
# share it safely; on PostgreSQL or MariaDB only this dict changes.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        "OPTIONS": {"timeout": 20},
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Europe/Berlin"  # also the time zone of `runscheduler`'s scheduler
STATIC_URL = "static/"

# The scheduler of `manage.py runscheduler`: jobs in the database, run on a thread pool.
SCHEDULER_CONFIG = {
    "quartzite.jobstores.default": {
        "class": "quartzite.contrib.django.jobstores:DjangoJobStore",
        # SQLite cannot notify other processes: look for jobs added elsewhere (the admin, another
        # process) at least this often, in seconds.
        "poll_interval": "2",
    },
    "quartzite.executors.default": {"type": "threadpool", "max_workers": "5"},
}

# How long the admin's "run now" action waits for the scheduler to report the outcome.
APSCHEDULER_RUN_NOW_TIMEOUT = 15

# Show the scheduler's log lines on the console of `runscheduler`.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"quartzite": {"handlers": ["console"], "level": "INFO"}},
}
