"""Turning what a user passes to ``configure()`` into checked scheduler settings.

A configuration arrives in two shapes at once: a flat "global" mapping such as an INI section or
Django settings (``{"quartzite.jobstores.default.type": "sqlalchemy"}``), and keyword options.
:class:`ConfigParser` keeps the keys under the scheduler's prefix, rebuilds the nesting the dots
describe (a value may already be a nested mapping, YAML style: both merge into one tree), lets the
keyword options win, and then checks each setting the base scheduler reads, so that a typo or a
nonsense value fails in ``configure()`` with a message naming the setting, instead of surfacing as
a strange schedule hours later.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any

from ..util import asbool, asint, astimezone

__all__ = ("ConfigParser", "closest_hint", "refuse_uwsgi_without_threads")

# The prefix APScheduler's own configuration files carry; a project moving to quartzite keeps
# them by accident, and without a warning its whole configuration would be dropped unnoticed.
_FOREIGN_PREFIX = "apscheduler."
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def closest_hint(name: str, known: Any) -> str:
    """The ``"; did you mean 'x'?"`` suffix for ``name`` among ``known`` ("" if none is close)."""
    matches = get_close_matches(str(name), [str(item) for item in known], n=1)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _caller_stacklevel(owner: object) -> int:
    """The ``stacklevel`` that makes a warning point at the user's code: the first frame that
    is neither in quartzite nor a method of ``owner`` (a scheduler subclass's ``__init__``)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (
        os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR)
        or (owner is not None and frame.f_locals.get("self") is owner)
    ):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def refuse_uwsgi_without_threads() -> None:
    """Refuse to start under uWSGI with threads disabled: no job would ever run."""
    if getattr(sys.modules.get("uwsgi"), "has_threads", True):
        return
    raise RuntimeError(
        "The scheduler seems to be running under uWSGI, but threads have "
        "been disabled. You must run uWSGI with the --enable-threads "
        "option for the scheduler to work."
    )


def _merge_into(target: dict[str, Any], key: str, value: Any) -> None:
    """Store ``value`` under ``key``; two mappings for one key are merged key by key."""
    existing = target.get(key)
    if isinstance(existing, dict) and isinstance(value, Mapping):
        merged = dict(existing)
        for subkey, subvalue in value.items():
            _merge_into(merged, subkey, subvalue)
        target[key] = merged
    else:
        target[key] = value


class ConfigParser:
    """Collects and checks the scheduler-wide settings of ``configure()``.

    It holds the table of job defaults (name → built-in value and checker) and nothing about any
    one scheduler, so a single instance serves every scheduler; subclasses of
    :class:`~quartzite.schedulers.base.BaseScheduler` still read their own options from the
    collected dict in ``_configure`` before the base class reads the rest.
    """

    #: built-in values of the ``job_defaults`` setting (the contract's three keys)
    JOB_DEFAULTS: Mapping[str, Any] = {
        "misfire_grace_time": 1,
        "coalesce": True,
        "max_instances": 1,
    }

    def collect(
        self,
        gconfig: Mapping[str, Any],
        prefix: str | None,
        options: Mapping[str, Any],
        owner: object = None,
    ) -> dict[str, Any]:
        """Build the one nested settings dict from the global mapping and keyword options.

        :param owner: the scheduler being configured (warnings point past its own methods)
        """
        if not isinstance(gconfig, Mapping):
            raise TypeError(
                f"configure: gconfig must be a mapping of setting names to values, "
                f"got {type(gconfig).__name__}"
            )
        if prefix:
            self._warn_foreign_prefix(gconfig, prefix, owner)
            cut = len(prefix)
            gconfig = {key[cut:]: value for key, value in gconfig.items() if key.startswith(prefix)}

        tree: dict[str, Any] = {}
        for dotted_key, value in gconfig.items():
            *path, leaf = dotted_key.split(".")
            node = tree
            for part in path:
                child = node.get(part)
                if not isinstance(child, dict):
                    # A non-dict mapping given YAML style is copied, never mutated in place.
                    child = node[part] = {} if child is None else dict(child)
                node = child
            _merge_into(node, leaf, value)

        tree.update(options)
        return tree

    @staticmethod
    def _warn_foreign_prefix(gconfig: Mapping[str, Any], prefix: str, owner: object) -> None:
        if prefix == _FOREIGN_PREFIX:
            return
        ignored = sorted(key for key in gconfig if str(key).startswith(_FOREIGN_PREFIX))
        if ignored:
            warnings.warn(
                f"configure: ignoring {len(ignored)} setting(s) with APScheduler's prefix "
                f"{_FOREIGN_PREFIX!r}: {', '.join(ignored)}. This scheduler only reads keys "
                f"starting with {prefix!r}; rename the prefix of these keys to {prefix!r} "
                f"(or pass prefix={_FOREIGN_PREFIX!r} to configure())",
                UserWarning,
                stacklevel=_caller_stacklevel(owner),
            )

    def job_defaults(self, value: Any) -> dict[str, Any]:
        """Check the ``job_defaults`` setting and fill in the built-in values it leaves out."""
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise TypeError(
                f"job_defaults must be a mapping (e.g. {{'coalesce': False}}), "
                f"got {type(value).__name__}"
            )
        for key in value:
            if key not in self.JOB_DEFAULTS:
                known = ", ".join(repr(name) for name in self.JOB_DEFAULTS)
                raise ValueError(
                    f"job_defaults: unknown key {key!r}; the known keys are "
                    f"{known}{closest_hint(key, self.JOB_DEFAULTS)}"
                )
        return {
            "misfire_grace_time": self._grace_time(
                value.get("misfire_grace_time", self.JOB_DEFAULTS["misfire_grace_time"])
            ),
            "coalesce": self._flag("coalesce", value.get("coalesce", True)),
            "max_instances": self._instances(value.get("max_instances", 1)),
        }

    @staticmethod
    def _grace_time(value: Any) -> int | None:
        try:
            seconds = asint(value)
        except (TypeError, ValueError):
            seconds = 0
        if value is not None and (seconds is None or seconds <= 0 or isinstance(value, bool)):
            raise ValueError(
                f"job_defaults['misfire_grace_time'] must be None (no limit) or a positive "
                f"whole number of seconds, got {value!r}"
            )
        return seconds

    @staticmethod
    def _flag(key: str, value: Any) -> bool:
        try:
            return asbool(value)
        except ValueError:
            raise ValueError(
                f"job_defaults[{key!r}] must be a boolean (True/False, or a string such as "
                f"'true', 'no', '1'), got {value!r}"
            ) from None

    @staticmethod
    def _instances(value: Any) -> int:
        try:
            count = asint(value)
        except (TypeError, ValueError):
            count = None
        if count is None or count < 1 or isinstance(value, bool):
            raise ValueError(
                f"job_defaults['max_instances'] must be a whole number >= 1, got {value!r}"
            )
        return count

    @staticmethod
    def max_catch_up(value: Any) -> int:
        """Check ``max_catch_up``: missed run times of one job run at once at most."""
        try:
            count = asint(value)
        except (TypeError, ValueError):
            count = None
        if count is None or count < 1 or isinstance(value, bool):
            raise ValueError(f"max_catch_up must be a whole number >= 1, got {value!r}")
        return count

    @staticmethod
    def retry_interval(value: Any) -> float:
        """Check ``jobstore_retry_interval``: seconds between retries of a failing job store."""
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0) or isinstance(value, bool):
            raise ValueError(
                f"jobstore_retry_interval must be a positive finite number of seconds, "
                f"got {value!r}"
            )
        return seconds

    @staticmethod
    def timezone(value: Any) -> Any:
        """Check the ``timezone`` setting (``None`` when not given: the caller picks local)."""
        try:
            return astimezone(value)
        except LookupError:
            from zoneinfo import available_timezones

            raise LookupError(
                f"timezone: no time zone is named {value!r}; expected an IANA name such as "
                f"'Europe/Berlin' or 'UTC'{closest_hint(value, available_timezones())}"
            ) from None
        except TypeError as exc:
            raise TypeError(
                f"timezone must be a time zone name or a tzinfo object, got {value!r} ({exc})"
            ) from None

    @staticmethod
    def component_table(name: str, value: Any) -> Mapping[str, Any]:
        """Check that ``executors`` / ``jobstores`` maps aliases to components."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise TypeError(
                f"{name} must be a mapping of alias to {name[:-1]} instance or configuration "
                f"dict, got {type(value).__name__}"
            )
        return value
