"""``quartzite run CONFIG.toml``: a scheduler as a long-lived service.

The scheduler is configured from the file (see ``_config``), its jobs are added with
``replace_existing=True`` (so restarting the service does not add copies), and it runs until
SIGTERM or SIGINT. Then it stops taking new runs and waits for the running ones, at most
``--grace`` seconds; past that it exits without them (their records stay ``running`` until
another scheduler sharing the store recovers them when this one's lease ends).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from types import FrameType
from typing import IO, Any

from ..schedulers.background import BackgroundScheduler
from ..schedulers.base import BaseScheduler
from ..util import UTC
from ._config import ServiceConfig, load_config
from ._output import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CliError,
    Styler,
    describe_trigger,
    format_when,
    one_line,
    render_table,
)
from ._stores import check_reachable, protect_jobs

__all__ = ("add_run_parser",)

_logger = logging.getLogger("quartzite.cli")


def add_run_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Add ``run`` to the top-level parser's ``subparsers``."""
    parser = subparsers.add_parser(
        "run",
        parents=[parent],
        help="run a scheduler as a service, configured by a TOML file",
        description="Run a scheduler configured by a TOML file (time zone, job stores, "
        "executors, job defaults and [[jobs]]) until SIGTERM or SIGINT.",
    )
    parser.add_argument("config_file", metavar="CONFIG.toml", help="the configuration file")
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the file (functions importable, triggers valid, stores reachable) and "
        "print each job's next run time",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, wait this long for running jobs to finish (30)",
    )
    parser.set_defaults(handler=run_service)


def _open_stores(config: ServiceConfig) -> None:
    """Open every store of the file once (through a scheduler started paused) and close it."""
    scheduler = config.build_scheduler(BackgroundScheduler, executors=False)
    protect_jobs(scheduler)
    for alias, store in list(scheduler._jobstores.items()):
        check_reachable(store, f"{alias!r} of {config.path}", require_table=False)
    try:
        scheduler.start(paused=True)
    except Exception as exc:
        raise CliError(
            f"{config.path}: cannot open the job stores: {one_line(str(exc))}", EXIT_FAILURE
        ) from None
    scheduler.shutdown(wait=False)


def check_config(config: ServiceConfig, out: IO[str]) -> int:
    """``run --check``: validate everything without running or storing anything."""
    # A scheduler that is never started: adding jobs to it builds their triggers and imports
    # their functions, and stores nothing.
    checker = config.build_scheduler(BackgroundScheduler, quiet=True)
    config.add_jobs(checker)
    _open_stores(config)
    now = datetime.now(UTC)
    rows = []
    for job in checker.get_jobs():
        try:
            next_run = job.trigger.get_next_fire_time(None, now)
        except Exception as exc:
            raise config.error(f"the trigger cannot compute a run time: {exc}", f"job {job.id!r}")
        rows.append([job.id, describe_trigger(job.trigger), format_when(next_run, now)])
    styler = Styler.for_stream(out)
    print(f"{config.path}: OK ({len(rows)} jobs)", file=out)
    if rows:
        render_table(["ID", "SCHEDULE", "NEXT RUN"], rows, styler, out)
    return 0


class _Stopper:
    """Turns SIGTERM/SIGINT into a request to stop, seen by the main thread."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.signal_name = ""

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            # A second signal while shutting down: the operator insists.
            _logger.warning("Second %s: exiting now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(EXIT_FAILURE)
        self.signal_name = signal.Signals(signum).name
        self.requested.set()


def _shutdown(scheduler: BaseScheduler, grace: float) -> int:
    """Shut down waiting for running jobs, at most ``grace`` seconds."""
    done = threading.Event()

    def stop() -> None:
        try:
            scheduler.shutdown(wait=True)
        except Exception:
            _logger.exception("Error while shutting down the scheduler")
        finally:
            done.set()

    threading.Thread(target=stop, name="quartzite-shutdown", daemon=True).start()
    if done.wait(grace):
        _logger.info("Stopped")
        return 0
    _logger.warning(
        "Jobs still running after the grace period of %g s: exiting without them (their "
        "runs will be recovered by a scheduler sharing the store)",
        grace,
    )
    return EXIT_FAILURE


def run_service(args: argparse.Namespace, out: IO[str]) -> int:
    """``run CONFIG.toml [--check] [--grace S]``."""
    if args.grace < 0:
        raise CliError("--grace must not be negative", EXIT_USAGE)
    config = load_config(args.config_file)
    if args.check:
        return check_config(config, out)

    # Every job is checked on a scheduler that is never started, before any store is touched.
    config.add_jobs(config.build_scheduler(BackgroundScheduler, quiet=True))
    scheduler = config.build_scheduler(BackgroundScheduler)
    for alias, store in list(scheduler._jobstores.items()):
        check_reachable(store, f"{alias!r} of {config.path}", require_table=False)
    stopper = _Stopper()
    previous = {sig: signal.signal(sig, stopper) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            # Started paused, the jobs are added knowing what the stores hold (see add_jobs).
            scheduler.start(paused=True)
        except Exception as exc:
            raise CliError(
                f"{config.path}: the scheduler did not start: {one_line(str(exc))}", EXIT_FAILURE
            ) from None
        try:
            config.add_jobs(scheduler)
        except BaseException:
            scheduler.shutdown(wait=False)
            raise
        scheduler.resume()
        _logger.info(
            "Running %d job(s) from %s as scheduler %s (pid %d)",
            len(config.jobs),
            config.path,
            scheduler.scheduler_id,
            os.getpid(),
        )
        while not stopper.requested.wait(1.0):
            thread = getattr(scheduler, "_thread", None)
            if thread is not None and not thread.is_alive():
                _shutdown(scheduler, args.grace)
                raise CliError("the scheduler's thread stopped unexpectedly", EXIT_FAILURE)
        _logger.info(
            "%s received: stopping (waiting up to %g s for running jobs)",
            stopper.signal_name,
            args.grace,
        )
        status = _shutdown(scheduler, args.grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status != 0:
        # Past the grace period: the executor's worker threads would hold the interpreter's
        # exit until their jobs end, which is what the grace period bounds.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
