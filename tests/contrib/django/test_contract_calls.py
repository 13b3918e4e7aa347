"""Each store method's first ORM call is django-apscheduler's, so patches of it still apply, and
a database error there is retried once on a fresh connection."""

from __future__ import annotations

from datetime import datetime, timezone
from unittest import mock

import pytest
from django import db

from quartzite.contrib.django.jobstores import DjangoJob, DjangoJobStore
from support.jobs import make_job

NOW = datetime(2030, 5, 1, tzinfo=timezone.utc)


def broken(*args: object, **kwargs: object) -> None:
    raise db.OperationalError("Some DB-related error")


@pytest.mark.parametrize(
    ("call", "method"),
    [
        ("get", lambda store: store.lookup_job("x")),
        ("filter", lambda store: store.get_due_jobs(NOW)),
        ("filter", lambda store: store.get_next_run_time()),
        ("filter", lambda store: store.get_all_jobs()),
        ("create", lambda store: store.add_job(make_job(id="x"))),
        ("select_for_update", lambda store: store.update_job(make_job(id="x"))),
        ("select_for_update", lambda store: store.remove_job("x")),
        ("all", lambda store: store.remove_all_jobs()),
    ],
)
@pytest.mark.django_db
def test_a_db_error_in_the_first_query_is_retried_once(call, method) -> None:
    store = DjangoJobStore()
    store.start(None, "default")
    with mock.patch.object(DjangoJob.objects, call, side_effect=broken) as patched:
        with mock.patch.object(db, "close_old_connections") as close:
            with pytest.raises(db.OperationalError, match="Some DB-related error"):
                method(store)
    assert patched.call_count == 2
    assert close.call_count == 1
