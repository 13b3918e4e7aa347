"""Test support shared by the whole suite: schedulers, jobs, an event recorder and the fake clock.

Imported as ``support`` (pytest puts the ``tests`` directory on ``sys.path``; see
:mod:`support.jobs` for why job functions must be importable by reference).
"""

from __future__ import annotations

from .alarm import Hang, alarm
from .clock import CLOCK_MODULES, FROZEN_START, FakeClock, install_fake_clock
from .events import TIMEOUT, EventRecorder
from .executors import OutcomeRecordingScheduler, PoolSpy, run_slot_is_free
from .jobs import (
    Owner,
    add,
    coroutine_job,
    dummy_job,
    exit_process,
    fail,
    get_pid,
    get_sys_path,
    make_job,
    no_args_job,
    other_job,
)
from .schedulers import DummyScheduler, RecordingExecutor, RecordingJobStore

__all__ = [
    "CLOCK_MODULES",
    "FROZEN_START",
    "TIMEOUT",
    "DummyScheduler",
    "EventRecorder",
    "FakeClock",
    "Hang",
    "OutcomeRecordingScheduler",
    "Owner",
    "PoolSpy",
    "RecordingExecutor",
    "RecordingJobStore",
    "add",
    "alarm",
    "coroutine_job",
    "dummy_job",
    "exit_process",
    "fail",
    "get_pid",
    "get_sys_path",
    "install_fake_clock",
    "make_job",
    "no_args_job",
    "other_job",
    "run_slot_is_free",
]
