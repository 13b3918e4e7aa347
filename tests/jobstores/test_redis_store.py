"""What is particular to RedisJobStore: construction, key layout, decoding clients, lost clients."""

from __future__ import annotations

import importlib
import json
import pickle
import sys
from datetime import datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

redis = pytest.importorskip("redis")

from quartzite.jobstores.redis import RedisJobStore  # noqa: E402
from quartzite.serializers import JSONSerializer, PickleSerializer  # noqa: E402
from support import make_job  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
RUN_DATE = datetime(2030, 1, 1, 12, tzinfo=BERLIN)


def test_missing_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "quartzite.jobstores.redis")
    with pytest.raises(ModuleNotFoundError) as excinfo:
        importlib.import_module("quartzite.jobstores.redis")
    # The contract's message exactly; the extra to install rides along as a note.
    assert str(excinfo.value) == "RedisJobStore requires redis installed"
    assert getattr(excinfo.value, "__notes__", []) == [
        "Install it with: pip install quartzite[redis]"
    ]


@pytest.mark.parametrize("option", ["db", "jobs_key", "run_times_key"])
def test_empty_options(option: str) -> None:
    value = None if option == "db" else ""
    with pytest.raises(ValueError, match=rf'^The "{option}" parameter must not be empty$'):
        RedisJobStore(**{option: value})


BAD_OPTIONS = [
    pytest.param(
        {"port": "abc"},
        ValueError,
        "port must be an int from 1 to 65535, got 'abc'",
        id="port-text",
    ),
    pytest.param(
        {"port": 0}, ValueError, "port must be an int from 1 to 65535, got 0", id="port-0"
    ),
    pytest.param(
        {"port": 70000}, ValueError, "port must be an int from 1 to 65535", id="port-high"
    ),
    pytest.param({"port": 6379.0}, TypeError, "port must be an int", id="port-float"),
    pytest.param({"db": -1}, ValueError, "db must be an int >= 0, got -1", id="db-negative"),
    pytest.param({"db": "one"}, ValueError, "db must be an int >= 0, got 'one'", id="db-text"),
    pytest.param({"db": True}, TypeError, "db must be an int >= 0, got True", id="db-bool"),
    pytest.param(
        {"jobs_key": 5}, TypeError, "jobs_key must be a non-empty str, got 5", id="jobs-key-type"
    ),
    pytest.param(
        {"run_times_key": b"k"},
        TypeError,
        "run_times_key must be a non-empty str",
        id="run-times-key-type",
    ),
    pytest.param(
        {"pickle_protocol": None},
        TypeError,
        "pickle_protocol must be an int",
        id="pickle-protocol-type",
    ),
    pytest.param({"serializer": "xml"}, ValueError, "Unknown serializer", id="serializer-name"),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_OPTIONS)
def test_bad_option_is_refused_at_construction_naming_it(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=rf"^(RedisJobStore: )?{message}"):
        RedisJobStore(**options)


def test_numeric_text_from_a_configuration_file_is_accepted() -> None:
    store = RedisJobStore(db="2", port="6380")
    connection_kwargs = store.redis.connection_pool.connection_kwargs
    assert (connection_kwargs["db"], connection_kwargs["port"]) == (2, 6380)


def test_client_and_defaults() -> None:
    store = RedisJobStore(db="3", host="localhost", port=1234, socket_timeout=5)
    assert isinstance(store.redis, redis.Redis)
    connection_kwargs = store.redis.connection_pool.connection_kwargs
    assert (connection_kwargs["db"], connection_kwargs["host"], connection_kwargs["port"]) == (
        3,
        "localhost",
        1234,
    )
    assert (store.jobs_key, store.run_times_key) == ("quartzite.jobs", "quartzite.run_times")
    assert store.quarantine_key == "quartzite.jobs.quarantine"
    assert store.pickle_protocol == pickle.HIGHEST_PROTOCOL
    assert isinstance(store.serializer, PickleSerializer)
    assert isinstance(RedisJobStore(serializer="json").serializer, JSONSerializer)
    assert repr(store) == "<RedisJobStore>"


@pytest.mark.parametrize("kind", ["redis", "redis_decoded"])
def test_layout(
    create_store: Any, store_scheduler: Any, redis_options: dict[str, Any], kind: str
) -> None:
    store = create_store(kind, "json")
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="running"))
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="paused", paused=True))

    raw = redis.Redis(**redis_options)
    try:
        assert sorted(raw.hkeys(store.jobs_key)) == [b"paused", b"running"]
        document = json.loads(raw.hget(store.jobs_key, "running"))
        assert document["next_run_time"] == "2030-01-01T12:00:00+01:00[Europe/Berlin]"
        # paused jobs are not in the sorted set
        assert raw.zrange(store.run_times_key, 0, -1, withscores=True) == [
            (b"running", RUN_DATE.timestamp())
        ]
    finally:
        raw.close()


def test_decoding_client_reads_pickles(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("redis_decoded", "pickle")
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job", args=[b"\xff\x00"]))
    found = store.lookup_job("job")
    assert found is not None and list(found.args) == [b"\xff\x00"]
    assert [job.id for job in store.get_due_jobs(RUN_DATE)] == ["job"]


def test_dangling_run_time_is_ignored(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("redis")
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job"))
    store.redis.zadd(store.run_times_key, {"ghost": RUN_DATE.timestamp() - 5})
    assert [job.id for job in store.get_due_jobs(RUN_DATE)] == ["job"]


def test_remove_all_deletes_both_keys(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("redis")
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job"))
    store.remove_all_jobs()
    assert not store.redis.exists(store.jobs_key, store.run_times_key)


def test_quarantine_record(create_store: Any) -> None:
    store = create_store("redis_decoded")
    store.redis.hset(store.jobs_key, "bad", "not a pickle")
    assert store.get_all_jobs() == []
    record = json.loads(store.redis.hget(store.quarantine_key, "bad"))
    assert record["id"] == "bad"
    assert record["job_state_base64"] == "bm90IGEgcGlja2xl"
    assert record["next_run_time"] is None
    assert record["error"].startswith("UnpicklingError: ")


def kill_clients(redis_options: dict[str, Any], name: str) -> int:
    """Kill the client connections named ``name`` from another client."""
    admin = redis.Redis(**redis_options, decode_responses=True)
    try:
        ids = [client["id"] for client in admin.client_list() if client.get("name") == name]
        for client_id in ids:
            admin.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        admin.close()


@pytest.mark.services
@pytest.mark.parametrize("retries", [0, 3])
def test_killed_client_connection(
    create_store: Any,
    store_scheduler: Any,
    redis_options: dict[str, Any],
    retries: int,
) -> None:
    """A killed idle connection is replaced (the pool checks it), with or without retries."""
    name = f"qz-{uuid4().hex}"
    store = create_store(
        "redis", client_name=name, retry=redis.retry.Retry(redis.backoff.NoBackoff(), retries)
    )
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job1"))
    assert kill_clients(redis_options, name) == 1
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job2"))
    assert [job.id for job in store.get_all_jobs()] == ["job1", "job2"]
