"""The parts ``BaseScheduler`` is composed of: the component registry
(``schedulers/_components.py``), the job catalogue (``schedulers/_jobs.py``), and the views that
keep the contract's attributes (``_executors``, ``_listeners`` ...) assignable on the scheduler."""

from __future__ import annotations

import io
from unittest import mock

import pytest

from quartzite.events import EVENT_ALL, EVENT_JOB_ADDED, EVENT_JOB_EXECUTED
from quartzite.executors.debug import DebugExecutor
from quartzite.jobstores.base import JobLookupError
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers._components import UnknownAliasError
from support import DummyScheduler, EventRecorder, RecordingExecutor, no_args_job


def test_assigning_the_contract_tables_reaches_the_parts(scheduler: DummyScheduler) -> None:
    executor, store = DebugExecutor(), MemoryJobStore()
    scheduler._executors = {"mine": executor}
    scheduler._jobstores = {"mine": store}

    assert scheduler._lookup_executor("mine") is executor
    assert scheduler._lookup_jobstore("mine") is store
    scheduler.remove_executor("mine")  # the registry holds it: removing by alias works
    with pytest.raises(KeyError):
        scheduler._lookup_executor("mine")


def test_assigning_the_listener_list_reaches_the_hub(scheduler: DummyScheduler) -> None:
    recorder = EventRecorder()
    scheduler._listeners = [(recorder, EVENT_ALL)]
    scheduler.add_job(no_args_job)  # pending: no event
    scheduler.start()
    assert EVENT_JOB_ADDED in recorder.codes


def test_assigning_the_pending_list_reaches_the_catalogue(scheduler: DummyScheduler) -> None:
    job = scheduler.add_job(no_args_job, id="kept")
    scheduler._pending_jobs = [(job, "default", False)]
    scheduler.start()
    assert [stored.id for stored in scheduler.get_jobs()] == ["kept"]


def test_a_mocked_lookup_on_the_instance_is_used_by_remove_executor(
    scheduler: DummyScheduler,
) -> None:
    executor = RecordingExecutor()
    scheduler.add_executor(executor, "x")
    with mock.patch.object(scheduler, "_lookup_executor", return_value=executor) as lookup:
        scheduler.remove_executor("x")
    lookup.assert_called_once_with("x")
    assert "x" not in scheduler._executors


def test_plugins_are_built_through_the_instance_hook(scheduler: DummyScheduler) -> None:
    built = DebugExecutor()
    with mock.patch.object(scheduler, "_create_plugin_instance", return_value=built) as create:
        scheduler.add_executor("whatever", "x", option=1)
    create.assert_called_once_with("executor", "whatever", {"option": 1})
    assert scheduler._executors["x"] is built


def test_plugin_tables_installed_on_the_instance_are_used(scheduler: DummyScheduler) -> None:
    plugin = mock.MagicMock()
    plugin.load.return_value = DebugExecutor
    scheduler._executor_plugins = {"mine": plugin}
    scheduler._executor_classes = {}
    scheduler.add_executor("mine", "x")
    assert isinstance(scheduler._executors["x"], DebugExecutor)
    assert scheduler._executor_classes == {"mine": DebugExecutor}


def test_unknown_alias_error_lists_the_aliases_and_reads_as_a_sentence(
    scheduler: DummyScheduler,
) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "archive")
    scheduler.add_job(no_args_job, id="lost", jobstore="archiv")
    with pytest.raises(KeyError) as exc:
        scheduler.start()
    assert isinstance(exc.value, UnknownAliasError)
    assert str(exc.value) == (
        "No such job store: archiv (named by pending job 'lost') -- the job stores of this "
        "scheduler are: 'archive', 'default'; did you mean 'archive'?"
    )
    assert str(UnknownAliasError()) == ""


def test_components_added_to_a_running_scheduler_are_started(scheduler: DummyScheduler) -> None:
    scheduler.start()
    executor = RecordingExecutor()
    scheduler.add_executor(executor, "late")
    assert executor.calls == [("executor.start", scheduler, "late")]


def test_the_catalogue_answers_from_the_pending_list_until_start(
    scheduler: DummyScheduler,
) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "other")
    first = scheduler.add_job(no_args_job, id="a")
    scheduler.add_job(no_args_job, id="b", jobstore="other")

    assert scheduler._lookup_job("b", None) == (scheduler._pending_jobs[1][0], None)
    assert scheduler.get_jobs("default") == [first]
    with pytest.raises(JobLookupError):
        scheduler.remove_job("b", "default")  # wrong store
    scheduler.remove_job("b")
    assert [job.id for job in scheduler.get_jobs()] == ["a"]
    assert printed_jobs(scheduler) == f"Pending jobs:\n    {first}\n"

    scheduler.start()
    assert scheduler._lookup_job("a", None) == (first, "default")
    assert printed_jobs(scheduler, "other") == "Jobstore other:\n    No scheduled jobs\n"
    scheduler.remove_all_jobs()
    assert scheduler.get_jobs() == []


def printed_jobs(scheduler: DummyScheduler, jobstore: str | None = None) -> str:
    out = io.StringIO()
    scheduler.print_jobs(jobstore, out=out)
    return out.getvalue()


@pytest.mark.parametrize("method", ["remove_executor", "remove_jobstore"])
def test_removing_an_unknown_component_keeps_the_contract_message(
    scheduler: DummyScheduler, method: str
) -> None:
    with pytest.raises(KeyError) as exc:
        getattr(scheduler, method)("nope")
    label = "executor" if method == "remove_executor" else "job store"
    assert exc.value.args == (f"No such {label}: nope",)


def test_a_run_outcome_reaches_the_listeners_once(
    scheduler: DummyScheduler, recorder: EventRecorder
) -> None:
    scheduler.start()
    job = scheduler.add_job(no_args_job)  # due now; the default executor runs it in the round
    scheduler._process_jobs()
    (executed,) = recorder.of(EVENT_JOB_EXECUTED)
    assert (executed.job_id, executed.retval) == (job.id, "done")
