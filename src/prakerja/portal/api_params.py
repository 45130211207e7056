"""How the participant API reads what arrives as text — path and query parameters and the fields of
a multipart form — so that its OpenAPI document states exactly what is taken:

- `Annotated[int, IntegerText(minimum=, maximum=, code=)]`: an integer written as JSON writes one, an optional
  minus and digits without a leading zero (`5`, `-12`). Not `+5`, `05`, ` 5`, `5.0` nor `1_000`,
  which Python and pydantic would also read: the document says "integer", and a client is never
  surprised by a spelling taken here and refused by another reader. The bounds are the schema's
  `minimum` and `maximum` (a database integer holds at most 2⁶³ − 1);
- `Annotated[str, ChoiceText(values, code=)]`: one of `values`, stated as the schema's `enum`.

A refusal is pydantic's, of the type `code` (lower case), so that the API answers 422
VALIDATION_FAILED with details {parameter: code}: the codes these parameters always had
(PAGE_INVALID, PRICE_INVALID, REGION_UNKNOWN, …)."""

import re
from collections.abc import Iterable
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

BIGINT_MAX = 2**63 - 1
_JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DIGITS_MAX = len(str(BIGINT_MAX)) + 1  # longer text is out of every range: not worth reading


class IntegerText:
    """`code` names both refusals (not an integer, out of range); without it they are pydantic's
    own `int_parsing` and `greater_than_equal`/`less_than_equal` (INTEGER_REQUIRED, OUT_OF_RANGE)."""

    def __init__(self, *, minimum: int, maximum: int, code: str | None = None) -> None:
        self.minimum, self.maximum, self.code = minimum, maximum, code

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._read)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}

    def _read(self, value: Any) -> int:
        if isinstance(value, str) and len(value) <= _DIGITS_MAX and _JSON_INTEGER.fullmatch(value):
            number = int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value  # a default, or a caller in Python
        else:
            raise self._refusal("int_parsing", "an integer written in decimal digits is required")
        if number < self.minimum:
            raise self._refusal("greater_than_equal", f"at least {self.minimum}")
        if number > self.maximum:
            raise self._refusal("less_than_equal", f"at most {self.maximum}")
        return number

    def _refusal(self, kind: str, message: str) -> PydanticCustomError:
        if self.code:
            return PydanticCustomError(self.code.lower(), self.code)
        return PydanticCustomError(kind, message)


class ChoiceText:
    def __init__(self, values: Iterable[str], *, code: str = "CHOICE_INVALID") -> None:
        self.values = list(values)
        self.accepted = frozenset(self.values)
        self.code = code

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._read)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": self.values}

    def _read(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.accepted:
            raise PydanticCustomError(self.code.lower(), self.code)
        return value


def without_default(schema: dict[str, Any]) -> None:
    """For `Field(json_schema_extra=…)` of an optional parameter whose absence has no value to
    write (None is not text): the document leaves the default out rather than say `null`."""
    schema.pop("default", None)
