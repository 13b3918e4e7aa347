"""Value ranges of the cron fields, shared by the field and expression modules."""

from __future__ import annotations

from typing import Dict, Union

MIN_VALUES: Dict[str, int] = {
    "year": 1970,
    "month": 1,
    "day": 1,
    "week": 1,
    "day_of_week": 0,
    "hour": 0,
    "minute": 0,
    "second": 0,
}
MAX_VALUES: Dict[str, int] = {
    "year": 9999,
    "month": 12,
    "day": 31,
    "week": 53,
    "day_of_week": 6,
    "hour": 23,
    "minute": 59,
    "second": 59,
}
DEFAULT_VALUES: Dict[str, Union[int, str]] = {
    "year": "*",
    "month": 1,
    "day": 1,
    "week": "*",
    "day_of_week": "*",
    "hour": 0,
    "minute": 0,
    "second": 0,
}

# Digit strings longer than this cannot be a valid value of any field; refusing them early also
# keeps int() away from CPython's limit on the length of integer strings.
MAX_DIGITS = 100


def parse_int(text: str | int | None) -> int | None:
    """Convert a digit string (as matched by ``\\d+``) to an int; ``None`` passes through.

    :raises ValueError: if the number is absurdly long
    """
    if text is None or isinstance(text, int):
        return text
    if len(text) > MAX_DIGITS:
        stripped = text.lstrip("0") or "0"
        if len(stripped) > MAX_DIGITS:
            raise ValueError(f"the value {stripped[:10]}... ({len(stripped)} digits) is too large")
        text = stripped
    return int(text)
