"""What every trigger shares (quartzite.triggers.base): jitter, argument checks, the JSON hook."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from quartzite.triggers.base import (
    BaseTrigger,
    check_date_order,
    check_jitter,
    check_state_version,
)
from support import make_job

UTC = timezone.utc
WHEN = datetime(2030, 1, 1, 12, tzinfo=UTC)


class FixedTrigger(BaseTrigger):
    """A trigger with a plain state, for the hook defaults."""

    __slots__ = ("when",)

    def __init__(self, when: datetime) -> None:
        self.when = when

    def get_next_fire_time(self, previous_fire_time: Any, now: datetime) -> datetime | None:
        return self.when if previous_fire_time is None else None

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "when": self.when}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.when = check_state_version(state, type(self), 1)["when"]


class TestApplyJitter:
    def test_adds_at_most_the_jitter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(random, "uniform", lambda low, high: high)
        assert FixedTrigger(WHEN)._apply_jitter(WHEN, 2.5, WHEN) == WHEN + timedelta(seconds=2.5)

    @pytest.mark.parametrize("jitter", [None, 0, -5, float("inf"), float("nan"), "x", True])
    def test_anything_but_a_finite_positive_jitter_leaves_the_time(self, jitter: Any) -> None:
        assert FixedTrigger(WHEN)._apply_jitter(WHEN, jitter, WHEN) == WHEN

    def test_a_delay_past_the_year_9999_leaves_the_time(self) -> None:
        last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
        assert FixedTrigger(last)._apply_jitter(last, 10**9, last) == last

    def test_none_stays_none(self) -> None:
        assert FixedTrigger(WHEN)._apply_jitter(None, 5, WHEN) is None

    def test_never_goes_back(self) -> None:
        trigger = FixedTrigger(WHEN)
        for _ in range(200):
            jittered = trigger._apply_jitter(WHEN, 0.001, WHEN)
            assert jittered is not None and WHEN <= jittered <= WHEN + timedelta(seconds=0.001)


class TestChecks:
    @pytest.mark.parametrize("jitter", [None, 0, 0.5, 10])
    def test_valid_jitter_is_returned(self, jitter: Any) -> None:
        assert check_jitter("X", jitter) == jitter

    def test_bad_jitter_names_the_owner_and_value(self) -> None:
        with pytest.raises(
            ValueError, match=r"^X: jitter must be None or a finite number >= 0, got -1$"
        ):
            check_jitter("X", -1)
        with pytest.raises(
            TypeError, match=r"^X: jitter must be None or a number of seconds, got 'x' \(str\)$"
        ):
            check_jitter("X", "x")

    def test_date_order(self) -> None:
        check_date_order("X", date(2030, 1, 1), date(2030, 1, 1))
        check_date_order("X", None, date(2000, 1, 1))
        with pytest.raises(
            ValueError,
            match=r"X: end_date \(2020-01-01\) cannot be earlier than start_date \(2030-01-01\)",
        ):
            check_date_order("X", date(2030, 1, 1), date(2020, 1, 1))


class TestJsonStateHook:
    def test_the_default_json_state_is_the_pickled_state(self) -> None:
        assert FixedTrigger(WHEN)._json_state() == {"version": 1, "when": WHEN}

    def test_the_default_rebuild_goes_through_setstate(self) -> None:
        restored = FixedTrigger._from_json_state({"version": 1, "when": WHEN})
        assert isinstance(restored, FixedTrigger) and restored.when == WHEN

    def test_a_non_dict_pickled_state_needs_an_override(self) -> None:
        class TupleState(FixedTrigger):
            __slots__ = ()

            def __getstate__(self) -> Any:
                return (1, self.when)

        with pytest.raises(TypeError, match=r"returned a tuple; .* \(override _json_state"):
            TupleState(WHEN)._json_state()


class EveryHourFrom(BaseTrigger):
    """A third-party trigger as users write them: plain attributes, no state methods."""

    def __init__(self, start: datetime) -> None:
        self.start = start

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return (previous_fire_time or self.start) + timedelta(hours=1)


def test_a_trigger_without_state_methods_is_stored_by_both_serializers() -> None:
    """APScheduler's base trigger defines no __getstate__/__setstate__, so a subclass pickles by
    its __dict__; ours must not get in the way of that."""
    from quartzite.serializers import JSONSerializer, PickleSerializer

    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    state = make_job(None, print, trigger=EveryHourFrom(start), paused=True).__getstate__()
    for serializer in (PickleSerializer(), JSONSerializer(allowed_modules=[__name__, "builtins"])):
        restored = serializer.deserialize(serializer.serialize(state))["trigger"]
        assert type(restored) is EveryHourFrom
        assert restored.get_next_fire_time(None, start) == start + timedelta(hours=1)
