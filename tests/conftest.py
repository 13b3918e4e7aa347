"""Fixtures shared by the whole test suite.

- ``timezone``: the zone most tests work in (Europe/Berlin: it has DST, so fold bugs show).
- ``freeze_time``: a fake clock for the modules that read the current time
  (:mod:`support.clock`).
- ``require_service``: skip (or fail, in CI) when a server such as PostgreSQL is unreachable.

Hypothesis profiles (global to the session): ``HYPOTHESIS_PROFILE=ci`` (the default) keeps the
property tests to a few seconds and deterministic; ``HYPOTHESIS_PROFILE=thorough`` runs many more
examples (minutes).
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

# The clock's names stay importable from here, where they lived before support.clock
from support.clock import CLOCK_MODULES as CLOCK_MODULES
from support.clock import FROZEN_START as FROZEN_START
from support.clock import FakeClock, install_fake_clock

_T = TypeVar("_T")

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def timezone() -> ZoneInfo:
    return ZoneInfo("Europe/Berlin")


@pytest.fixture
def freeze_time(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Freeze the clock of the scheduler, the executors' misfire check and the date/interval
    triggers at :data:`FROZEN_START`; move it with ``freeze_time.set(...)`` /
    ``freeze_time.advance(seconds=...)`` (see :mod:`support.clock`)."""
    return install_fake_clock(monkeypatch)


def _require_service(name: str, check: Callable[[], _T]) -> _T:
    """Make sure a server needed by a test is reachable.

    Usage (in a test or a fixture of any scope)::

        engine = require_service("PostgreSQL", lambda: connect_and_ping(url))

    :param name: what to call the service in the skip/fail message (e.g. ``"Redis"``)
    :param check: a callable without arguments that probes the service; it must raise (any
        :class:`Exception`) or return ``False`` when the service is unreachable
    :return: whatever ``check`` returned (a connection, a client ...)

    When the service is unreachable the calling test is skipped with the reason
    ``"NAME is not reachable: ERROR"``, unless the environment variable
    ``QUARTZITE_REQUIRE_SERVICES`` is ``1``: then the test fails (CI starts every service, so a
    missing one is an error there, never a silent skip).
    """
    try:
        result = check()
        error: Any = None if result is not False else "the check returned False"
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"

    if error is None:
        return result

    reason = f"{name} is not reachable: {error}"
    if os.environ.get("QUARTZITE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (QUARTZITE_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def require_service() -> Callable[[str, Callable[[], Any]], Any]:
    """The function ``require_service(name, check)``; see :func:`_require_service`."""
    return _require_service
