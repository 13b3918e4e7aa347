"""SQLAlchemyJobStore as a claiming store shared by several schedulers: claims, run records,
recovery, retention, run-now and the PostgreSQL wake-up, on SQLite (file), PostgreSQL and
MariaDB. The generic rules are in test_claim_contract.py; here are the SQL-specific ones
(concurrent claims from separate processes, a connection dropped mid-claim, batching, locks
held while quarantining) and the store's own options.

Store methods are called directly with explicit ``now`` instants; the real clock is only used
where other processes or threads are involved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import create_engine, event, inspect, select, text, update

from quartzite.job import Job
from quartzite.jobstores.claims import RunOutcome
from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore
from quartzite.runs import RunStatus
from quartzite.triggers.interval import IntervalTrigger
from support import dummy_job, make_job

from .support import insert_raw_row

UTC = timezone.utc
T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
KINDS = ["sqlite_file", "postgresql", "mariadb"]
TESTS_DIR = Path(__file__).resolve().parents[1]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def interval_job(job_id: str, seconds: float = 10, **options: Any) -> Job:
    trigger = IntervalTrigger(seconds=seconds, start_date=T0, timezone=UTC)
    options.setdefault("misfire_grace_time", None)
    return make_job(None, dummy_job, id=job_id, trigger=trigger, **options)


def outcome(job_id: str, run_time: datetime, finished_at: datetime, **fields: Any) -> RunOutcome:
    fields.setdefault("status", RunStatus.SUCCESS)
    fields.setdefault("scheduler_id", "s1")
    return RunOutcome(job_id, run_time, finished_at=finished_at, **fields)


def drop_run_tables(store: SQLAlchemyJobStore) -> None:
    """The conftest drops the jobs table and its quarantine; the run tables are dropped here."""
    store.runs_t.drop(store.engine, checkfirst=True)
    store.schedulers_t.drop(store.engine, checkfirst=True)


@pytest.fixture
def new_store(create_store: Callable[..., Any]) -> Iterator[Callable[..., SQLAlchemyJobStore]]:
    """``new_store(kind, **options)``: a started SQL store on its own tables."""
    stores: list[SQLAlchemyJobStore] = []

    def new(kind: str, **options: Any) -> SQLAlchemyJobStore:
        store = create_store(kind, **options)
        stores.append(store)
        return store

    yield new
    for store in stores:
        store.unwatch()
        drop_run_tables(store)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(new_store: Callable[..., SQLAlchemyJobStore], kind: str) -> SQLAlchemyJobStore:
    return new_store(kind)


def second_store(store: SQLAlchemyJobStore) -> SQLAlchemyJobStore:
    """Another store object (own engine and pool) on the same tables, like another process."""
    other = SQLAlchemyJobStore(
        str(store.engine.url.render_as_string(hide_password=False)), tablename=store.jobs_t.name
    )
    other.start(None, "default")
    return other


# -- tables and options ---------------------------------------------------------------------------


def test_run_tables_and_indexes_are_created(store: SQLAlchemyJobStore) -> None:
    inspector = inspect(store.engine)
    name = store.jobs_t.name
    assert inspector.get_pk_constraint(f"{name}_runs")["constrained_columns"] == [
        "job_id",
        "scheduled_run_time",
    ]
    indexes = {
        index["name"]: index["column_names"] for index in inspector.get_indexes(f"{name}_runs")
    }
    assert indexes == {
        f"ix_{name}_runs_status": ["status", "scheduler_id"],
        f"ix_{name}_runs_finished_at": ["finished_at"],
        f"ix_{name}_runs_scheduled": ["scheduled_run_time"],
    }
    columns = {column["name"]: column for column in inspector.get_columns(f"{name}_runs")}
    assert columns["job_state"]["nullable"]
    assert inspector.get_pk_constraint(f"{name}_schedulers")["constrained_columns"] == [
        "scheduler_id"
    ]


def test_options_defaults_and_validation(postgresql_url: str) -> None:
    store = SQLAlchemyJobStore("sqlite://")
    assert store.poll_interval == 5.0
    assert store.history_options.max_runs_per_job == 100
    assert store.history_options.max_run_age == 30 * 86400
    assert SQLAlchemyJobStore(postgresql_url).poll_interval is None
    assert SQLAlchemyJobStore(postgresql_url, poll_interval=2).poll_interval == 2.0
    custom = SQLAlchemyJobStore(
        "sqlite://",
        history=False,
        max_runs_per_job=3,
        max_run_age=timedelta(hours=1),
        max_return_value_size=0,
        poll_interval=0.5,
    )
    assert custom.history_options.history is False
    assert custom.history_options.max_run_age == 3600.0
    assert custom.poll_interval == 0.5
    with pytest.raises(ValueError, match="poll_interval"):
        SQLAlchemyJobStore("sqlite://", poll_interval=0)
    with pytest.raises(TypeError, match="poll_interval"):
        SQLAlchemyJobStore("sqlite://", poll_interval="5")
    with pytest.raises(ValueError, match="max_runs_per_job"):
        SQLAlchemyJobStore("sqlite://", max_runs_per_job=0)


# -- claims ---------------------------------------------------------------------------------------


def test_claim_takes_due_jobs_advances_them_and_records_the_runs(
    store: SQLAlchemyJobStore,
) -> None:
    store.add_job(interval_job("a", coalesce=False, max_instances=3))
    store.add_job(make_job(None, id="once", run_date=T0))
    store.add_job(interval_job("later", next_run_time=at(3600)))

    claim = store.claim_jobs("s1", at(25))
    assert {run.job.id: run.run_times for run in claim.runs} == {
        "a": [T0, at(10), at(20)],
        "once": [T0],
    }
    assert claim.removed == ["once"]
    assert store.lookup_job("a").next_run_time == at(30)
    assert store.lookup_job("once") is None
    records = store.get_runs(status="running")
    assert {(run.job_id, run.scheduled_run_time) for run in records} == {
        ("a", T0),
        ("a", at(10)),
        ("a", at(20)),
        ("once", T0),
    }
    assert all(run.scheduler_id == "s1" and run.started_at == at(25) for run in records)
    assert all(run.jobstore == "default" and run.attempt == 1 for run in records)

    again = store.claim_jobs("s2", at(25))  # the same moment: nothing is due any more
    assert (again.runs, again.refused) == ([], [])


def test_max_instances_refusal_is_recorded(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a", max_instances=1))
    assert len(store.claim_jobs("s1", at(0)).runs) == 1
    claim = store.claim_jobs("s2", at(10))  # s1's run is still going: cluster-wide limit
    assert claim.runs == []
    assert [(run.job.id, run.run_times) for run in claim.refused] == [("a", [at(10)])]
    refused = store.get_run("a", at(10))
    assert refused is not None and refused.status is RunStatus.MAX_INSTANCES
    assert refused.started_at == refused.finished_at == at(10)


def test_run_now_pending_record_is_taken_once(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a", next_run_time=at(3600), max_instances=2))
    first = store.request_run("a", at(5))
    second = store.request_run("a", at(5))  # same instant: the next microsecond
    assert first.status is RunStatus.PENDING and first.manual
    assert second.scheduled_run_time == at(5) + timedelta(microseconds=1)

    claim = store.claim_jobs("s1", at(6))
    assert sorted((run.kind, run.run_times[0]) for run in claim.runs) == [
        ("now", first.scheduled_run_time),
        ("now", second.scheduled_run_time),
    ]
    assert store.claim_jobs("s2", at(6)).runs == []
    assert store.lookup_job("a").next_run_time == at(3600)  # the schedule did not move
    with pytest.raises(LookupError):
        store.request_run("missing", at(7))


def test_run_now_of_a_removed_job_is_interrupted(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a", next_run_time=at(3600)))
    store.request_run("a", at(1))
    store.remove_job("a")
    claim = store.claim_jobs("s1", at(2))
    assert claim.runs == []
    assert [run.exception_message for run in claim.interrupted] == [
        "the job was removed before it ran"
    ]
    assert store.get_run("a", at(1)).status is RunStatus.INTERRUPTED


def test_unknown_executor_is_left_for_another_scheduler(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a", executor="special"))
    claim = store.claim_jobs("s1", at(0), executors=["default"])
    assert [job.id for job in claim.unknown_executor] == ["a"]
    assert store.lookup_job("a").next_run_time == T0
    assert [run.job.id for run in store.claim_jobs("s2", at(0), executors=["special"]).runs] == [
        "a"
    ]


def test_limit_sets_more(store: SQLAlchemyJobStore) -> None:
    for number in range(5):
        store.add_job(interval_job(f"job{number}"))
    first = store.claim_jobs("s1", at(0), limit=3)
    assert (len(first.runs), first.more) == (3, True)
    second = store.claim_jobs("s1", at(0), limit=3)
    assert (len(second.runs), second.more) == (2, False)


def test_a_claim_of_500_jobs_is_a_few_statements(store: SQLAlchemyJobStore) -> None:
    for number in range(500):
        store.add_job(interval_job(f"job{number:03}"))
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    claim = store.claim_jobs("s1", at(0))
    assert len(claim.runs) == 500
    assert len(statements) <= 12, statements


def test_finishing_500_runs_is_a_few_statements(
    new_store: Callable[..., SQLAlchemyJobStore], kind: str
) -> None:
    store = new_store(kind, max_runs_per_job=2)
    for number in range(500):
        store.add_job(interval_job(f"job{number:03}", coalesce=False, max_instances=5))
    claim = store.claim_jobs("s1", at(35))  # 4 run times each
    assert sum(len(run.run_times) for run in claim.runs) == 2000
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    finished = [
        outcome(f"job{number:03}", at(seconds), at(36))
        for number in range(500)
        for seconds in (0, 10, 20, 30)
    ]
    store.finish_runs(finished)  # the first finish of each job: retention for all 500
    if kind != "mariadb":  # PyMySQL runs an executemany UPDATE row by row
        assert len(statements) <= 8, statements
    runs = store.get_runs(limit=None)
    assert len(runs) == 1000
    assert {run.scheduled_run_time for run in runs} == {at(20), at(30)}
    assert {run.status for run in runs} == {RunStatus.SUCCESS}


def test_bad_row_is_quarantined_within_the_claim(
    store: SQLAlchemyJobStore, quarantine_events: list[Any]
) -> None:
    store.add_job(interval_job("good"))
    insert_raw_row(store, "bad", b"not a job", T0)
    claim = store.claim_jobs("s1", at(0))  # must not wait for its own row locks
    assert [run.job.id for run in claim.runs] == ["good"]
    assert [job.id for job in store.get_quarantined_jobs()] == ["bad"]
    assert [event.job_id for event in quarantine_events] == ["bad"]


# -- concurrency ----------------------------------------------------------------------------------

_CLAIMER = """
import json, sys, time
from datetime import datetime, timezone
from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore
url, tablename, scheduler_id, go_file, now = sys.argv[1:6]
store = SQLAlchemyJobStore(url, tablename=tablename)
store.start(None, "default")
now = datetime.fromisoformat(now)
while not __import__("os").path.exists(go_file):
    time.sleep(0.005)
taken = []
while True:
    claim = store.claim_jobs(scheduler_id, now, limit=15)
    taken += [[run.job.id, t.timestamp()] for run in claim.runs for t in run.run_times]
    if not claim.runs and not claim.more:
        break
store.shutdown()
print(json.dumps(taken))
"""


@pytest.mark.parametrize("kind", KINDS)
def test_processes_claiming_together_take_each_occurrence_once(
    new_store: Callable[..., SQLAlchemyJobStore], kind: str, tmp_path: Path
) -> None:
    store = new_store(kind)
    expected = set()
    for number in range(100):  # runs once, then removed
        store.add_job(make_job(None, id=f"once{number}", run_date=T0))
        expected.add((f"once{number}", T0.timestamp()))
    for number in range(100):  # three run times each, then advanced
        store.add_job(interval_job(f"every{number}", coalesce=False, max_instances=3))
        expected.update((f"every{number}", at(seconds).timestamp()) for seconds in (0, 10, 20))

    go_file = tmp_path / "go"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), *sys.path])}
    url = store.engine.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CLAIMER,
                url,
                store.jobs_t.name,
                f"s{number}",
                str(go_file),
                at(25).isoformat(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            text=True,
        )
        for number in range(2)
    ]
    go_file.touch()
    taken: list[tuple[str, float]] = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        taken += [tuple(item) for item in json.loads(out)]
    assert len(taken) == len(set(taken)), "an occurrence was taken twice"
    assert set(taken) == expected
    assert len(store.get_runs(status="running", limit=None)) == 400


@pytest.mark.parametrize("kind", ["sqlite_memory", "sqlite_file", "postgresql"])
def test_threads_claiming_together_take_each_occurrence_once(
    new_store: Callable[..., SQLAlchemyJobStore], kind: str
) -> None:
    store = new_store(kind)
    for number in range(100):
        store.add_job(interval_job(f"job{number}", coalesce=False, max_instances=3))
    taken: list[tuple[str, datetime]] = []
    start = threading.Barrier(2)

    def claim_all(scheduler_id: str) -> None:
        start.wait(10)
        while True:
            claim = store.claim_jobs(scheduler_id, at(25), limit=10)
            taken.extend((run.job.id, moment) for run in claim.runs for moment in run.run_times)
            if not claim.runs and not claim.more:
                return

    threads = [threading.Thread(target=claim_all, args=(f"s{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(taken) == len(set(taken)) == 300


def test_connection_dropped_mid_claim_loses_and_doubles_nothing(
    new_store: Callable[..., SQLAlchemyJobStore],
    postgresql_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = new_store("postgresql", engine_options={"pool_pre_ping": False, "pool_size": 1})
    for number in range(20):
        store.add_job(interval_job(f"job{number}"))
    admin = create_engine(postgresql_url)
    killed: list[int] = []

    def kill_before_writing_records(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not killed and statement.startswith(f"INSERT INTO {store.runs_t.name}"):
            pid = cursor.connection.info.backend_pid
            killed.append(pid)
            with admin.begin() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(store.engine, "before_cursor_execute", kill_before_writing_records)
    try:
        claim = store.claim_jobs("s1", at(0))
    finally:
        admin.dispose()
    assert killed, "the session was not killed"
    assert "Lost the connection to the database" in caplog.text
    assert sorted(run.job.id for run in claim.runs) == sorted(f"job{n}" for n in range(20))
    assert len(store.get_runs(limit=None)) == 20
    assert {job.next_run_time for job in store.get_all_jobs()} == {at(10)}


# -- recovery -------------------------------------------------------------------------------------


def test_recover_runs_after_the_check_in_expires(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("again"))
    store.add_job(interval_job("once_only", at_most_once=True))
    store.check_in("s1", at(0), 30)
    store.claim_jobs("s1", at(0))
    store.check_in("s2", at(0), 30)

    early = store.recover_runs("s2", at(20))  # s1 is still alive
    assert (early.runs, early.interrupted) == ([], [])

    claim = store.recover_runs("s2", at(31))
    assert [(run.job.id, run.run_times, run.kind, run.attempt) for run in claim.runs] == [
        ("again", [T0], "recovered", 2)
    ]
    assert claim.runs[0].previous_scheduler_id == "s1"
    assert [(run.job_id, run.status) for run in claim.interrupted] == [
        ("once_only", RunStatus.INTERRUPTED)
    ]
    record = store.get_run("again", T0)
    assert (record.scheduler_id, record.attempt, record.recovered) == ("s2", 2, True)
    store.check_in("s2", at(31), 30)
    assert store.recover_runs("s3", at(32)).runs == []  # s2 (alive) holds it now


def test_release_makes_the_records_recoverable_at_once(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a"))
    store.check_in("s1", at(0), 30)
    store.claim_jobs("s1", at(0))
    store.check_in("s1", at(5), 30)  # the upsert
    assert store.recover_runs("s2", at(6)).runs == []
    store.release("s1")
    assert [run.job.id for run in store.recover_runs("s2", at(6)).runs] == ["a"]


def test_recover_lost_records_of_the_same_scheduler(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a"))
    store.check_in("s1", at(0), 30)
    store.claim_jobs("s1", at(0))
    assert store.recover_runs("s1", at(1)).runs == []
    claim = store.recover_runs("s1", at(1), lost=[("a", T0)])
    assert [(run.job.id, run.attempt) for run in claim.runs] == [("a", 2)]


def kept_state(store: SQLAlchemyJobStore, job_id: str, run_time: datetime) -> bytes | None:
    """The job state kept on one run record (not part of a JobRun)."""
    runs = store.runs_t.c
    with store.engine.connect() as connection:
        return connection.execute(
            select(runs.job_state).where(
                runs.job_id == job_id, runs.scheduled_run_time == run_time.timestamp()
            )
        ).scalar()


def test_last_run_of_a_removed_job_is_rerun_by_recovery(store: SQLAlchemyJobStore) -> None:
    store.add_job(make_job(None, dummy_job, id="once", run_date=T0, args=(1,)))
    store.add_job(interval_job("every"))
    store.check_in("s1", at(0), 30)
    claim = store.claim_jobs("s1", at(0))
    assert claim.removed == ["once"] and store.lookup_job("once") is None
    assert kept_state(store, "once", T0) is not None  # the claim removed the job: kept here
    assert kept_state(store, "every", T0) is None  # the job row still has it

    store.check_in("s2", at(31), 30)  # s1 died with both runs in flight
    recovered = store.recover_runs("s2", at(31))
    assert recovered.interrupted == []
    runs = {run.job.id: run for run in recovered.runs}
    assert sorted(runs) == ["every", "once"]
    again = runs["once"]
    assert (again.run_times, again.kind, again.attempt) == ([T0], "recovered", 2)
    assert (again.job.func, again.job.args, again.job.next_run_time) == (dummy_job, (1,), T0)
    assert again.job._jobstore_alias == "default"
    assert store.lookup_job("once") is None  # rerun, not re-added
    assert kept_state(store, "once", T0) is not None  # still there should s2 die too

    store.finish_runs([outcome("once", T0, at(32), scheduler_id="s2")])
    record = store.get_run("once", T0)
    assert (record.status, record.attempt, record.recovered) == (RunStatus.SUCCESS, 2, True)
    assert kept_state(store, "once", T0) is None  # finished: no longer needed


def test_last_run_of_an_at_most_once_job_stays_interrupted(store: SQLAlchemyJobStore) -> None:
    store.add_job(make_job(None, dummy_job, id="once", run_date=T0, at_most_once=True))
    store.claim_jobs("s1", at(0))
    claim = store.recover_runs("s2", at(1))  # s1 never checked in
    assert claim.runs == []
    assert [(run.job_id, run.status) for run in claim.interrupted] == [
        ("once", RunStatus.INTERRUPTED)
    ]
    assert kept_state(store, "once", T0) is None


def test_unrestorable_kept_state_means_interrupted(
    store: SQLAlchemyJobStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.add_job(make_job(None, dummy_job, id="once", run_date=T0))
    store.claim_jobs("s1", at(0))
    runs = store.runs_t.c
    with store.engine.begin() as connection:
        connection.execute(
            update(store.runs_t).where(runs.job_id == "once").values(job_state=b"not a job")
        )
    claim = store.recover_runs("s2", at(1))
    assert claim.runs == []
    assert [run.job_id for run in claim.interrupted] == ["once"]
    assert "cannot be restored" in caplog.text
    assert store.get_run("once", T0).status is RunStatus.INTERRUPTED
    assert store.get_quarantined_jobs() == []  # there was no job row to quarantine


def test_run_now_of_a_job_removed_meanwhile_stays_interrupted(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a", next_run_time=at(3600)))
    request = store.request_run("a", at(1))
    assert [run.kind for run in store.claim_jobs("s1", at(2)).runs] == ["now"]
    store.remove_job("a")
    assert kept_state(store, "a", request.scheduled_run_time) is None
    claim = store.recover_runs("s2", at(3))
    assert claim.runs == []
    assert [run.job_id for run in claim.interrupted] == ["a"]


def test_tables_of_an_earlier_version_get_the_new_column_and_index(
    store: SQLAlchemyJobStore,
) -> None:
    name = store.runs_t.name
    on = f" ON {name}" if store.engine.dialect.name in ("mysql", "mariadb") else ""
    with store.engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {name} DROP COLUMN job_state"))
        connection.execute(text(f"DROP INDEX ix_{store.jobs_t.name}_runs_scheduled{on}"))
    other = second_store(store)  # start() brings the tables up to date
    try:
        inspector = inspect(store.engine)
        assert "job_state" in {column["name"] for column in inspector.get_columns(name)}
        assert f"ix_{store.jobs_t.name}_runs_scheduled" in {
            index["name"] for index in inspector.get_indexes(name)
        }
        other.add_job(make_job(None, dummy_job, id="once", run_date=T0))
        other.claim_jobs("s1", at(0))
        assert kept_state(other, "once", T0) is not None
    finally:
        other.shutdown()


# -- outcomes and retention -----------------------------------------------------------------------


def test_finish_runs_only_onto_own_running_records(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a"))
    store.claim_jobs("s1", at(0))
    store.finish_runs([outcome("a", T0, at(1), scheduler_id="s2", status=RunStatus.ERROR)])
    assert store.get_run("a", T0).status is RunStatus.RUNNING
    store.finish_runs(
        [
            outcome(
                "a",
                T0,
                at(2),
                status=RunStatus.ERROR,
                exception_type="builtins.ValueError",
                exception_message="x" * 100_000,
                traceback="tb",
                return_value={"kept": 1},
            )
        ]
    )
    record = store.get_run("a", T0)
    assert (record.status, record.finished_at, record.exception_type) == (
        RunStatus.ERROR,
        at(2),
        "builtins.ValueError",
    )
    assert len(record.exception_message) == 64 * 1024
    assert record.return_value == {"kept": 1}
    assert record.duration == 2.0
    store.finish_runs([outcome("a", T0, at(3))])  # finished already: left alone
    assert store.get_run("a", T0).status is RunStatus.ERROR


def test_retention_by_count(new_store: Callable[..., SQLAlchemyJobStore], kind: str) -> None:
    store = new_store(kind, max_runs_per_job=3)
    store.add_job(interval_job("a", coalesce=False, max_instances=100))
    store.claim_jobs("s1", at(115))  # 12 run times
    store.request_run("a", at(116))  # pending: never removed by retention
    store.finish_runs([outcome("a", at(10 * n), at(120)) for n in range(12)])
    runs = store.get_runs("a", limit=None)
    assert [(run.scheduled_run_time, run.status) for run in runs] == [
        (at(116), RunStatus.PENDING),
        (at(110), RunStatus.SUCCESS),
        (at(100), RunStatus.SUCCESS),
        (at(90), RunStatus.SUCCESS),
    ]


def test_retention_by_age(new_store: Callable[..., SQLAlchemyJobStore], kind: str) -> None:
    store = new_store(kind, max_run_age=3600)
    store.add_job(interval_job("a", seconds=1000, max_instances=10))
    store.add_job(interval_job("b", seconds=100_000, max_instances=10))
    store.claim_jobs("s1", at(0))
    store.finish_runs([outcome("a", T0, at(1))])
    store.claim_jobs("s1", at(5000))  # b's run at T0 is still running
    store.finish_runs([outcome("a", at(5000), at(5001))])
    assert [(run.job_id, run.scheduled_run_time) for run in store.get_runs(limit=None)] == [
        ("a", at(5000)),
        ("b", T0),
    ]


def test_without_history_records_live_while_running(
    new_store: Callable[..., SQLAlchemyJobStore], kind: str
) -> None:
    store = new_store(kind, history=False)
    store.add_job(interval_job("a"))
    store.claim_jobs("s1", at(0))
    assert store.get_run("a", T0).status is RunStatus.RUNNING
    store.claim_jobs("s1", at(10))  # refused, and not recorded
    store.finish_runs([outcome("a", T0, at(11))])
    assert store.get_runs() == []


def test_remove_job_keeps_its_records(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a"))
    store.add_job(interval_job("b"))
    store.claim_jobs("s1", at(0))
    store.remove_job("a")
    store.remove_all_jobs()
    assert [run.job_id for run in store.get_runs(limit=None)] == ["a", "b"]


def test_get_runs_filters_and_order(store: SQLAlchemyJobStore) -> None:
    store.add_job(interval_job("a", coalesce=False, max_instances=10))
    store.add_job(interval_job("b", seconds=15, coalesce=False, max_instances=10))
    store.claim_jobs("s1", at(20))  # a: 0, 10, 20; b: 0, 15
    store.finish_runs([outcome("a", T0, at(21)), outcome("b", T0, at(21), status="error")])
    store.request_run("a", at(22))

    def keys(**filters: Any) -> list[tuple[str, float]]:
        return [
            (run.job_id, (run.scheduled_run_time - T0).total_seconds())
            for run in store.get_runs(**filters)
        ]

    assert keys() == [("a", 22), ("a", 20), ("b", 15), ("a", 10), ("a", 0), ("b", 0)]
    assert keys(job_id="a", limit=2) == [("a", 22), ("a", 20)]
    assert keys(status="success") == [("a", 0)]
    assert keys(status=["error", RunStatus.PENDING]) == [("a", 22), ("b", 0)]
    assert keys(since=at(15)) == [("a", 22), ("a", 20), ("b", 15)]
    assert keys(scheduler_id="s1", job_id="b") == [("b", 15), ("b", 0)]
    with pytest.raises(ValueError, match="unknown run status"):
        store.get_runs(status="bogus")


# -- wake-up --------------------------------------------------------------------------------------


def test_listen_notify_wakes_a_watcher(new_store: Callable[..., SQLAlchemyJobStore]) -> None:
    store = new_store("postgresql")
    woken = threading.Event()
    listening = threading.Event()
    store._listening = lambda ok: listening.set() if ok else None  # type: ignore[method-assign]
    store.watch(woken.set)
    try:
        assert listening.wait(10)
        woken.wait(2)  # the first look after connecting
        woken.clear()
        other = second_store(store)
        try:
            other.add_job(interval_job("a"))
            assert woken.wait(2), "no wake-up within 2 s of add_job in another store object"
            woken.clear()
            other.request_run("a", at(1))
            assert woken.wait(2)
            woken.clear()
            other.claim_jobs("s1", at(0))  # the claim's own writes notify nobody
            assert not woken.wait(1.5)
        finally:
            other.shutdown()
    finally:
        started = time.monotonic()
        store.unwatch()
        assert time.monotonic() - started < 3  # the listener looks every second
    assert store._listener is None


def test_watch_does_nothing_without_notifications(
    new_store: Callable[..., SQLAlchemyJobStore],
) -> None:
    store = new_store("sqlite_file")
    store.watch(lambda: None)
    assert store._listener is None
    assert store.poll_interval == 5.0
