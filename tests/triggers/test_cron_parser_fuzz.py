"""Fuzzing the cron expression parser.

Any string given to any field either parses or raises ``ValueError`` whose message names the
field or quotes (part of) the bad value; never another exception, never a hang. Where both parse,
quartzite and APScheduler 3.11.2 agree on what was parsed.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from quartzite.triggers.cron import CronTrigger

apscheduler_cron = pytest.importorskip("apscheduler.triggers.cron")

UTC = timezone.utc
FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
NOW = datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC)

# Pieces that cron expressions are made of, so that random texts often come close to valid ones.
TOKENS = st.sampled_from(
    [
        *("*", "/", "-", ",", " , ", " ", "0", "1", "2", "5", "7", "12", "31", "53", "59", "60"),
        *("99", "1970", "2024", "9999", "last", "LAST", "1st", "2nd", "3rd", "4th", "5th", "6th"),
        *("mon", "fri", "sun", "Sat", "jan", "dec", "feb", "foo", "\n", "\t", "٣", "x", "-1"),
        "00",
    ]
)
CRONISH = st.lists(TOKENS, max_size=8).map("".join)
ANY_TEXT = st.one_of(
    CRONISH, st.text(max_size=20), st.text(alphabet="0123456789*/-, ", max_size=12)
)


def check_message(field: str, text: str, message: str) -> None:
    """The message names the field, or quotes a piece of the given text."""
    if f'"{field}"' in message:
        return
    quoted = [
        first or second
        for first, second in re.findall(r'"([^"]*)"|\'((?:[^\'\\]|\\.)*)\'', message)
    ]
    assert any(
        piece in text or piece in repr(text) for piece in quoted if piece or not text.strip()
    ), message


def parse(field: str, text: str):
    began = time.process_time()
    try:
        trigger = CronTrigger(timezone=UTC, **{field: text})
    except ValueError as exc:
        check_message(field, text, str(exc))
        trigger = None
    assert time.process_time() - began < 1
    return trigger


@given(field=st.sampled_from(FIELDS), text=ANY_TEXT)
@example(field="hour", text="9" * 5000)
@example(field="minute", text="*/" + "0" * 200 + "5")
@example(field="day", text="1st 5")
@example(field="day", text="last   frix")
@example(field="day_of_week", text="sat-mon")
@example(field="month", text="dec-jan")
@example(field="year", text="*/0")
@example(field="week", text="0")
@example(field="second", text="")
@example(field="hour", text="\n5\n")
def test_any_text_parses_or_raises_value_error(field, text):
    trigger = parse(field, text)
    if trigger is not None:
        began = time.process_time()
        fire_time = trigger.get_next_fire_time(None, NOW)
        assert fire_time is None or fire_time >= NOW
        assert time.process_time() - began < 1


@given(field=st.sampled_from(FIELDS), text=ANY_TEXT)
def test_acceptance_matches_apscheduler(field, text):
    """Where APScheduler parses a text, so do we, to the same expressions (and vice versa)."""
    try:
        theirs = apscheduler_cron.CronTrigger(timezone=UTC, **{field: text})
    except ValueError:
        theirs = None
    ours = parse(field, text)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert [str(f) for f in ours.fields] == [str(f) for f in theirs.fields]
        assert str(ours) == str(theirs)


# The forms of other cron dialects that from_crontab reads in its day fields (issue 8).
DIALECT = st.lists(
    st.one_of(TOKENS, st.sampled_from(["L", "W", "#", "?", "LW", "l", "5L", "3#2", "15W", "#9"])),
    max_size=6,
).map("".join)


@given(
    text=st.one_of(
        st.lists(ANY_TEXT, min_size=1, max_size=7).map(" ".join),
        st.lists(st.one_of(ANY_TEXT, DIALECT), min_size=5, max_size=5).map(" ".join),
        st.text(max_size=30),
        st.sampled_from(["@daily", "@Weekly", "@reboot", "@", "@yearly 5"]),
    ),
    standard=st.booleans(),
)
def test_from_crontab_parses_or_raises_value_error(text, standard):
    try:
        trigger = CronTrigger.from_crontab(text, timezone=UTC, standard_weekdays=standard)
    except ValueError as exc:
        assert str(exc)
        return
    # (a line that never fires is refused, and a crontab line has no year to run out of)
    fire_time = trigger.get_next_fire_time(None, NOW)
    assert fire_time is not None and fire_time >= NOW
