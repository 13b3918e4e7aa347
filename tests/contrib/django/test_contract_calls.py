"""Each store method's first ORM call is django-apscheduler's, so patches of it still apply, and
a database error there is retried once on a fresh connection."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
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
@pytest.mark.django_db(databases=["default", "other"])
@pytest.mark.parametrize("alias", ["default", "other"])
def test_a_db_error_in_the_first_query_is_retried_once_on_a_new_connection(
    call: str, method: Any, alias: str
) -> None:
    store = DjangoJobStore(database=alias)
    store.start(None, alias)
    bystander = "other" if alias == "default" else "default"
    connections = db.connections
    with mock.patch.object(DjangoJob.objects, call, side_effect=broken) as patched:
        with mock.patch.object(connections[alias], "close") as close:
            with mock.patch.object(connections[bystander], "close") as other_close:
                with pytest.raises(db.OperationalError, match="Some DB-related error"):
                    method(store)
    assert patched.call_count == 2
    assert close.call_count == 1  # the store's own connection, fresh or not
    assert other_close.call_count == 0  # and no other alias's
