"""Checked configuration (``schedulers/_config.py``): every bad setting fails in ``configure()``
with a message naming it, and APScheduler-prefixed keys are not dropped silently."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

from quartzite.schedulers._config import ConfigParser, closest_hint
from support import DummyScheduler

PARSER = ConfigParser()


def test_job_defaults_fill_in_the_built_in_values() -> None:
    assert PARSER.job_defaults({"coalesce": "false"}) == {
        "misfire_grace_time": 1,
        "coalesce": False,
        "max_instances": 1,
    }
    assert PARSER.job_defaults(None) == dict(ConfigParser.JOB_DEFAULTS)
    assert PARSER.job_defaults({"misfire_grace_time": None})["misfire_grace_time"] is None
    assert PARSER.job_defaults({"max_instances": "5"})["max_instances"] == 5


def test_an_unknown_job_default_is_refused_with_the_known_keys_and_the_closest() -> None:
    with pytest.raises(ValueError) as exc:
        DummyScheduler(job_defaults={"coalesc": True})
    assert str(exc.value) == (
        "job_defaults: unknown key 'coalesc'; the known keys are 'misfire_grace_time', "
        "'coalesce', 'max_instances'; did you mean 'coalesce'?"
    )
    with pytest.raises(ValueError, match=r"unknown key 'bogus'; the known keys are"):
        DummyScheduler(job_defaults={"bogus": 1})


@pytest.mark.parametrize(
    "key, value",
    [
        ("misfire_grace_time", -1),
        ("misfire_grace_time", 0),
        ("misfire_grace_time", "soon"),
        ("max_instances", 0),
        ("max_instances", "many"),
        ("coalesce", "maybe"),
    ],
)
def test_a_bad_job_default_value_names_the_setting_and_the_value(key: str, value: Any) -> None:
    with pytest.raises(ValueError) as exc:
        DummyScheduler(job_defaults={key: value})
    assert str(exc.value).startswith(f"job_defaults['{key}'] must be")
    assert str(exc.value).endswith(f"got {value!r}")


def test_job_defaults_that_are_not_a_mapping_are_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"^job_defaults must be a mapping .*, got list$"):
        DummyScheduler(job_defaults=[("coalesce", True)])


@pytest.mark.parametrize("value", [-1, 0, "abc", math.inf, math.nan, None, True])
def test_a_bad_retry_interval_is_refused(value: Any) -> None:
    with pytest.raises(ValueError) as exc:
        DummyScheduler(jobstore_retry_interval=value)
    assert str(exc.value) == (
        f"jobstore_retry_interval must be a positive finite number of seconds, got {value!r}"
    )


def test_an_unknown_time_zone_is_a_lookup_error_with_a_suggestion() -> None:
    with pytest.raises(LookupError) as exc:
        DummyScheduler(timezone="Europe/Berlinn")
    assert str(exc.value).startswith("timezone: no time zone is named 'Europe/Berlinn'")
    assert str(exc.value).endswith("did you mean 'Europe/Berlin'?")
    with pytest.raises(LookupError, match="no time zone is named 'Nowhere/Zone'"):
        DummyScheduler(timezone="Nowhere/Zone")


@pytest.mark.parametrize("setting", ["executors", "jobstores"])
def test_component_tables_that_are_not_mappings_are_a_type_error(setting: str) -> None:
    with pytest.raises(TypeError) as exc:
        DummyScheduler(**{setting: ["default"]})
    assert str(exc.value).startswith(f"{setting} must be a mapping of alias to")
    assert str(exc.value).endswith("got list")


def test_a_rejected_component_table_leaves_the_components_in_place() -> None:
    scheduler = DummyScheduler(jobstores={"other": {"type": "memory"}})
    with pytest.raises(TypeError):
        scheduler.configure(executors={}, jobstores="memory")
    assert list(scheduler._jobstores) == ["other"]


def test_apscheduler_prefixed_keys_warn_and_are_not_applied() -> None:
    gconfig = {"apscheduler.timezone": "Asia/Tokyo", "apscheduler.job_defaults.coalesce": "no"}
    with pytest.warns(UserWarning) as record:
        scheduler = DummyScheduler(gconfig, timezone="UTC")

    [warning] = record
    message = str(warning.message)
    assert "apscheduler.job_defaults.coalesce, apscheduler.timezone" in message
    assert "rename the prefix of these keys to 'quartzite.'" in message
    assert warning.filename == __file__  # points at the caller, not at quartzite
    assert str(scheduler.timezone) == "UTC"
    assert scheduler._job_defaults["coalesce"] is True


def test_configure_points_the_prefix_warning_at_its_caller() -> None:
    scheduler = DummyScheduler(timezone="UTC")
    with pytest.warns(UserWarning, match="apscheduler.timezone") as record:
        scheduler.configure({"apscheduler.timezone": "UTC"})
    assert record[0].filename == __file__


def test_no_prefix_warning_when_the_apscheduler_prefix_is_asked_for() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler = DummyScheduler({"apscheduler.timezone": "Asia/Tokyo"}, prefix="apscheduler.")
        DummyScheduler({"quartzite.timezone": "UTC", "timezone": "UTC"})
    assert str(scheduler.timezone) == "Asia/Tokyo"


def test_collect_merges_dotted_and_nested_keys_and_lets_options_win() -> None:
    gconfig = {
        "quartzite.executors.default.type": "threadpool",
        "quartzite.executors": {"default": {"max_workers": 3}},
        "quartzite.timezone": "UTC",
    }
    assert PARSER.collect(gconfig, "quartzite.", {"timezone": "Asia/Tokyo"}) == {
        "executors": {"default": {"type": "threadpool", "max_workers": 3}},
        "timezone": "Asia/Tokyo",
    }


def test_collect_refuses_a_gconfig_that_is_not_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"gconfig must be a mapping .*got str$"):
        PARSER.collect("timezone=UTC", "quartzite.", {})  # type: ignore[arg-type]


def test_closest_hint_suggests_only_close_names() -> None:
    assert closest_hint("cronn", ["cron", "date"]) == "; did you mean 'cron'?"
    assert closest_hint("zzz", ["cron", "date"]) == ""
