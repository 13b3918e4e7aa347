"""Fields represent the options of a :class:`~quartzite.triggers.cron.CronTrigger`.

Each field maps to one component of a :class:`~datetime.datetime` (or, for ``week`` and
``day_of_week``, to a value derived from the date) and holds the expressions parsed from the
option's text. A value matches the field when any of its expressions matches it.
"""

from __future__ import annotations

import re
from calendar import monthrange
from typing import Any, Dict, List, Tuple

from ._limits import DEFAULT_VALUES, MAX_VALUES, MIN_VALUES
from .expressions import (
    AllExpression,
    LastDayOfMonthExpression,
    MonthRangeExpression,
    NearestWeekdayExpression,
    RangeExpression,
    WeekdayPositionExpression,
    WeekdayRangeExpression,
)

__all__ = (
    "DEFAULT_VALUES",
    "MAX_VALUES",
    "MIN_VALUES",
    "SEPARATOR",
    "BaseField",
    "DayOfMonthField",
    "DayOfWeekField",
    "MonthField",
    "WeekField",
)

#: Splits a field's text into its comma separated expressions.
SEPARATOR = re.compile(" *, *")

# Parsing the same text for the same kind of field always gives the same expressions, and
# applications tend to build many triggers from a few distinct strings: remember the results.
# (Expressions are never modified after construction, so fields may share them.)
_PARSE_CACHE: Dict[Tuple[type, str, str], Tuple[Any, ...]] = {}
_PARSE_CACHE_SIZE = 2048


def _value_range(name: str) -> str:
    low, high = MIN_VALUES.get(name), MAX_VALUES.get(name)
    return "in the field's range" if low is None else f"{low}-{high}"


class BaseField:
    """A cron field whose value is the datetime attribute of the same name.

    :param name: name of the field (one of :attr:`CronTrigger.FIELD_NAMES
        <quartzite.triggers.cron.CronTrigger.FIELD_NAMES>`)
    :param exprs: the field's text (any object; it is converted with ``str()``)
    :param is_default: ``True`` when the user did not give this field
    :raises ValueError: if the text is not a valid expression list for this field
    """

    #: ``True`` if the field corresponds to a datetime component that can be set directly.
    REAL = True
    #: The expression classes tried, in order, on each comma separated item.
    COMPILERS: List[Any] = [AllExpression, RangeExpression]
    #: The accepted forms, for error messages (``{range}`` is the field's value range).
    SYNTAX_HINT = "*, */N, A, A-B, A/N or A-B/N, comma separated, with values {range}"

    def __init__(self, name: str, exprs: Any, is_default: bool = False) -> None:
        self.is_default = is_default
        self.name = name
        self.compile_expressions(exprs)

    def get_value(self, dateval: Any) -> int:
        """Return this field's value in ``dateval``."""
        return getattr(dateval, self.name)

    def get_next_value(self, dateval: Any) -> int | None:
        """Return the smallest value ≥ this field's value in ``dateval`` that any expression
        matches, or ``None`` if there is none (in the month of ``dateval``)."""
        candidates = (expr.get_next_value(dateval, self) for expr in self.expressions)
        return min((value for value in candidates if value is not None), default=None)

    def get_min(self, dateval: Any) -> int:
        """Return the smallest possible value of this field (for the month of ``dateval``)."""
        return MIN_VALUES[self.name]

    def get_max(self, dateval: Any) -> int:
        """Return the largest possible value of this field (for the month of ``dateval``)."""
        return MAX_VALUES[self.name]

    def compile_expressions(self, exprs: Any) -> None:
        """Parse the comma separated expressions of ``exprs`` into :attr:`expressions`."""
        self.expressions: List[Any]
        text = str(exprs).strip()
        key = (self.__class__, self.name, text)
        cached = _PARSE_CACHE.get(key)
        if cached is not None:
            self.expressions = list(cached)
            return

        self.expressions = []
        if (
            text == "*"
            and self.COMPILERS[0] is AllExpression
            and type(self).compile_expression is BaseField.compile_expression
        ):
            self.expressions.append(AllExpression())  # the most common text: skip the regexes
        else:
            for expr in SEPARATOR.split(text):
                self.compile_expression(expr)

        if len(_PARSE_CACHE) >= _PARSE_CACHE_SIZE:
            _PARSE_CACHE.clear()
        _PARSE_CACHE[key] = tuple(self.expressions)

    def compile_expression(self, expr: str) -> None:
        """Parse one expression with the first matching compiler and append it.

        :raises ValueError: if no compiler recognises ``expr`` or its values are out of range
        """
        for compiler in self.COMPILERS:
            match = compiler.value_re.match(expr)
            if match:
                try:
                    compiled_expr = compiler(**match.groupdict())
                except ValueError as exc:
                    message = str(exc)
                    if message.startswith("Invalid "):  # names the bad value already
                        raise
                    raise ValueError(
                        f'{message} (in expression "{expr}" for field "{self.name}")'
                    ) from None

                try:
                    compiled_expr.validate_range(self.name)
                except ValueError as exc:
                    # (the message up to the detail is the contract's; the field comes after)
                    raise ValueError(
                        f"Error validating expression {expr!r}: {exc} "
                        f"(field {self.name!r} takes {_value_range(self.name)})"
                    ) from None

                self.expressions.append(compiled_expr)
                return

        raise ValueError(
            f'Unrecognized expression "{expr}" for field "{self.name}" (expected '
            f"{self.SYNTAX_HINT.format(range=_value_range(self.name))})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.expressions == other.expressions

    def __str__(self) -> str:
        return ",".join(map(str, self.expressions))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, '{self}')"


class MonthField(BaseField):
    """The month, 1-12; also accepts ``jan``-``dec`` names."""

    COMPILERS = [*BaseField.COMPILERS, MonthRangeExpression]
    SYNTAX_HINT = BaseField.SYNTAX_HINT + ", or names jan-dec"


class DayOfMonthField(BaseField):
    """The day of the month; also accepts ``last``, ``2nd wed``, ``last fri`` and, beyond
    APScheduler, ``15W`` / ``LW`` (the weekday nearest to a day, as in crontab's Quartz dialect),
    so that every trigger :meth:`~quartzite.triggers.cron.CronTrigger.from_crontab` builds can be
    written down as field expressions (the JSON serializer stores them that way)."""

    COMPILERS = [
        *BaseField.COMPILERS,
        WeekdayPositionExpression,
        LastDayOfMonthExpression,
        NearestWeekdayExpression,
    ]
    SYNTAX_HINT = (
        BaseField.SYNTAX_HINT
        + ", 'last', '1st'-'5th'/'last' and a weekday name, or a day followed by W (15W, LW)"
    )

    def get_max(self, dateval: Any) -> int:
        return monthrange(dateval.year, dateval.month)[1]


class WeekField(BaseField):
    """The ISO 8601 week number (1-53)."""

    REAL = False

    def get_value(self, dateval: Any) -> int:
        return dateval.isocalendar()[1]  # (the ISO week number)


class DayOfWeekField(BaseField):
    """The day of the week, 0 (Monday) to 6 (Sunday); also accepts ``mon``-``sun`` names."""

    REAL = False
    COMPILERS = [*BaseField.COMPILERS, WeekdayRangeExpression]
    SYNTAX_HINT = BaseField.SYNTAX_HINT + " (0 = Monday), or names mon-sun"

    def get_value(self, dateval: Any) -> int:
        return dateval.weekday()
