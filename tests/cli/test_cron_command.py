"""``quartzite cron``: both syntaxes, the options, JSON parsed back, and malformed expressions."""

from __future__ import annotations

import json
from datetime import datetime

from .conftest import assert_error, run_cli


def test_crontab_syntax_in_a_zone() -> None:
    result = run_cli(
        "cron", "*/30 9-10 * * mon-fri", "--tz", "America/New_York", "-n", "4",
        "--from", "2024-03-08T00:00:00-05:00", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["syntax"] == "crontab" and data["timezone"] == "America/New_York"
    assert data["explanation"] == (
        "every 30 minutes, during hours 9 through 10 on Monday through Friday, America/New_York"
    )
    # Friday 8 March, then Monday 11 March, after the change to daylight saving time
    assert [datetime.fromisoformat(text).isoformat() for text in data["next"]] == [
        "2024-03-08T09:00:00-05:00",
        "2024-03-08T09:30:00-05:00",
        "2024-03-08T10:00:00-05:00",
        "2024-03-08T10:30:00-05:00",
    ]


def test_field_syntax_macro_and_human_output() -> None:
    fields = run_cli("cron", "minute=*/5", "hour=9-17", "--tz", "UTC", "-n", "2", "--json")
    data = json.loads(fields.stdout)
    assert data["syntax"] == "fields" and len(data["next"]) == 2
    assert data["explanation"].startswith("every 5 minutes, during hours 9 through 17")

    human = run_cli("cron", "@daily", "--tz", "Europe/Berlin", "-n", "3")
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[0] == "Schedule: at 00:00, Europe/Berlin"
    assert lines[1] == "Next 3 fire times:"
    assert all(line.strip().endswith(")") and "00:00:00 CE" in line for line in lines[2:])


def test_crontab_weekdays() -> None:
    # Standard crontab reads 0 as Sunday; CronTrigger's own numbering, as Monday.
    common = ["--tz", "UTC", "-n", "1", "--from", "2024-01-01T12:00:00+00:00", "--json"]
    standard = json.loads(run_cli("cron", "0 9 * * 0", "--crontab", *common).stdout)
    own = json.loads(run_cli("cron", "0", "9", "*", "*", "0", *common).stdout)
    assert standard["next"] == ["2024-01-07T09:00:00+00:00"]  # Sunday
    assert own["next"] == ["2024-01-08T09:00:00+00:00"]  # Monday


def test_malformed_expressions() -> None:
    assert_error(run_cli("cron", "61 * * * *"), 2, "'minute'", "0-59")
    assert_error(run_cli("cron", "* * * *"), 2, "Wrong number of fields")
    assert_error(run_cli("cron", "@dayly"), 2, "@daily")
    assert_error(run_cli("cron", "minutes=5"), 2, "'minutes'", "did you mean 'minute'")
    assert_error(run_cli("cron", "day=31", "month=2"), 2, "never fire")
    assert_error(run_cli("cron", "@daily", "--tz", "Mars/Olympus"), 2, "Mars/Olympus")
    assert_error(run_cli("cron"), 2, "EXPR")


def test_colour_only_on_a_terminal_without_no_color() -> None:
    import os
    import pty
    import subprocess
    import sys

    from .conftest import cli_env

    def on_terminal(**env: str) -> str:
        leader, follower = pty.openpty()
        try:
            process = subprocess.run(
                [sys.executable, "-m", "quartzite", "cron", "@daily", "-n", "1"],
                stdout=follower, stderr=subprocess.PIPE, env=cli_env(**env), timeout=60,
            )  # fmt: skip
            assert process.returncode == 0, process.stderr
            return os.read(leader, 65536).decode()
        finally:
            os.close(leader)
            os.close(follower)

    assert "\x1b[1m" in on_terminal()
    assert "\x1b[" not in on_terminal(NO_COLOR="1")
    assert "\x1b[" not in run_cli("cron", "@daily", "-n", "1").stdout
