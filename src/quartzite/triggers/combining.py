"""Triggers that combine the fire times of other triggers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, List, Sequence

from ..util import UTC, obj_to_ref, ref_to_obj
from .base import BaseTrigger, check_jitter, check_state_jitter, check_state_version, state_error

__all__ = ("AndTrigger", "BaseCombiningTrigger", "OrTrigger")

_MICROSECOND = timedelta(microseconds=1)


def _utc(dateval: datetime) -> datetime:
    # Compare fire times as instants: two datetimes of the same zone that differ only in ``fold``
    # (the two occurrences of a repeated wall time) compare equal as they are.
    return dateval.astimezone(UTC)


class BaseCombiningTrigger(BaseTrigger):
    """Base class of the triggers that combine other triggers.

    :param triggers: the triggers to combine
    :param jitter: delay the job execution by up to ``jitter`` seconds at random
    """

    __slots__ = ("jitter", "triggers")

    def __init__(self, triggers: Sequence[BaseTrigger], jitter: float | None = None) -> None:
        owner = type(self).__name__
        if isinstance(triggers, (str, bytes, BaseTrigger)) or not isinstance(triggers, Sequence):
            raise TypeError(
                f"{owner}: triggers must be a list of triggers, got {triggers!r} "
                f"({type(triggers).__name__})"
            )
        if not triggers:
            raise ValueError(f"{owner}: triggers must hold at least one trigger, got an empty list")
        for position, trigger in enumerate(triggers):
            if not isinstance(trigger, BaseTrigger):
                raise TypeError(
                    f"{owner}: triggers[{position}] must be a trigger (a BaseTrigger instance), "
                    f"got {trigger!r} ({type(trigger).__name__})"
                )
        self.triggers = triggers
        self.jitter = check_jitter(owner, jitter)

    def _jittered(self, fire_time: datetime, now: datetime) -> datetime | None:
        if not self.jitter:
            return fire_time
        # Jitter is elapsed time: add it in UTC (wall-clock arithmetic would lose the fold).
        jittered = self._apply_jitter(_utc(fire_time), self.jitter, now)
        return None if jittered is None else jittered.astimezone(fire_time.tzinfo)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "triggers": [
                (obj_to_ref(trigger.__class__), trigger.__getstate__())  # type: ignore[attr-defined]
                for trigger in self.triggers
            ],
            "jitter": self.jitter,
        }

    def __setstate__(self, state: Any) -> None:
        cls = type(self)
        state = check_state_version(state, cls, 1)
        entries = _state_triggers(cls, state)
        triggers: List[BaseTrigger] = []
        for position, entry in enumerate(entries):
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
                raise state_error(
                    cls, f"triggers[{position}] must be a (class reference, state) pair"
                )
            class_ref, trigger_state = entry
            trigger_class = ref_to_obj(class_ref)
            if not (isinstance(trigger_class, type) and issubclass(trigger_class, BaseTrigger)):
                raise state_error(
                    cls, f"triggers[{position}] names {class_ref!r}, which is not a trigger class"
                )
            trigger = trigger_class.__new__(trigger_class)
            trigger.__setstate__(trigger_state)  # type: ignore[attr-defined]
            triggers.append(trigger)
        self.jitter = check_state_jitter(cls, state.get("jitter"))
        self.triggers = triggers

    def _json_state(self) -> dict[str, Any]:
        """The state with the combined triggers themselves in place of their pickled states
        (the JSON serializer writes each one with its own class and JSON state)."""
        return {"version": 1, "triggers": list(self.triggers), "jitter": self.jitter}

    @classmethod
    def _from_json_state(cls, state: dict[str, Any]) -> BaseTrigger:
        state = check_state_version(state, cls, 1)
        triggers = _state_triggers(cls, state)
        for position, trigger in enumerate(triggers):
            if not isinstance(trigger, BaseTrigger):
                raise state_error(
                    cls, f"triggers[{position}] is a {type(trigger).__name__}, not a trigger"
                )
        combined = cls.__new__(cls)
        combined.triggers = list(triggers)
        combined.jitter = check_state_jitter(cls, state.get("jitter"))
        return combined

    def __repr__(self) -> str:
        jitter = f", jitter={self.jitter}" if self.jitter else ""
        return f"<{self.__class__.__name__}({self.triggers}{jitter})>"


def _state_triggers(cls: type, state: dict[str, Any]) -> list[Any]:
    triggers = state.get("triggers")
    if not isinstance(triggers, (list, tuple)) or not triggers:
        raise state_error(cls, f"triggers must be a non-empty list, got {triggers!r}")
    return list(triggers)


class AndTrigger(BaseCombiningTrigger):
    """Fires at the earliest time that all the given triggers agree on.

    The schedule is finished when any of the triggers has finished its schedule.

    Each round asks every trigger for its next fire time (all with the same previous fire time),
    then moves the search to the latest of the answers, until they all agree. When asking again
    from the later time moves no trigger (a :class:`~quartzite.triggers.cron.CronTrigger` given a
    previous fire time searches from there, whatever the current time), the triggers are asked
    for their first fire times at or after that time, without the previous fire time.

    The search is bounded: after :attr:`max_rounds` rounds without agreement (or when no trigger
    moves any more) it gives up and returns ``None``, ending the schedule, instead of spinning
    forever as the reference implementation does with triggers that never agree (for instance
    interval triggers whose fire times never coincide).

    This trigger is meant for triggers that fire at specific times of the day, such as
    :class:`~quartzite.triggers.cron.CronTrigger` and
    :class:`~quartzite.triggers.calendarinterval.CalendarIntervalTrigger`.

    :param triggers: the triggers to combine
    :param jitter: delay the job execution by up to ``jitter`` seconds at random
    """

    __slots__ = ()

    #: The number of rounds after which the search gives up (and the schedule ends).
    max_rounds = 10_000

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the earliest time after ``previous_fire_time`` that all the triggers agree on,
        ``None`` when any of them is finished or after :attr:`max_rounds` rounds."""
        previous_round: list[datetime] | None = None
        for _round in range(self.max_rounds):
            fire_times = [
                trigger.get_next_fire_time(previous_fire_time, now) for trigger in self.triggers
            ]
            if not fire_times or None in fire_times:
                return None

            instants = [_utc(fire_time) for fire_time in fire_times]  # type: ignore[arg-type]
            latest = max(instants)
            if min(instants) == latest:
                return self._jittered(fire_times[0], now)  # type: ignore[arg-type]

            if instants == previous_round:
                # Asking again from a later "now" moved no trigger (a trigger given a previous
                # fire time searches from there): ask for their first fire times at or after
                # "now" instead, without the previous fire time.
                if previous_fire_time is None:
                    return None  # they do not move at all: they will never agree
                previous_fire_time = None
            previous_round = instants
            now = latest
        return None

    def __str__(self) -> str:
        return f"and[{', '.join(str(trigger) for trigger in self.triggers)}]"


class OrTrigger(BaseCombiningTrigger):
    """Fires at the earliest next fire time of any of the given triggers.

    The schedule is finished when all the triggers have finished their schedules. Every trigger
    is given the previous fire time of the combination (whichever trigger produced it), so
    triggers that depend on their previous fire time (like an interval trigger) may behave
    unexpectedly.

    :param triggers: the triggers to combine
    :param jitter: delay the job execution by up to ``jitter`` seconds at random
    """

    __slots__ = ()

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the earliest next fire time of the triggers, ``None`` when all are finished."""
        fire_times = [
            fire_time
            for fire_time in (
                trigger.get_next_fire_time(previous_fire_time, now) for trigger in self.triggers
            )
            if fire_time is not None
        ]
        if not fire_times:
            return None
        return self._jittered(min(fire_times, key=_utc), now)

    def __str__(self) -> str:
        return f"or[{', '.join(str(trigger) for trigger in self.triggers)}]"
