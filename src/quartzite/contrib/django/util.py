"""Date helpers and connection decorators of the Django app (the names django-apscheduler had).

``django.db`` is imported as ``db`` and its ``close_old_connections`` looked up at call time on
purpose: code (and tests) that patch ``quartzite.contrib.django.util.db.close_old_connections``
must see their patch used.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, tzinfo
from typing import Any, Callable, TypeVar, cast

from django import db
from django.conf import settings
from django.utils import formats, timezone

__all__ = (
    "close_old_connections",
    "get_apscheduler_datetime",
    "get_django_internal_datetime",
    "get_dt_format",
    "get_local_dt_format",
    "get_scheduler_datetime",
    "retry_closing_store_connection",
    "retry_on_db_operational_error",
)

logger = logging.getLogger("quartzite.contrib.django")

_F = TypeVar("_F", bound=Callable[..., Any])

#: The default of ``APSCHEDULER_DATETIME_FORMAT`` (a Django date-format string).
DEFAULT_DATETIME_FORMAT = "N j, Y, f:s a"


def get_dt_format() -> str:
    """The date format the admin uses: ``settings.APSCHEDULER_DATETIME_FORMAT`` (a format string
    or a format name such as ``"DATETIME_FORMAT"``), resolved through the active locale."""
    chosen = getattr(settings, "APSCHEDULER_DATETIME_FORMAT", None) or DEFAULT_DATETIME_FORMAT
    return str(formats.get_format(chosen))


def get_local_dt_format(dt: datetime | None) -> str:
    """``dt`` formatted with :func:`get_dt_format`, in the current Django time zone when it is
    aware and ``USE_TZ`` is on (naive datetimes are shown as they are)."""
    if dt is not None and settings.USE_TZ and timezone.is_aware(dt):
        dt = timezone.localtime(dt)
    return str(formats.date_format(dt, get_dt_format()))


def get_django_internal_datetime(dt: datetime | None) -> datetime | None:
    """``dt`` in the form Django stores: aware with ``USE_TZ`` on (a naive value is taken to be
    in the current zone), naive local time with it off."""
    if dt is None:
        return None
    if settings.USE_TZ and timezone.is_naive(dt):
        return timezone.make_aware(dt)
    if not settings.USE_TZ and timezone.is_aware(dt):
        return timezone.make_naive(dt)
    return dt


def get_scheduler_datetime(dt: datetime | None, scheduler: Any) -> datetime | None:
    """``dt`` as an aware datetime for ``scheduler``.

    A naive value is what the database gives with ``USE_TZ`` off: a wall time in Django's
    current zone. It is interpreted there, then converted to the scheduler's zone (django-
    apscheduler labelled it with the scheduler's zone directly, which is wrong when the two
    zones differ; both agree when they are the same).
    """
    if dt is None or timezone.is_aware(dt):
        return dt
    zone = cast("tzinfo", getattr(scheduler, "timezone", None) or timezone.get_current_timezone())
    return timezone.make_aware(dt, timezone.get_current_timezone()).astimezone(zone)


#: The name django-apscheduler gave :func:`get_scheduler_datetime`.
get_apscheduler_datetime = get_scheduler_datetime


def retry_on_db_operational_error(func: _F) -> _F:
    """Run ``func``; if the database raised ``OperationalError`` or ``InterfaceError`` (a
    connection the server dropped, say), close the stale connections and run it once more.

    ``func`` must be safe to run twice. Other exceptions pass through untouched.
    """
    return _retrying(func, lambda args: db.close_old_connections())


def retry_closing_store_connection(method: _F) -> _F:
    """:func:`retry_on_db_operational_error` for a job store's methods: before the second try
    it closes the connection of the store's own alias (``self.database``), fresh or not, and no
    other (the error came from that one; the others may be inside someone's transaction)."""
    return _retrying(method, lambda args: db.connections[args[0].database].close())


def _retrying(func: _F, close: Callable[[tuple[Any, ...]], object]) -> _F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (db.OperationalError, db.InterfaceError) as exc:
            # The text is the one django-apscheduler logged: log watchers may match it.
            logger.warning(
                f"DB error executing '{func.__name__}' ({exc}). "
                "Retrying with a new DB connection..."
            )
            close(args)
        return func(*args, **kwargs)

    return cast("_F", wrapper)


def close_old_connections(func: _F) -> _F:
    """Decorate a job function so that it closes stale database connections before it runs and
    after it ends (also when it raises), as Django does around each request."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        db.close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            db.close_old_connections()

    return cast("_F", wrapper)
