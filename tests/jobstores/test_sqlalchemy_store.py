"""What is particular to SQLAlchemyJobStore: construction, schema, engines, dropped connections."""

from __future__ import annotations

import importlib
import logging
import pickle
import sys
import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")

from sqlalchemy import inspect, text  # noqa: E402

from quartzite.jobstores import sqlalchemy as sqlalchemy_module  # noqa: E402
from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore  # noqa: E402
from quartzite.serializers import JSONSerializer, PickleSerializer  # noqa: E402
from support import make_job  # noqa: E402

from .conftest import unique_name  # noqa: E402
from .support import read_raw_state  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
RUN_DATE = datetime(2030, 1, 1, 12, tzinfo=BERLIN)


def test_missing_sqlalchemy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    monkeypatch.delitem(sys.modules, "quartzite.jobstores.sqlalchemy")
    with pytest.raises(ModuleNotFoundError) as excinfo:
        importlib.import_module("quartzite.jobstores.sqlalchemy")
    # The contract's message exactly; the extra to install rides along as a note.
    assert str(excinfo.value) == "SQLAlchemyJobStore requires SQLAlchemy installed"
    assert getattr(excinfo.value, "__notes__", []) == [
        "Install it with: pip install quartzite[sqlalchemy]"
    ]


def test_module_exports_create_engine() -> None:
    assert sqlalchemy_module.create_engine is sqlalchemy.create_engine


def test_needs_engine_or_url() -> None:
    with pytest.raises(ValueError, match=r'^Need either "engine" or "url" defined$'):
        SQLAlchemyJobStore()


BAD_OPTIONS = [
    pytest.param({"engine": 42}, TypeError, "engine must be a sqlalchemy Engine", id="engine-type"),
    pytest.param(
        {"url": "no-such-dialect://x"},
        ValueError,
        "url 'no-such-dialect://x' is not usable",
        id="url-unparsable",
    ),
    pytest.param(
        {"url": "sqlite://", "tablename": "my jobs"},
        ValueError,
        "tablename must be a plain identifier .* got 'my jobs'",
        id="tablename-space",
    ),
    pytest.param(
        {"url": "sqlite://", "tablename": 'jobs"; drop'},
        ValueError,
        "tablename must be a plain identifier",
        id="tablename-quote",
    ),
    pytest.param(
        {"url": "sqlite://", "tablename": ""},
        ValueError,
        "tablename must be a plain identifier",
        id="tablename-empty",
    ),
    pytest.param(
        {"url": "sqlite://", "tablename": 5},
        TypeError,
        "tablename must be a str, got 5",
        id="tablename-type",
    ),
    pytest.param(
        {"url": "sqlite://", "tableschema": ""},
        ValueError,
        "tableschema must be None or a non-empty str",
        id="tableschema-empty",
    ),
    pytest.param(
        {"url": "sqlite://", "metadata": {}},
        TypeError,
        "metadata must be a sqlalchemy MetaData",
        id="metadata-type",
    ),
    pytest.param(
        {"url": "sqlite://", "engine_options": ["echo"]},
        TypeError,
        "engine_options must be a dict",
        id="engine-options-type",
    ),
    pytest.param(
        {"url": "sqlite://", "pickle_protocol": "5"},
        TypeError,
        "pickle_protocol must be an int, got '5'",
        id="pickle-protocol-type",
    ),
    pytest.param(
        {"url": "sqlite://", "pickle_protocol": 99},
        ValueError,
        "pickle_protocol must be from 0 to",
        id="pickle-protocol-range",
    ),
    pytest.param(
        {"url": "sqlite://", "serializer": 3},
        TypeError,
        "Expected a serializer",
        id="serializer-type",
    ),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_OPTIONS)
def test_bad_option_is_refused_at_construction_naming_it(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SQLAlchemyJobStore(**options)


def test_a_given_engine_wins_over_url_and_engine_options(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = sqlalchemy.create_engine("sqlite://")
    store = SQLAlchemyJobStore(
        url="sqlite:///ignored.db", engine=engine, engine_options={"echo": 1}
    )
    assert store.engine is engine
    assert "url='sqlite:///ignored.db' and engine_options={'echo': 1} are ignored" in caplog.text


def test_engine_instance_and_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sqlalchemy.create_engine("sqlite://")
    assert SQLAlchemyJobStore(engine=engine).engine is engine
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", engine, raising=False)
    assert SQLAlchemyJobStore(engine=f"{__name__}:ENGINE").engine is engine


def test_attributes_and_defaults() -> None:
    store = SQLAlchemyJobStore("sqlite://")
    assert store.jobs_t.name == "quartzite_jobs"
    assert store.quarantine_t.name == "quartzite_jobs_quarantine"
    assert store.pickle_protocol == pickle.HIGHEST_PROTOCOL
    assert isinstance(store.serializer, PickleSerializer)
    assert store.serializer.protocol == pickle.HIGHEST_PROTOCOL
    assert [column.name for column in store.jobs_t.columns] == ["id", "next_run_time", "job_state"]
    assert store.jobs_t.c.next_run_time.nullable
    assert not store.jobs_t.c.job_state.nullable


def test_metadata_and_serializer_options() -> None:
    metadata = sqlalchemy.MetaData()
    serializer = JSONSerializer()
    store = SQLAlchemyJobStore(
        "sqlite://", tablename="jobs", metadata=metadata, pickle_protocol=2, serializer=serializer
    )
    assert store.jobs_t.metadata is metadata
    assert store.pickle_protocol == 2
    assert store.serializer is serializer
    assert isinstance(SQLAlchemyJobStore("sqlite://", serializer="json").serializer, JSONSerializer)
    with pytest.raises(ValueError, match="Unknown serializer"):
        SQLAlchemyJobStore("sqlite://", serializer="xml")


def test_pickle_protocol_is_used(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("sqlite_memory", pickle_protocol=2)
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job"))
    assert read_raw_state(store, "job")[:2] == b"\x80\x02"


def test_engine_options(tmp_path: Any) -> None:
    store = SQLAlchemyJobStore(
        f"sqlite:///{tmp_path / 'jobs.sqlite'}", engine_options={"pool_size": 3, "echo": False}
    )
    assert store.engine.pool.size() == 3
    assert not store.engine.echo


@pytest.mark.parametrize("kind", ["sqlite_file", "postgresql", "mariadb"])
def test_table_and_index_created_on_start(create_store: Any, kind: str) -> None:
    store = create_store(kind, start=False)
    inspector = inspect(store.engine)
    assert not inspector.has_table(store.jobs_t.name)
    store.start(None, "default")
    inspector = inspect(store.engine)
    assert inspector.has_table(store.jobs_t.name)
    assert inspector.has_table(store.quarantine_t.name)
    indexes = inspector.get_indexes(store.jobs_t.name)
    assert [(index["name"], index["column_names"]) for index in indexes] == [
        (f"ix_{store.jobs_t.name}_next_run_time", ["next_run_time"])
    ]
    store.start(None, "default")  # starting again finds the table


def test_tableschema(create_store: Any, postgresql_url: str, store_scheduler: Any) -> None:
    schema = unique_name("qzs")
    admin = sqlalchemy.create_engine(postgresql_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        store = create_store("postgresql", tableschema=schema)
        store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job"))
        with admin.connect() as connection:
            count = connection.execute(
                text(f"SELECT count(*) FROM {schema}.{store.jobs_t.name}")
            ).scalar()
        assert count == 1
        assert store.quarantine_t.schema == schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_sqlite_memory_shared_between_threads(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("sqlite_memory")
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job"))
    found: list[Any] = []
    thread = threading.Thread(target=lambda: found.append(store.lookup_job("job")))
    thread.start()
    thread.join()
    assert found[0].id == "job"


def test_sqlite_file_uses_write_ahead_logging(create_store: Any) -> None:
    store = create_store("sqlite_file")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_sqlite_user_engine_is_left_alone(tmp_path: Any) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    store = SQLAlchemyJobStore(engine=engine)
    store.start(None, "default")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
    store.shutdown()


def test_json_rows_are_readable_with_sql(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("sqlite_file", "json")
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job", kwargs={"x": 1}))
    with store.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT json_extract(CAST(job_state AS TEXT), '$.next_run_time'),"
                f" json_extract(CAST(job_state AS TEXT), '$.kwargs.x') FROM {store.jobs_t.name}"
            )
        ).one()
    assert tuple(row) == ("2030-01-01T12:00:00+01:00[Europe/Berlin]", 1)


def test_json_argument_error_keeps_the_table_unchanged(
    create_store: Any, store_scheduler: Any
) -> None:
    store = create_store("sqlite_memory", "json")
    with pytest.raises(TypeError, match=r"the argument kwargs\['when'\] is a datetime"):
        store.add_job(
            make_job(store_scheduler, run_date=RUN_DATE, id="job", kwargs={"when": RUN_DATE})
        )
    assert store.get_all_jobs() == []


def test_shutdown_disposes_the_engine(create_store: Any) -> None:
    store = create_store("sqlite_file")
    store.get_all_jobs()
    assert store.engine.pool.checkedin() == 1
    store.shutdown()
    assert store.engine.pool.checkedin() == 0


# --- dropped connections -------------------------------------------------------------------------


def _server_session_id(store: Any, kind: str) -> int:
    """The server's id of the (only) pooled connection of the store."""
    query = "SELECT pg_backend_pid()" if kind == "postgresql" else "SELECT CONNECTION_ID()"
    with store.engine.connect() as connection:
        return int(connection.execute(text(query)).scalar())


def kill_session(kind: str, url: str, session_id: int) -> None:
    """Kill a server session from a separate admin connection."""
    admin = sqlalchemy.create_engine(url)
    try:
        with admin.begin() as connection:
            if kind == "postgresql":
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": session_id})
            else:
                connection.execute(text(f"KILL {session_id}"))
    finally:
        admin.dispose()


@pytest.mark.services
@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_operation_retried_once_after_dropped_connection(
    create_store: Any,
    store_scheduler: Any,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    url = request.getfixturevalue("postgresql_url" if kind == "postgresql" else "mysql_url")
    # No pre-ping, one pooled connection: the dead connection reaches the operation itself.
    store = create_store(kind, engine_options={"pool_pre_ping": False, "pool_size": 1})
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job1"))
    kill_session(kind, url, _server_session_id(store, kind))

    with caplog.at_level(logging.WARNING, "quartzite.jobstores"):
        store.add_job(make_job(store_scheduler, run_date=RUN_DATE + timedelta(1), id="job2"))
    assert [job.id for job in store.get_all_jobs()] == ["job1", "job2"]
    messages = [record.getMessage() for record in caplog.records]
    assert any(
        message.startswith("Lost the connection to the database (")
        and message.endswith(") -- retrying once")
        for message in messages
    ), messages


@pytest.mark.services
@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_pre_ping_replaces_dead_connections(
    create_store: Any, store_scheduler: Any, request: pytest.FixtureRequest, kind: str
) -> None:
    url = request.getfixturevalue("postgresql_url" if kind == "postgresql" else "mysql_url")
    store = create_store(kind, engine_options={"pool_size": 1})
    store.add_job(make_job(store_scheduler, run_date=RUN_DATE, id="job1"))
    kill_session(kind, url, _server_session_id(store, kind))
    # the one pooled connection is dead; pre-ping swaps it for a live one before the query
    assert [job.id for job in store.get_all_jobs()] == ["job1"]
