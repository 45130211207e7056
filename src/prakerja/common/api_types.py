"""Field types shared by the partner API and the participant API, so that both read input alike and
their OpenAPI documents state what the server enforces:

- `OneLine` and `FreeText`: text under the one policy of common/text.py (422 CHARACTER_INVALID),
  its rule given as the field's `pattern`; `TrimmedLine` and `TrimmedText` also refuse white space
  at either end, for fields whose length a service counts;
- `Whole` and `Flag`: a JSON integer or boolean, never a string that looks like one (`"5"` and
  `"true"` are refused; `5.0` is an integer in JSON Schema's reading, and taken as 5);
- `Moment`: an RFC 3339 date-time with an offset, as a string (a number is not a time), in UTC;
- `Day`: a calendar date written `YYYY-MM-DD`.

Body fields only: path and query parameters arrive as text and are read by their own rules."""

import datetime
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler, Strict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from prakerja.common.text import (
    MULTI_LINE_PATTERN,
    ONE_LINE_PATTERN,
    TRIMMED_MULTI_LINE_PATTERN,
    TRIMMED_ONE_LINE_PATTERN,
    text_problem,
    trimmed_text_problem,
)


class _TextPolicy:
    """Refuses what common/text.py refuses, and says so in the JSON schema as a pattern."""

    def __init__(self, *, multiline: bool, trimmed: bool = False) -> None:
        self.multiline = multiline
        self.trimmed = trimmed

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = PATTERNS[self.trimmed, self.multiline]
        return json_schema

    def _check(self, value: str) -> str:
        check = trimmed_text_problem if self.trimmed else text_problem
        if check(value, multiline=self.multiline):
            raise PydanticCustomError(
                "character_invalid",
                "control characters, lone surrogates and bidirectional overrides are not allowed",
            )
        return value


PATTERNS = {
    (False, False): ONE_LINE_PATTERN,
    (False, True): MULTI_LINE_PATTERN,
    (True, False): TRIMMED_ONE_LINE_PATTERN,
    (True, True): TRIMMED_MULTI_LINE_PATTERN,
}

OneLine = Annotated[str, Strict(), _TextPolicy(multiline=False)]
FreeText = Annotated[str, Strict(), _TextPolicy(multiline=True)]
# What a person typed, without white space at either end (CHARACTER_INVALID otherwise), so that
# `minLength`/`maxLength` are the server's own bounds: a service that trims finds nothing to trim.
TrimmedLine = Annotated[str, Strict(), _TextPolicy(multiline=False, trimmed=True)]
TrimmedText = Annotated[str, Strict(), _TextPolicy(multiline=True, trimmed=True)]


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 5.0 an integer (a number with no fraction), so it is taken as 5; a string,
    a boolean or 5.5 is not one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(_whole_number), Strict()]
Flag = Annotated[bool, Strict()]

# RFC 3339 §5.6 (`T` and `Z` in either case). A fraction finer than microseconds is cut to them.
RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _moment_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "an RFC 3339 date-time string is required")
    found = RFC3339.match(value)
    if not found:
        if re.match(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?$", value):
            raise PydanticCustomError("timezone_aware", "the time needs an offset (Z or +07:00)")
        raise PydanticCustomError("datetime_parsing", "an RFC 3339 date-time is required")
    day, clock, fraction, offset = found.groups()
    text = f"{day}T{clock}{(fraction or '')[:7]}{offset.upper()}"
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise PydanticCustomError("datetime_parsing", "not a date-time of the calendar") from None


def _in_utc(value: datetime.datetime) -> datetime.datetime:
    """A valid RFC 3339 time at the very edge of the calendar (year 1 ahead of UTC, year 9999 behind
    it) has no UTC equivalent in Python: it is read as the calendar's first or last instant, which
    every rule then compares as what it is (long before, far ahead), rather than as a 500."""
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        edge = datetime.datetime.min if value.year == 1 else datetime.datetime.max
        return edge.replace(tzinfo=datetime.UTC)


def _day_text(value: Any) -> Any:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise PydanticCustomError("date_parsing", "a date written YYYY-MM-DD is required")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_parsing", "not a date of the calendar") from None


class _DateTimeSchema:
    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time"}


class _DateSchema:
    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date"}


Moment = Annotated[
    datetime.datetime,
    BeforeValidator(_moment_text),
    AfterValidator(_in_utc),
    _DateTimeSchema(),
]
Day = Annotated[datetime.date, BeforeValidator(_day_text), _DateSchema()]


def moment_from_query(value: str) -> datetime.datetime:
    """A query parameter read by the same rule as a body's Moment (raises PydanticCustomError)."""
    return _in_utc(_moment_text(value))
