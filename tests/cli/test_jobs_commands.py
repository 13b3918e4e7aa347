"""``quartzite jobs`` and ``quartzite history`` against SQLite, PostgreSQL and Redis stores filled
by a real scheduler: every subcommand and option, JSON parsed back, exit statuses."""

from __future__ import annotations

import json
from datetime import datetime

from .conftest import Backend, assert_error, run_cli, wait_for_runs


def _json(result: object) -> object:
    assert result.returncode == 0, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_list_and_show(filled: Backend) -> None:
    jobs = {job["id"]: job for job in _json(filled.cli("jobs", "list", "--json"))}
    assert set(jobs) == {"ok", "fail", "morning", "sleeper"}
    assert jobs["sleeper"]["paused"] is True and jobs["sleeper"]["next_run_time"] is None
    assert jobs["ok"]["last_run"]["status"] == "success"
    assert jobs["fail"]["last_run"]["status"] == "error"
    assert jobs["morning"]["last_run"] is None
    assert jobs["morning"]["trigger_description"].startswith("at 09:00 on Monday through Friday")
    assert _when(jobs["ok"]["next_run_time"]).tzinfo is not None

    shown = _json(filled.cli("jobs", "show", "ok", "--json"))
    assert shown["func"] == "cli.jobfuncs:ok" and shown["name"] == "ok job"  # type: ignore[index]
    assert shown["args"] == [1, 2] and shown["kwargs"] == {"a": 1}  # type: ignore[index]
    times = [_when(text) for text in shown["next_run_times"]]  # type: ignore[index]
    assert len(times) == 5 and times == sorted(times)
    assert [run["status"] for run in shown["runs"]] == ["success"]  # type: ignore[index]

    if filled.kind != "sqlite":
        return  # the human forms below are the same whatever the store
    listing = filled.cli("jobs", "list")
    assert listing.returncode == 0, listing.stderr
    header, *rows = listing.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "SCHEDULE", "NEXT", "RUN", "LAST", "RUN"]
    # aligned columns: every row's second column starts where the header's does
    assert all(row[header.index("NAME")] != " " for row in rows)
    assert any(row.startswith("sleeper") and "paused" in row for row in rows)
    assert any(row.startswith("fail") and "error" in row and " ago" in row for row in rows)
    assert "\x1b[" not in listing.stdout  # not a terminal: no colour

    human = filled.cli("jobs", "show", "morning", "-n", "3", "--runs", "2")
    assert human.returncode == 0, human.stderr
    assert "at 09:00 on Monday through Friday" in human.stdout
    assert "Next 3 run times:" in human.stdout and "CET" in human.stdout
    assert "none recorded" in human.stdout


def test_history(filled: Backend) -> None:
    runs = _json(filled.cli("history", "--json"))
    assert {(run["job_id"], run["status"]) for run in runs} == {  # type: ignore[union-attr]
        ("ok", "success"),
        ("fail", "error"),
    }
    times = [_when(run["scheduled_run_time"]) for run in runs]  # type: ignore[union-attr]
    assert times == sorted(times, reverse=True)
    failed = next(run for run in runs if run["job_id"] == "fail")  # type: ignore[union-attr]
    assert failed["exception_type"].endswith("RuntimeError") and failed["manual"] is True
    assert failed["duration"] >= 0

    only = _json(filled.cli("history", "fail", "--status", "error", "--since", "1h", "--json"))
    assert [run["job_id"] for run in only] == ["fail"]  # type: ignore[union-attr]
    if filled.kind == "sqlite":  # the options work alike on every store: one is enough
        assert _json(filled.cli("history", "--status", "missed", "--json")) == []
        assert len(_json(filled.cli("history", "--limit", "1", "--json"))) == 1  # type: ignore[arg-type]
        future = _json(filled.cli("history", "--since", "2999-01-01T00:00:00+00:00", "--json"))
        assert future == []
        short = filled.cli("history", "fail")
        assert "broken on purpose" in short.stdout and "second line" not in short.stdout

    table = filled.cli("history", "--since", "PT1H", "--traceback")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["SCHEDULED", "JOB", "STATUS"]
    assert "RuntimeError: broken on purpose" in table.stdout
    assert "second line of the message" in table.stdout  # --traceback: all of it
    assert 'raise RuntimeError("broken on purpose' in table.stdout


def test_pause_resume_remove(filled: Backend) -> None:
    def jobs() -> dict[str, dict[str, object]]:
        listed = _json(filled.cli("jobs", "list", "--json"))
        return {job["id"]: job for job in listed}  # type: ignore[union-attr]

    assert filled.cli("jobs", "pause", "ok").returncode == 0
    assert jobs()["ok"]["paused"] is True
    resumed = filled.cli("jobs", "resume", "ok")
    assert resumed.returncode == 0 and "next run" in resumed.stdout

    if filled.kind == "sqlite":
        # not a terminal and no --yes: refused, nothing removed
        assert_error(filled.cli("jobs", "remove", "sleeper"), 2, "--yes")
    assert filled.cli("jobs", "remove", "sleeper", "--yes").returncode == 0
    after = jobs()
    assert set(after) == {"ok", "fail", "morning"}
    assert after["ok"]["paused"] is False and after["ok"]["next_run_time"] is not None

    assert_error(filled.cli("jobs", "show", "nope"), 1, "'nope'")
    assert_error(filled.cli("history", "nope"), 1, "'nope'")
    if filled.kind == "sqlite":  # the same lookup in every store: one is enough
        for command in ("pause", "resume", "run-now"):
            assert_error(filled.cli("jobs", command, "nope"), 1, "'nope'")
        assert_error(filled.cli("jobs", "remove", "nope", "--yes"), 1, "'nope'")


def test_run_now(filled: Backend) -> None:
    # Nobody runs jobs on the store: the request stays pending, --wait says so.
    waited = filled.cli("jobs", "run-now", "morning", "--wait", "--timeout", "1")
    assert_error(waited, 1, "no scheduler picked up")
    pending = _json(filled.cli("history", "morning", "--status", "pending", "--json"))
    assert len(pending) == 1  # type: ignore[arg-type]

    scheduler = filled.scheduler()
    scheduler.start()
    try:
        wait_for_runs(scheduler, "morning", 1)  # the pending request was taken
        succeeded = filled.cli("jobs", "run-now", "ok", "--wait", "--timeout", "30")
        assert succeeded.returncode == 0, succeeded.stderr
        assert "Run finished: success" in succeeded.stdout
        failed = filled.cli("jobs", "run-now", "fail", "--wait", "--json", "--timeout", "30")
        assert_error(failed, 1, "status error")
        assert json.loads(failed.stdout)["status"] == "error"
        asked = _json(filled.cli("jobs", "run-now", "ok", "--json"))
        assert asked["status"] == "pending" and asked["manual"] is True  # type: ignore[index]
    finally:
        scheduler.shutdown()


def test_store_options_anywhere_and_config(filled: Backend, tmp_path: object) -> None:
    if filled.kind != "sqlite":
        return  # the option forms are the same for every store
    before = run_cli("jobs", *filled.cli_args, "list", "--json")
    assert before.returncode == 0 and len(json.loads(before.stdout)) == 4
    url, table = filled.cli_args[1], filled.cli_args[3]
    config = tmp_path / "service.toml"  # type: ignore[operator]
    config.write_text(
        f'timezone = "UTC"\n[jobstores.default]\ntype = "sqlalchemy"\nurl = "{url}"\n'
        f'tablename = "{table}"\n'
    )
    listed = run_cli("jobs", "list", "--json", "--config", str(config))
    assert {job["id"] for job in json.loads(listed.stdout)} == {"ok", "fail", "morning", "sleeper"}
    assert len(_json(run_cli("history", "--config", str(config), "--json"))) == 2  # type: ignore[arg-type]
