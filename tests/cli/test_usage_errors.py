"""Bad input ends in one line on stderr and exit status 1 or 2; help on every command; the
installed console script; and jobs that the command line cannot import stay in their store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Backend, assert_error, cli_env, run_cli

CONFIG = """\
timezone = "Europe/Berlin"
scheduler_id = "cli-test"

[jobstores.default]
type = "sqlalchemy"
url = "sqlite:///{path}"

[executors.default]
type = "threadpool"
max_workers = 2

[job_defaults]
coalesce = true

[[jobs]]
id = "ok"
func = "cli.jobfuncs:ok"
trigger = "interval"
minutes = 5
args = [1]
kwargs = {{a = 1}}

[[jobs]]
id = "morning"
func = "cli.jobfuncs:ok"
trigger = "cron"
day_of_week = "mon-fri"
hour = 9
"""


def test_help_and_version() -> None:
    commands = [[], ["run"], ["jobs"], ["history"], ["cron"]]
    commands += [
        ["jobs", name] for name in ("list", "show", "pause", "resume", "remove", "run-now")
    ]
    for command in commands:
        result = run_cli(*command, "--help")
        assert result.returncode == 0 and "usage: quartzite" in result.stdout, command
    assert run_cli("--version").stdout.startswith("quartzite ")


def test_bad_usage() -> None:
    assert_error(run_cli(), 2, "COMMAND")
    assert_error(run_cli("frobnicate"), 2, "frobnicate")
    assert_error(run_cli("jobs", "list", "--bogus"), 2, "--bogus")
    assert_error(run_cli("jobs", "list"), 2, "--store URL")
    assert_error(run_cli("jobs", "list", "--store", "ftp://host/x"), 2, "unknown store URL")
    assert_error(run_cli("history", "--store", "sqlite://"), 2, "in-memory")
    since = run_cli("history", "--store", "redis://127.0.0.1:6379/0", "--since", "yesterday")
    assert_error(since, 2, "--since")


def test_unreachable_stores(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite"
    assert_error(run_cli("jobs", "list", "--store", f"sqlite:///{missing}"), 1, str(missing))
    postgres = run_cli("jobs", "list", "--store", "postgresql://postgres@127.0.0.1:1/test")
    assert_error(postgres, 1, "cannot reach the job store", "127.0.0.1")
    redis = run_cli("history", "--store", "redis://127.0.0.1:1/0")
    assert_error(redis, 1, "cannot reach the job store", "redis://127.0.0.1:1/0")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_wrong_table_name(filled: Backend) -> None:
    result = run_cli("jobs", "list", *filled.cli_args[:2], "--table", "no_such_table")
    assert_error(result, 1, "no_such_table", "--table")


def test_config_check(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text(CONFIG.format(path=tmp_path / "jobs.sqlite"))
    result = run_cli("run", str(config), "--check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{config}: OK (2 jobs)"
    assert lines[1].split() == ["ID", "SCHEDULE", "NEXT", "RUN"]
    assert any(line.startswith("morning") and "Monday through Friday" in line for line in lines)
    assert any(line.startswith("ok") and "every 5 minutes" in line for line in lines)
    # --check stored nothing: the store is there and empty
    listed = run_cli("jobs", "list", "--config", str(config), "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]", listed.stderr


@pytest.mark.parametrize(
    "change, fragments",
    [
        (("timezone", "tmezone"), ["unknown key 'tmezone'", "did you mean 'timezone'"]),
        (("minutes = 5", "minuts = 5"), ["job 'ok'", "unknown key 'minuts'"]),
        (("cli.jobfuncs:ok", "cli.nowhere:ok"), ["job 'ok'", "cli.nowhere:ok"]),
        (("hour = 9", 'hour = "25"'), ["job 'morning'", "hour"]),
        (("max_workers = 2", "max_workers = 2\nbogus = 1"), ["bogus"]),
        (("[job_defaults]", "[job_defaults"), ["not valid TOML"]),
        (('id = "morning"', 'id = "ok"'), ["same id"]),
    ],
)
def test_malformed_config(tmp_path: Path, change: tuple[str, str], fragments: list[str]) -> None:
    config = tmp_path / "service.toml"
    config.write_text(CONFIG.format(path=tmp_path / "jobs.sqlite").replace(*change, 1))
    for command in (["run", str(config), "--check"], ["run", str(config)]):
        assert_error(run_cli(*command, timeout=30), 2, str(config), *fragments)
    assert not (tmp_path / "jobs.sqlite").exists()  # nothing was opened


def test_missing_config(tmp_path: Path) -> None:
    assert_error(run_cli("run", str(tmp_path / "none.toml")), 2, "no such configuration file")


@pytest.mark.parametrize("backend", ["sqlite", "redis"], indirect=True)
def test_unimportable_jobs_are_left_alone(backend: Backend, tmp_path: Path) -> None:
    """A command run where the job functions do not import stops with an error; the job stays
    in the store (a scheduler would quarantine it)."""
    scheduler = backend.scheduler()
    scheduler.add_job("cli.jobfuncs:ok", "interval", minutes=5, id="ok")
    scheduler.start(paused=True)
    scheduler.shutdown()

    elsewhere = cli_env(PYTHONPATH="")
    result = subprocess.run(
        [sys.executable, "-m", "quartzite", "jobs", "list", *backend.cli_args],
        capture_output=True, text=True, env=elsewhere, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert_error(result, 1, "cannot read job 'ok'", "nothing was changed", "--path")
    with_path = run_cli(
        "jobs", "list", "--json", "--path", str(Path(__file__).parent.parent), *backend.cli_args,
        env=elsewhere, cwd=tmp_path,
    )  # fmt: skip
    assert with_path.returncode == 0, with_path.stderr
    assert "cli.jobfuncs:ok" in with_path.stdout


def test_console_script() -> None:
    script = shutil.which("quartzite", path=str(Path(sys.executable).parent))
    assert script is not None, "the quartzite console script is not installed in the venv"
    result = subprocess.run(
        [script, "cron", "@hourly", "--tz", "UTC", "-n", "1", "--json"],
        capture_output=True, text=True, env=cli_env(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"explanation"' in result.stdout
    failed = subprocess.run(
        [script, "cron", "bad"], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert_error(failed, 2, "invalid cron expression")
