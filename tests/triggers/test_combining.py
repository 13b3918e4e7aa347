"""Tests for ``quartzite.triggers.combining`` (API contract §4.6)."""

from __future__ import annotations

import pickle
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.calendarinterval import CalendarIntervalTrigger
from quartzite.triggers.combining import AndTrigger, BaseCombiningTrigger, OrTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def dt(*args, tz=BERLIN, fold=0):
    return datetime(*args, tzinfo=tz, fold=fold)


class Recorder(BaseTrigger):
    """A trigger returning preset answers and recording what it was asked."""

    __slots__ = ("answers", "calls")

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def get_next_fire_time(self, previous_fire_time, now):
        self.calls.append((previous_fire_time, now))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def __getstate__(self):
        return {"version": 1, "answers": self.answers}

    def __setstate__(self, state):
        self.answers = state["answers"]
        self.calls = []

    def __str__(self):
        return "recorder"

    def __repr__(self):
        return "<Recorder>"


class TestBase:
    def test_slots_and_attributes(self):
        assert BaseCombiningTrigger.__slots__ == ("jitter", "triggers")
        triggers = [CronTrigger(hour=1, timezone=UTC)]
        combined = AndTrigger(triggers, jitter=5)
        assert combined.triggers is triggers and combined.jitter == 5
        assert AndTrigger.__slots__ == () and OrTrigger.__slots__ == ()

    def test_str_repr(self):
        first = CronTrigger(hour=1, timezone=UTC)
        second = CronTrigger(day_of_week="mon", timezone=UTC)
        assert str(AndTrigger([first, second])) == "and[cron[hour='1'], cron[day_of_week='mon']]"
        assert str(OrTrigger([first, second])) == "or[cron[hour='1'], cron[day_of_week='mon']]"
        assert repr(AndTrigger([first, second])) == (
            "<AndTrigger([<CronTrigger (hour='1', timezone='UTC')>, "
            "<CronTrigger (day_of_week='mon', timezone='UTC')>])>"
        )
        assert repr(OrTrigger([first], jitter=3)) == (
            "<OrTrigger([<CronTrigger (hour='1', timezone='UTC')>], jitter=3)>"
        )

    def test_state_round_trip(self):
        combined = OrTrigger(
            [
                CronTrigger(hour=1, timezone=UTC),
                IntervalTrigger(hours=5, start_date=dt(2024, 1, 1, tz=UTC)),
                CalendarIntervalTrigger(months=1, start_date="2024-01-31", timezone=UTC),
                DateTrigger(dt(2024, 6, 1, tz=UTC)),
            ],
            jitter=2,
        )
        state = combined.__getstate__()
        assert state["version"] == 1 and state["jitter"] == 2
        assert state["triggers"][0][0] == "quartzite.triggers.cron:CronTrigger"
        assert state["triggers"][0][1] == combined.triggers[0].__getstate__()
        restored = pickle.loads(pickle.dumps(combined))
        assert type(restored) is OrTrigger and restored.jitter == 2
        assert [repr(t) for t in restored.triggers] == [repr(t) for t in combined.triggers]

    def test_setstate_too_new(self):
        combined = AndTrigger.__new__(AndTrigger)
        with pytest.raises(ValueError) as exc:
            combined.__setstate__({"version": 2})
        assert str(exc.value) == (
            "Got serialized data for version 2 of AndTrigger, but only versions up to 1 can be "
            "handled"
        )


class TestAndTrigger:
    def test_agreement(self):
        combined = AndTrigger(
            [
                CronTrigger(month="5-8", day="6-15", timezone=BERLIN),
                CronTrigger(month="6-9", day="*/3", timezone=BERLIN),
            ]
        )
        assert combined.get_next_fire_time(None, dt(2024, 1, 1)) == dt(2024, 6, 7)

    def test_chain_with_previous_fire_time(self):
        combined = AndTrigger(
            [
                CronTrigger(hour="*/2", minute=0, timezone=UTC),
                CronTrigger(hour="*/3", minute=0, timezone=UTC),
            ]
        )
        fire_time = combined.get_next_fire_time(None, dt(2020, 1, 1, 1, tz=UTC))
        seen = [fire_time]
        for _ in range(3):
            fire_time = combined.get_next_fire_time(fire_time, fire_time)
            seen.append(fire_time)
        assert seen == [dt(2020, 1, 1, hour, tz=UTC) for hour in (6, 12, 18)] + [
            dt(2020, 1, 2, tz=UTC)
        ]

    def test_any_finished_trigger_ends_it(self):
        combined = AndTrigger(
            [
                CronTrigger(hour=1, timezone=UTC),
                CronTrigger(hour=1, end_date="2020-01-01", timezone=UTC),
            ]
        )
        assert combined.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) is None

    def test_never_agreeing_triggers_give_up(self):
        combined = AndTrigger(
            [CronTrigger(hour=1, timezone=UTC), CronTrigger(hour=2, timezone=UTC)]
        )
        began = time.process_time()
        assert combined.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) is None
        assert time.process_time() - began < 10

    def test_stuck_triggers_give_up_at_once(self):
        combined = AndTrigger(
            [DateTrigger(dt(2024, 1, 1, tz=UTC)), DateTrigger(dt(2024, 1, 2, tz=UTC))]
        )
        assert combined.get_next_fire_time(None, dt(2023, 1, 1, tz=UTC)) is None

    def test_interval_triggers_that_never_meet(self):
        start = dt(2024, 1, 1, tz=UTC)

        class ShortAndTrigger(AndTrigger):
            __slots__ = ()
            max_rounds = 200

        combined = ShortAndTrigger(
            [
                IntervalTrigger(seconds=2, start_date=start),
                IntervalTrigger(seconds=2, start_date=start + timedelta(seconds=1)),
            ]
        )
        assert combined.get_next_fire_time(None, start) is None

    def test_max_rounds_documented_default(self):
        assert AndTrigger.max_rounds == 10_000

    def test_passes_previous_and_moves_now(self):
        first = Recorder(dt(2024, 1, 2, tz=UTC), dt(2024, 1, 3, tz=UTC))
        second = Recorder(dt(2024, 1, 3, tz=UTC))
        previous = dt(2024, 1, 1, tz=UTC)
        assert AndTrigger([first, second]).get_next_fire_time(previous, previous) == dt(
            2024, 1, 3, tz=UTC
        )
        assert first.calls == [(previous, previous), (previous, dt(2024, 1, 3, tz=UTC))]

    def test_compares_instants_not_wall_times(self):
        # 02:30 fold 0 and 02:30 fold 1 are an hour apart: they do not agree
        first = Recorder(dt(2024, 10, 27, 2, 30), dt(2024, 10, 27, 2, 30, fold=1))
        second = Recorder(dt(2024, 10, 27, 2, 30, fold=1))
        result = AndTrigger([first, second]).get_next_fire_time(None, dt(2024, 10, 27))
        assert result.fold == 1

    def test_jitter(self, monkeypatch):
        monkeypatch.setattr(random, "uniform", lambda low, high: high)
        combined = AndTrigger([CronTrigger(hour=2, minute=30, timezone=BERLIN)], jitter=60)
        result = combined.get_next_fire_time(dt(2024, 10, 27, 2, 30), dt(2024, 10, 27, 2, 30))
        # 02:30 fold 1 plus a minute of elapsed time
        assert result.timestamp() == dt(2024, 10, 27, 2, 31, fold=1).timestamp()


class TestOrTrigger:
    def test_earliest(self):
        combined = OrTrigger(
            [
                CronTrigger(month="5-8", day=6, timezone=BERLIN),
                CronTrigger(month="6-9", day=2, timezone=BERLIN),
            ]
        )
        assert combined.get_next_fire_time(None, dt(2024, 5, 7)) == dt(2024, 6, 2)

    def test_finished_only_when_all_are(self):
        combined = OrTrigger(
            [
                CronTrigger(hour=1, end_date="2020-01-01", timezone=UTC),
                CronTrigger(hour=2, timezone=UTC),
            ]
        )
        assert combined.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) == dt(
            2024, 1, 1, 2, tz=UTC
        )
        assert (
            OrTrigger(
                [CronTrigger(hour=1, end_date="2020-01-01", timezone=UTC)]
            ).get_next_fire_time(None, dt(2024, 1, 1, tz=UTC))
            is None
        )

    def test_every_trigger_gets_the_combined_previous(self):
        first = Recorder(dt(2024, 1, 2, tz=UTC))
        second = Recorder(dt(2024, 1, 3, tz=UTC))
        previous = dt(2024, 1, 1, tz=UTC)
        OrTrigger([first, second]).get_next_fire_time(previous, previous)
        assert first.calls == second.calls == [(previous, previous)]

    def test_earliest_instant_in_repeated_hour(self):
        later = Recorder(dt(2024, 10, 27, 2, 10, fold=1))
        earlier = Recorder(dt(2024, 10, 27, 2, 50))
        result = OrTrigger([later, earlier]).get_next_fire_time(None, dt(2024, 10, 27))
        assert result == dt(2024, 10, 27, 2, 50) and result.fold == 0

    def test_jitter(self, monkeypatch):
        monkeypatch.setattr(random, "uniform", lambda low, high: 10)
        combined = OrTrigger([CronTrigger(hour=5, timezone=UTC)], jitter=30)
        assert combined.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) == dt(
            2024, 1, 1, 5, 0, 10, tz=UTC
        )


class TestValidation:
    @pytest.mark.parametrize("combinator", [AndTrigger, OrTrigger])
    def test_an_empty_list_is_refused(self, combinator: type) -> None:
        with pytest.raises(
            ValueError, match=rf"^{combinator.__name__}: triggers must hold at least one trigger"
        ):
            combinator([])

    @pytest.mark.parametrize("combinator", [AndTrigger, OrTrigger])
    def test_a_member_that_is_not_a_trigger_is_named_by_position(self, combinator: type) -> None:
        members = [DateTrigger(datetime(2030, 1, 1, tzinfo=UTC)), "cron"]
        with pytest.raises(
            TypeError, match=r"triggers\[1\] must be a trigger .*got 'cron' \(str\)"
        ):
            combinator(members)

    @pytest.mark.parametrize("value", ["x", DateTrigger(datetime(2030, 1, 1, tzinfo=UTC)), 5])
    def test_triggers_must_be_a_list(self, value: object) -> None:
        with pytest.raises(TypeError, match="OrTrigger: triggers must be a list of triggers"):
            OrTrigger(value)  # type: ignore[arg-type]

    def test_bad_jitter(self) -> None:
        with pytest.raises(ValueError, match=r"AndTrigger: jitter must be .* got -1"):
            AndTrigger([DateTrigger(datetime(2030, 1, 1, tzinfo=UTC))], jitter=-1)

    @pytest.mark.parametrize(
        "triggers, message",
        [
            ([], "triggers must be a non-empty list"),
            (
                [["collections:OrderedDict", {}]],
                "names 'collections:OrderedDict', which is not a trigger",
            ),
            (["quartzite.triggers.date:DateTrigger"], "must be a (class reference, state) pair"),
        ],
    )
    def test_a_damaged_state_is_refused(self, triggers: list[Any], message: str) -> None:
        state = {"version": 1, "triggers": triggers, "jitter": None}
        with pytest.raises(ValueError, match="Cannot restore a OrTrigger") as exc:
            OrTrigger.__new__(OrTrigger).__setstate__(state)
        assert message in str(exc.value)

    def test_a_damaged_nested_state_is_refused(self) -> None:
        inner = IntervalTrigger(seconds=5, start_date=datetime(2030, 1, 1, tzinfo=UTC))
        state = OrTrigger([inner]).__getstate__()
        state["triggers"][0][1]["interval"] = timedelta(0)
        with pytest.raises(ValueError, match="IntervalTrigger from this state: interval must be"):
            OrTrigger.__new__(OrTrigger).__setstate__(state)

    def test_a_negative_stored_jitter_is_refused(self) -> None:
        state = OrTrigger([DateTrigger(datetime(2030, 1, 1, tzinfo=UTC))]).__getstate__()
        state["jitter"] = -3
        with pytest.raises(ValueError, match="jitter must be None or a finite number >= 0, got -3"):
            OrTrigger.__new__(OrTrigger).__setstate__(state)
