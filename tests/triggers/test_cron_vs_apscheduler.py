"""Differential tests: quartzite's CronTrigger against APScheduler 3.11.2's.

In zones without DST changes both follow the same semantics, so chains of fire times must be
identical, as must the string forms. Around DST changes the default ``dst="shift"`` follows
APScheduler 3.11.2 (a wall time the clock skips fires shifted forward by the gap; a repeated one
fires twice), with two deliberate differences:

* one instant fires once: where APScheduler returns a shifted time and then the real match at the
  same instant, we return it once;
* after a shifted fire time APScheduler continues after the gap, so the other matching wall times
  of the gap (02:30 after 02:00) never fire; we shift each of them;
* from a start inside the window where shifted times fire (03:10 CEST, with 02:30 shifting to
  03:30), APScheduler looks at the wall time only and misses the shifted time; we do not; and
  its wall-clock arithmetic can step over a shifted time when a gap is not a whole hour (Lord
  Howe's 30 minutes: from 01:30, ``minute=0`` gives 03:00 there, where 02:00 shifts to 02:30).

So our chain of fire times is APScheduler's (without repeats) plus shifted stand-ins only.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quartzite.triggers.cron import CronTrigger

apscheduler_cron = pytest.importorskip("apscheduler.triggers.cron")

UTC = timezone.utc
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-3)), "Asia/Tokyo"]

SAMPLES = {
    "year": ["*", "2024", "2024-2027", "*/3", "2025/2", "2023,2026", "2030"],
    "month": ["*", "2", "feb-apr", "*/4", "jan,jul", "11-12", "DEC", "3-9/2", "jun-aug/5"],
    "day": ["*", "1", "31", "last", "2nd fri", "last mon", "1-7", "*/10", "15,last", "29"],
    "week": ["*", "1", "*/2", "10-20", "53", "1,27", "5/9"],
    "day_of_week": ["*", "mon-fri", "sat,sun", "0", "6", "*/3", "tue-thu", "2-4/2", "fri"],
    "hour": ["*", "0", "9-17", "*/6", "23", "3,15", "1/7", "22-23"],
    "minute": ["*", "0", "*/15", "5-55/10", "59", "30", "0,1,2"],
    "second": ["*", "0", "*/20", "59", "10-12", "7/25"],
}


@st.composite
def cron_kwargs(draw: st.DrawFn) -> dict:
    fields = draw(st.sets(st.sampled_from(sorted(SAMPLES)), min_size=1, max_size=5))
    if "week" in fields:  # week and month together can make APScheduler search for seconds
        fields.discard("month")
    return {
        field: ",".join(draw(st.lists(st.sampled_from(SAMPLES[field]), min_size=1, max_size=2)))
        for field in fields
    }


@pytest.mark.filterwarnings("ignore:CronTrigger will never fire")
@settings(max_examples=max(20, settings.default.max_examples))
@given(
    kwargs=cron_kwargs(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(datetime(2015, 1, 1), datetime(2035, 1, 1)),
    start_date=st.one_of(st.none(), st.datetimes(datetime(2015, 1, 1), datetime(2035, 1, 1))),
)
def test_same_fire_times_as_apscheduler(kwargs, zone, start, start_date):
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    note(f"kwargs={kwargs}")
    ours = CronTrigger(timezone=tz, start_date=start_date, **kwargs)
    theirs = apscheduler_cron.CronTrigger(timezone=tz, start_date=start_date, **kwargs)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)

    now = start.replace(tzinfo=tz)
    ours_time = ours.get_next_fire_time(None, now)
    theirs_time = theirs.get_next_fire_time(None, now)
    for _ in range(4):
        assert ours_time == theirs_time
        if ours_time is None:
            break
        assert ours_time.utcoffset() == theirs_time.utcoffset()
        ours_time = ours.get_next_fire_time(ours_time, ours_time)
        theirs_time = theirs.get_next_fire_time(theirs_time, theirs_time)


@pytest.mark.parametrize(
    "expr",
    ["* * * * *", "*/5 9-17 * * mon-fri", "0 0 1,15 * *", "30 4 * jan-mar 0-4", "0 0 last * *"],
)
def test_from_crontab_like_apscheduler(expr):
    ours = CronTrigger.from_crontab(expr, timezone="Europe/Berlin")
    theirs = apscheduler_cron.CronTrigger.from_crontab(expr, timezone="Europe/Berlin")
    assert repr(ours) == repr(theirs)
    now = datetime(2024, 6, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ours.get_next_fire_time(None, now) == theirs.get_next_fire_time(None, now)


def test_dst_free_chain_in_dst_zone_matches():
    """Away from DST changes the semantics agree in DST zones too."""
    tz = ZoneInfo("Europe/Berlin")
    kwargs = {"day_of_week": "mon-fri", "hour": "8-18/2", "minute": "15,45"}
    ours = CronTrigger(timezone=tz, **kwargs)
    theirs = apscheduler_cron.CronTrigger(timezone=tz, **kwargs)
    ours_time = theirs_time = datetime(2024, 5, 1, tzinfo=tz)
    ours_time = ours.get_next_fire_time(None, ours_time)
    theirs_time = theirs.get_next_fire_time(None, theirs_time)
    for _ in range(300):
        assert ours_time == theirs_time
        ours_time = ours.get_next_fire_time(ours_time, ours_time)
        theirs_time = theirs.get_next_fire_time(theirs_time, theirs_time)


DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe"]
# (No date fields: when APScheduler moves to the next day across a change its wall-clock
# arithmetic in UTC can skip a day, a difference unrelated to the gap behaviour compared here.)
DST_SAMPLES = {
    "hour": ["*", "1", "2", "3", "2,3", "0-4", "*/2", "1-3/2"],
    "minute": ["*", "0", "30", "*/15", "0,30", "45", "59"],
    "second": ["0", "*/20", "30"],
}


def _is_shifted_stand_in(instant: float, tz) -> bool:
    """Whether ``instant`` reads, with the offset of a day before, as a wall time the clock
    skipped (so it is the shifted fire time of that wall time)."""
    before = datetime.fromtimestamp(instant - 86400, tz).utcoffset()
    wall = datetime.fromtimestamp(instant, timezone.utc).replace(tzinfo=None) + before
    resolved = wall.replace(tzinfo=tz)
    return datetime.fromtimestamp(resolved.timestamp(), tz).replace(tzinfo=None) != wall


@settings(max_examples=max(20, settings.default.max_examples))
@given(
    data=st.data(),
    zone=st.sampled_from(DST_ZONES),
    year=st.integers(2000, 2035),
    change=st.integers(0, 1),
    hours_before=st.integers(1, 72),
)
def test_chains_around_dst_changes_agree_with_apscheduler(data, zone, year, change, hours_before):
    tz = ZoneInfo(zone)
    fields = data.draw(st.sets(st.sampled_from(sorted(DST_SAMPLES)), min_size=1))
    kwargs = {field: data.draw(st.sampled_from(DST_SAMPLES[field])) for field in fields}
    # the two changes of the year (found by walking hours), and a start before one of them
    changes = []
    moment = datetime(year, 1, 1, tzinfo=timezone.utc)
    while moment.year == year:
        following = moment + timedelta(hours=1)
        if following.astimezone(tz).utcoffset() != moment.astimezone(tz).utcoffset():
            changes.append(following)
        moment = following
    start = (changes[change] - timedelta(hours=hours_before)).astimezone(tz)
    note(f"kwargs={kwargs} start={start}")
    ours = CronTrigger(timezone=tz, **kwargs)
    theirs = apscheduler_cron.CronTrigger(timezone=tz, **kwargs)
    ours_times, theirs_times = [], []
    ours_time = ours.get_next_fire_time(None, start)
    theirs_time = theirs.get_next_fire_time(None, start)
    for _ in range(60):
        ours_times.append(ours_time.timestamp())
        theirs_times.append(theirs_time.timestamp())
        ours_time = ours.get_next_fire_time(ours_time, ours_time)
        theirs_time = theirs.get_next_fire_time(theirs_time, theirs_time)
    # (the first fire time is the same, unless ours is a shifted time APScheduler stepped over)
    assert ours_times[0] == theirs_times[0] or _is_shifted_stand_in(ours_times[0], tz)
    assert ours_times == sorted(set(ours_times))  # strictly increasing
    horizon = min(ours_times[-1], theirs_times[-1])
    ours_set = {instant for instant in ours_times if instant <= horizon}
    theirs_set = {instant for instant in theirs_times if instant <= horizon}
    assert theirs_set <= ours_set
    for extra in sorted(ours_set - theirs_set):
        assert _is_shifted_stand_in(extra, tz), datetime.fromtimestamp(extra, tz)
