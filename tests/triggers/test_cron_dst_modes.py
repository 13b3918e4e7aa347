"""Hand-picked cases of ``CronTrigger(dst=...)`` (issue 8), with the transition facts beside them,
and the option's validation, state, ``repr`` and pickling. The brute-force property tests of the
three behaviours are in ``test_cron_dst_properties.py``.

Transition facts used here:

* Europe/Berlin, 2026-03-29: at 01:00 UTC the clock jumps from 02:00 CET (+01:00) to 03:00 CEST
  (+02:00): 02:00-02:59 do not exist.
* Europe/Berlin, 2026-10-25: at 01:00 UTC the clock goes back from 03:00 CEST to 02:00 CET:
  02:00-02:59 happen twice (fold 0 at +02:00, fold 1 at +01:00).
* America/New_York, 2026-03-08: at 07:00 UTC 02:00 EST (-05:00) becomes 03:00 EDT (-04:00).
* Australia/Lord_Howe, 2026-10-04: at 15:30 UTC 02:00 (+10:30) becomes 02:30 (+11:00), a
  30-minute gap.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from quartzite.triggers.cron import CronTrigger
from support import make_job

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def chain(trigger: CronTrigger, start: datetime, count: int) -> list[str]:
    """``count`` fire times as 'MM-DD HH:MM+HH' readings (with '/1' for fold 1)."""
    fire_time = trigger.get_next_fire_time(None, start)
    readings = []
    for _ in range(count):
        offset = int(fire_time.utcoffset().total_seconds() // 3600)
        fold = "/1" if fire_time.fold else ""
        readings.append(f"{fire_time:%m-%d %H:%M}{offset:+03d}{fold}")
        following = trigger.get_next_fire_time(fire_time, fire_time)
        assert following.timestamp() > fire_time.timestamp()  # strictly increasing
        fire_time = following
    return readings


SPRING = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
AUTUMN = datetime(2026, 10, 24, 12, tzinfo=BERLIN)


class TestDailyJobAt0230Berlin:
    """The table of docs/triggers.rst: a daily 02:30 job."""

    @pytest.mark.parametrize(
        "dst, expected",
        [
            # shifted by the 1-hour gap: 02:30 CET would be 01:30 UTC = 03:30 CEST
            ("shift", ["03-28 02:30+01", "03-29 03:30+02", "03-30 02:30+02"]),
            ("skip", ["03-28 02:30+01", "03-30 02:30+02", "03-31 02:30+02"]),
            # at the end of the gap: 03:00 CEST
            ("vixie", ["03-28 02:30+01", "03-29 03:00+02", "03-30 02:30+02"]),
        ],
    )
    def test_spring_forward(self, dst, expected):
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN, dst=dst)
        assert chain(trigger, SPRING.replace(hour=0), 3) == expected

    @pytest.mark.parametrize(
        "dst, expected",
        [
            ("shift", ["10-25 02:30+02", "10-25 02:30+01/1", "10-26 02:30+01"]),
            ("skip", ["10-25 02:30+02", "10-25 02:30+01/1", "10-26 02:30+01"]),
            ("vixie", ["10-25 02:30+02", "10-26 02:30+01", "10-27 02:30+01"]),
        ],
    )
    def test_fall_back(self, dst, expected):
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN, dst=dst)
        assert chain(trigger, AUTUMN, 3) == expected


class TestHourlyJobBerlin:
    """An hourly job (minute 30): Vixie cron calls it a wildcard job (hour is ``*``)."""

    @pytest.mark.parametrize(
        "dst, expected",
        [
            # 02:30 shifts to 03:30, which is also a real match: one fire time
            ("shift", ["03-29 01:30+01", "03-29 03:30+02", "03-29 04:30+02"]),
            ("skip", ["03-29 01:30+01", "03-29 03:30+02", "03-29 04:30+02"]),
            ("vixie", ["03-29 01:30+01", "03-29 03:30+02", "03-29 04:30+02"]),
        ],
    )
    def test_spring_forward(self, dst, expected):
        trigger = CronTrigger(minute=30, timezone=BERLIN, dst=dst)
        assert chain(trigger, datetime(2026, 3, 29, 1, tzinfo=BERLIN), 3) == expected

    @pytest.mark.parametrize("dst", ["shift", "skip", "vixie"])
    def test_fall_back_fires_in_both_repeated_hours(self, dst):
        trigger = CronTrigger(minute=30, timezone=BERLIN, dst=dst)
        assert chain(trigger, datetime(2026, 10, 25, 1, tzinfo=BERLIN), 4) == [
            "10-25 01:30+02",
            "10-25 02:30+02",
            "10-25 02:30+01/1",
            "10-25 03:30+01",
        ]


class TestCoincidences:
    def test_shifted_time_equal_to_a_real_match_fires_once(self):
        # hour="2,3", minute=30: 02:30 shifts to 03:30 CEST, the instant of the real 03:30
        trigger = CronTrigger(hour="2,3", minute=30, timezone=BERLIN)
        assert chain(trigger, datetime(2026, 3, 29, tzinfo=BERLIN), 3) == [
            "03-29 03:30+02",
            "03-30 02:30+02",
            "03-30 03:30+02",
        ]

    def test_every_minute_through_the_gap_fires_each_instant_once(self):
        # 02:00-02:59 shift onto 03:00-03:59, which match anyway: 60 fire times an hour apart
        # from 01:58 to 03:02 would be wrong; each instant fires once, a minute apart.
        trigger = CronTrigger(minute="*", timezone=BERLIN)
        assert chain(trigger, datetime(2026, 3, 29, 1, 58, tzinfo=BERLIN), 5) == [
            "03-29 01:58+01",
            "03-29 01:59+01",
            "03-29 03:00+02",
            "03-29 03:01+02",
            "03-29 03:02+02",
        ]

    def test_a_fixed_hour_every_minute_fires_the_shifted_gap_each_minute(self):
        # hour=2, minute="*": each 02:mm fires as 03:mm CEST, so 60 times, a minute apart
        trigger = CronTrigger(hour=2, minute="*", timezone=BERLIN)
        fire_times = chain(trigger, datetime(2026, 3, 29, tzinfo=BERLIN), 61)
        assert fire_times[0] == "03-29 03:00+02" and fire_times[59] == "03-29 03:59+02"
        assert fire_times[60] == "03-30 02:00+02"

    def test_vixie_runs_a_fixed_job_of_the_gap_once_at_its_end(self):
        # 02:00, 02:20 and 02:40 all fall in the gap: one run at 03:00 CEST
        trigger = CronTrigger(hour=2, minute="0,20,40", timezone=BERLIN, dst="vixie")
        assert chain(trigger, datetime(2026, 3, 29, tzinfo=BERLIN), 2) == [
            "03-29 03:00+02",
            "03-30 02:00+02",
        ]

    def test_vixie_skips_the_gap_for_a_wildcard_job(self):
        # minute="*/20" makes it a wildcard job for Vixie cron: no catch-up at 03:00
        trigger = CronTrigger(hour=2, minute="*/20", timezone=BERLIN, dst="vixie")
        assert chain(trigger, datetime(2026, 3, 29, tzinfo=BERLIN), 1) == ["03-30 02:00+02"]


class TestOtherZones:
    def test_new_york(self):
        # 02:30 EST would be 07:30 UTC = 03:30 EDT
        trigger = CronTrigger(hour=2, minute=30, timezone=NEW_YORK)
        assert chain(trigger, datetime(2026, 3, 8, tzinfo=NEW_YORK), 2) == [
            "03-08 03:30-04",
            "03-09 02:30-04",
        ]

    def test_half_hour_gap_of_lord_howe(self):
        # 02:10 (+10:30) is 15:40 UTC, read as 02:40 (+11:00): shifted by 30 minutes
        trigger = CronTrigger(hour=2, minute=10, timezone=LORD_HOWE)
        fire_time = trigger.get_next_fire_time(None, datetime(2026, 10, 4, tzinfo=LORD_HOWE))
        assert fire_time == datetime(2026, 10, 3, 15, 40, tzinfo=UTC)
        assert (fire_time.hour, fire_time.minute) == (2, 40)

    def test_a_start_inside_the_shift_window_still_sees_the_shifted_time(self):
        # 03:10 CEST is after the change, before 03:30 CEST (where 02:30 shifts to)
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN)
        fire_time = trigger.get_next_fire_time(None, datetime(2026, 3, 29, 3, 10, tzinfo=BERLIN))
        assert fire_time == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)


class TestOption:
    def test_default_is_shift(self):
        assert CronTrigger(timezone=UTC).dst == "shift"
        assert CronTrigger.from_crontab("0 2 * * *", timezone=UTC).dst == "shift"

    @pytest.mark.parametrize("value", ["Shift", "strict", ""])
    def test_unknown_value_is_refused_naming_the_choices(self, value):
        with pytest.raises(ValueError) as exc:
            CronTrigger(timezone=UTC, dst=value)
        assert str(exc.value) == (
            f"CronTrigger: dst must be one of 'shift', 'skip', 'vixie'; got {value!r}"
        )

    def test_non_str_value_is_a_type_error(self):
        with pytest.raises(TypeError, match=r"dst must be a str.*got None \(NoneType\)"):
            CronTrigger(timezone=UTC, dst=None)  # type: ignore[arg-type]

    def test_keyword_only(self):
        with pytest.raises(TypeError):
            CronTrigger(
                None, None, None, None, None, None, None, None, None, None, UTC, None, "skip"
            )  # type: ignore[misc]

    def test_from_crontab_passes_it_on(self):
        trigger = CronTrigger.from_crontab("30 2 * * *", timezone=BERLIN, dst="vixie")
        assert trigger.dst == "vixie"
        assert chain(trigger, datetime(2026, 3, 29, tzinfo=BERLIN), 1) == ["03-29 03:00+02"]

    def test_repr_shows_it_only_when_not_the_default(self):
        assert "dst" not in repr(CronTrigger(hour=2, timezone=UTC))
        assert repr(CronTrigger(hour=2, timezone=UTC, dst="skip")) == (
            "<CronTrigger (hour='2', dst='skip', timezone='UTC')>"
        )

    def test_state_keeps_it_and_old_states_load_as_the_default(self):
        default = CronTrigger(hour=2, timezone=BERLIN)
        assert "dst" not in default.__getstate__()
        skip = CronTrigger(hour=2, timezone=BERLIN, dst="skip")
        state = skip.__getstate__()
        assert state["dst"] == "skip" and state["version"] == 2
        restored = CronTrigger.__new__(CronTrigger)
        restored.__setstate__(state)
        assert restored.dst == "skip"
        del state["dst"]
        restored.__setstate__(state)
        assert restored.dst == "shift"

    def test_state_with_an_unknown_value_is_refused(self):
        state = CronTrigger(hour=2, timezone=BERLIN).__getstate__()
        state["dst"] = "sometimes"
        with pytest.raises(ValueError, match="'sometimes'"):
            CronTrigger.__new__(CronTrigger).__setstate__(state)

    @pytest.mark.parametrize("dst", ["shift", "skip", "vixie"])
    def test_pickling_keeps_the_behaviour(self, dst):
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN, dst=dst)
        restored = pickle.loads(pickle.dumps(trigger))
        assert restored.dst == dst and repr(restored) == repr(trigger)
        assert chain(restored, SPRING, 3) == chain(trigger, SPRING, 3)

    def test_changing_nothing_else_the_plan_follows_a_restored_state(self):
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN)
        start = datetime(2026, 3, 29, tzinfo=BERLIN)
        assert trigger.get_next_fire_time(None, start).hour == 3
        state = trigger.__getstate__()
        state["dst"] = "skip"
        trigger.__setstate__(state)
        assert trigger.get_next_fire_time(None, start).day == 30


@pytest.mark.parametrize("dst", ["shift", "skip", "vixie"])
def test_the_json_serializer_keeps_the_behaviour(dst):
    from quartzite.job import Job
    from quartzite.serializers import JSONSerializer

    trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN, dst=dst)
    job = make_job(
        None,
        print,
        trigger=trigger,
        id="j",
        name="j",
        next_run_time=datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN),
    )
    serializer = JSONSerializer()
    restored = Job.__new__(Job)
    restored.__setstate__(serializer.deserialize(serializer.serialize(job.__getstate__())))
    assert restored.trigger.dst == dst
    assert chain(restored.trigger, SPRING, 3) == chain(trigger, SPRING, 3)


def test_every_choice_has_a_search_rule():
    from quartzite.triggers.cron import _DST_RULES
    from quartzite.triggers.cron._checks import DST_CHOICES

    assert sorted(_DST_RULES) == sorted(DST_CHOICES) and DST_CHOICES[0] == "shift"
