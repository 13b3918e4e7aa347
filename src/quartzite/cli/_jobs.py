"""``quartzite jobs``: list, show, pause, resume, remove and run-now the jobs of a store.

Every subcommand opens the store through a scheduler started paused (see ``_stores``) and calls
the scheduler's own methods, so a change reaches the schedulers running on that store (at once
where the store notifies them, within their poll interval otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from typing import IO, Any

from ..job import Job
from ..jobstores.base import JobLookupError
from ..runs import JobRun, RunStatus
from ..schedulers.base import BaseScheduler
from ..triggers.preview import next_fire_times
from ..util import UTC
from ._output import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CliError,
    Styler,
    describe_trigger,
    format_duration,
    format_local,
    format_relative,
    format_when,
    job_to_json,
    print_json,
    render_table,
    run_to_json,
)
from ._stores import add_store_options, open_scheduler

__all__ = ("add_jobs_parser", "run_table_rows")

# How often run-now --wait reads the record (seconds)
_POLL_INTERVAL = 0.2


def add_jobs_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Add ``jobs`` and its subcommands to the top-level parser's ``subparsers``."""
    jobs = subparsers.add_parser(
        "jobs",
        parents=[parent],
        help="list, show, pause, resume, remove or run the jobs of a store",
        description="Inspect and steer the jobs of a job store. The store options may be "
        "given before or after the subcommand.",
    )
    add_store_options(jobs)
    commands = jobs.add_subparsers(dest="jobs_command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, with_id: bool = True) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, parents=[parent], help=help_text, description=help_text
        )
        if with_id:
            sub.add_argument("job_id", metavar="ID", help="the job's id")
        add_store_options(sub, suppress=True)
        return sub

    listing = command("list", "List the jobs: id, name, schedule, next run, last run.", False)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_jobs)

    show = command("show", "Show every field of a job, its next 5 run times and last 10 runs.")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("-n", type=int, default=5, metavar="N", help="run times to show (5)")
    show.add_argument("--runs", type=int, default=10, metavar="N", help="runs to show (10)")
    show.set_defaults(handler=show_job)

    command("pause", "Pause a job: it keeps its schedule but does not run.").set_defaults(
        handler=pause_job
    )
    command("resume", "Resume a paused job from now on.").set_defaults(handler=resume_job)

    remove = command("remove", "Remove a job (asks first, unless --yes).")
    remove.add_argument("-y", "--yes", action="store_true", help="do not ask")
    remove.set_defaults(handler=remove_job)

    run_now = command(
        "run-now",
        "Ask for one extra run of a job now; a scheduler running on the store takes it.",
    )
    run_now.add_argument(
        "--wait", action="store_true", help="wait for the outcome; exit 1 unless it succeeded"
    )
    run_now.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up waiting after this long (60)",
    )
    run_now.add_argument("--json", action="store_true", help="print the run record as JSON")
    run_now.set_defaults(handler=run_job_now)


def _now() -> datetime:
    return datetime.now(UTC)


def _find_job(scheduler: BaseScheduler, job_id: str) -> Job:
    job = scheduler.get_job(job_id)
    if job is None:
        raise CliError(f"no job with id {job_id!r} in this store", EXIT_FAILURE)
    return job


def _last_run(scheduler: BaseScheduler, job_id: str) -> JobRun | None:
    runs = scheduler.get_job_runs(job_id, limit=1)
    return runs[0] if runs else None


def _sort_key(job: Job) -> tuple[int, float, str]:
    next_run_time = job.next_run_time
    if next_run_time is None:
        return (1, 0.0, job.id)
    return (0, next_run_time.timestamp(), job.id)


def list_jobs(args: argparse.Namespace, out: IO[str]) -> int:
    """``jobs list``."""
    styler = Styler.for_stream(out)
    with open_scheduler(args) as scheduler:
        jobs = sorted(scheduler.get_jobs(), key=_sort_key)
        last_runs = {job.id: _last_run(scheduler, job.id) for job in jobs}
    if args.json:
        data = []
        for job in jobs:
            entry = job_to_json(job, getattr(job, "_jobstore_alias", None))
            last = last_runs[job.id]
            entry["last_run"] = run_to_json(last) if last else None
            data.append(entry)
        print_json(data, out)
        return 0
    if not jobs:
        print("No jobs.", file=out)
        return 0
    now = _now()
    rows = []
    for job in jobs:
        last = last_runs[job.id]
        last_text = (
            f"{styler.status(last.status)} {format_relative(last.scheduled_run_time, now)}"
            if last
            else "-"
        )
        next_text = (
            styler("paused", "yellow")
            if job.next_run_time is None
            else format_when(job.next_run_time, now)
        )
        rows.append([job.id, job.name, describe_trigger(job.trigger), next_text, last_text])
    render_table(["ID", "NAME", "SCHEDULE", "NEXT RUN", "LAST RUN"], rows, styler, out)
    return 0


def run_table_rows(runs: list[JobRun], styler: Styler, now: datetime) -> list[list[str]]:
    """Rows of a run table: scheduled time, job, status, duration, scheduler, notes."""
    rows = []
    for run in runs:
        notes = []
        if run.manual:
            notes.append("run-now")
        if run.recovered or run.attempt > 1:
            notes.append(f"attempt {run.attempt}")
        if run.exception_type or run.exception_message:
            first = (run.exception_message or "").strip().splitlines()
            notes.append(f"{run.exception_type or 'error'}: {first[0] if first else ''}".strip())
        rows.append(
            [
                format_when(run.scheduled_run_time, now),
                run.job_id,
                styler.status(run.status),
                format_duration(run.duration),
                run.scheduler_id or "-",
                "; ".join(notes),
            ]
        )
    return rows


RUN_HEADERS = ["SCHEDULED", "JOB", "STATUS", "DURATION", "SCHEDULER", "NOTES"]


def show_job(args: argparse.Namespace, out: IO[str]) -> int:
    """``jobs show ID``."""
    styler = Styler.for_stream(out)
    if args.n < 0 or args.runs < 0:
        raise CliError("-n and --runs must not be negative", EXIT_USAGE)
    with open_scheduler(args) as scheduler:
        job = _find_job(scheduler, args.job_id)
        runs = scheduler.get_job_runs(job.id, limit=args.runs) if args.runs else []
    now = _now()
    start = job.next_run_time or now
    try:
        upcoming = list(next_fire_times(job.trigger, start, args.n))
    except Exception:  # a broken trigger: show the job anyway
        upcoming = []
    if args.json:
        data = job_to_json(job, getattr(job, "_jobstore_alias", None))
        data["next_run_times"] = upcoming
        data["runs"] = [run_to_json(run) for run in runs]
        print_json(data, out)
        return 0

    grace = job.misfire_grace_time
    fields = [
        ("id", job.id),
        ("name", job.name),
        ("func", job.func_ref or repr(job.func)),
        ("args", repr(list(job.args))),
        ("kwargs", repr(dict(job.kwargs))),
        ("trigger", str(job.trigger)),
        ("schedule", describe_trigger(job.trigger)),
        (
            "next run",
            "paused" if job.next_run_time is None else format_when(job.next_run_time, now),
        ),
        ("executor", job.executor),
        ("job store", getattr(job, "_jobstore_alias", None) or "-"),
        ("max instances", str(job.max_instances)),
        ("coalesce", "yes" if job.coalesce else "no"),
        ("misfire grace", "no limit" if grace is None else f"{grace} s"),
        ("at most once", "yes" if job.at_most_once else "no"),
    ]
    width = max(len(name) for name, _ in fields) + 1
    for name, value in fields:
        print(f"{styler(f'{name}:'.ljust(width), 'bold')} {value}", file=out)
    if args.n:
        title = f"Next {_plural(len(upcoming), 'run time')}"
        if job.next_run_time is None:
            title += " (if resumed now)"
        print(f"\n{styler(title + ':', 'bold')}", file=out)
        for fire_time in upcoming:
            print(f"  {format_when(fire_time, now)}", file=out)
        if not upcoming:
            print("  none: the schedule is over", file=out)
    if args.runs:
        title = f"Last {_plural(len(runs), 'run')}:"
        print(f"\n{styler(title, 'bold')}", file=out)
        if runs:
            render_table(RUN_HEADERS, run_table_rows(runs, styler, now), styler, out)
        else:
            print("  none recorded", file=out)
    return 0


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{count} {noun}s"


def pause_job(args: argparse.Namespace, out: IO[str]) -> int:
    """``jobs pause ID``."""
    with open_scheduler(args) as scheduler:
        _find_job(scheduler, args.job_id)
        try:
            scheduler.pause_job(args.job_id)
        except JobLookupError:
            raise CliError(f"no job with id {args.job_id!r} in this store") from None
    print(f"Paused job {args.job_id!r}.", file=out)
    return 0


def resume_job(args: argparse.Namespace, out: IO[str]) -> int:
    """``jobs resume ID``."""
    with open_scheduler(args) as scheduler:
        _find_job(scheduler, args.job_id)
        try:
            job = scheduler.resume_job(args.job_id)
        except JobLookupError:
            raise CliError(f"no job with id {args.job_id!r} in this store") from None
    if job is None:
        print(f"Job {args.job_id!r} had no run time left and was removed.", file=out)
    else:
        print(
            f"Resumed job {args.job_id!r}; next run {format_when(job.next_run_time, _now())}.",
            file=out,
        )
    return 0


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def remove_job(args: argparse.Namespace, out: IO[str]) -> int:
    """``jobs remove ID`` (asks on a terminal unless ``--yes``; refuses without a terminal)."""
    if not args.yes and not sys.stdin.isatty():
        raise CliError(
            "not removing without confirmation: stdin is not a terminal (pass --yes)", EXIT_USAGE
        )
    with open_scheduler(args) as scheduler:
        job = _find_job(scheduler, args.job_id)
        if not args.yes and not _confirm(f"Remove job {job.id!r} ({job.name})?"):
            print("Not removed.", file=out)
            return EXIT_FAILURE
        try:
            scheduler.remove_job(args.job_id)
        except JobLookupError:
            raise CliError(f"no job with id {args.job_id!r} in this store") from None
    print(f"Removed job {args.job_id!r}.", file=out)
    return 0


def _same_time(left: datetime, right: datetime) -> bool:
    # Stores keep times to the microsecond or the millisecond: compare within a millisecond.
    return abs(left - right) < timedelta(milliseconds=1)


def _wait_for(scheduler: BaseScheduler, requested: JobRun, timeout: float) -> JobRun:
    """Poll the record of a requested run until it is final or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    latest = requested
    while True:
        # (every record since the request: a busy job may have had many runs since)
        since = requested.scheduled_run_time - timedelta(seconds=1)
        for run in scheduler.get_job_runs(requested.job_id, since=since, limit=None):
            if run.manual and _same_time(run.scheduled_run_time, requested.scheduled_run_time):
                latest = run
                break
        if latest.status.finished or time.monotonic() >= deadline:
            return latest
        time.sleep(_POLL_INTERVAL)


def run_job_now(args: argparse.Namespace, out: IO[str]) -> int:
    """``jobs run-now ID [--wait [--timeout S]]``."""
    if args.timeout <= 0:
        raise CliError("--timeout must be a positive number of seconds", EXIT_USAGE)
    styler = Styler.for_stream(out)
    with open_scheduler(args) as scheduler:
        _find_job(scheduler, args.job_id)
        try:
            record = scheduler.run_job_now(args.job_id)
        except JobLookupError:
            raise CliError(f"no job with id {args.job_id!r} in this store") from None
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
        if not args.json:
            print(
                f"Requested a run of job {args.job_id!r} "
                f"(run time {format_local(record.scheduled_run_time)}).",
                file=out,
            )
        if not args.wait:
            if args.json:
                print_json(run_to_json(record), out)
            return 0
        if not args.json:
            print("Waiting for a scheduler to run it...", file=out, flush=True)
        final = _wait_for(scheduler, record, args.timeout)

    if args.json:
        print_json(run_to_json(final), out)
    if final.status == RunStatus.PENDING:
        raise CliError(
            f"no scheduler picked up the run of job {args.job_id!r} within {args.timeout:g} s "
            "(is a scheduler running on this store?)"
        )
    if not final.status.finished:
        raise CliError(
            f"the run of job {args.job_id!r} was still {final.status} after {args.timeout:g} s"
        )
    if not args.json:
        line = f"Run finished: {styler.status(final.status)}"
        if final.duration is not None:
            line += f" in {format_duration(final.duration)}"
        print(line, file=out)
        if final.exception_type:
            message = (final.exception_message or "").strip().splitlines()
            print(f"{final.exception_type}: {message[0] if message else ''}", file=out)
    if final.status != RunStatus.SUCCESS:
        raise CliError(f"the run of job {args.job_id!r} ended with status {final.status}")
    return 0
