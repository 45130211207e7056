"""Pydantic's error types as the field codes the services use, so that a field refused by an API's
schema and one refused by a service read the same in `details` ({"price_idr": "OUT_OF_RANGE"}).
One table for the partner API and the participant API."""

from typing import Any

FIELD_CODES = {
    "missing": "REQUIRED",
    "string_too_short": "TOO_SHORT",
    "string_too_long": "TOO_LONG",
    "string_type": "STRING_REQUIRED",
    "string_unicode": "CHARACTER_INVALID",
    "int_type": "INTEGER_REQUIRED",
    "int_parsing": "INTEGER_REQUIRED",
    "int_from_float": "INTEGER_REQUIRED",
    "float_type": "NUMBER_REQUIRED",
    "float_parsing": "NUMBER_REQUIRED",
    "finite_number": "NUMBER_REQUIRED",
    "bool_type": "BOOLEAN_REQUIRED",
    "bool_parsing": "BOOLEAN_REQUIRED",
    "greater_than": "OUT_OF_RANGE",
    "greater_than_equal": "OUT_OF_RANGE",
    "less_than": "OUT_OF_RANGE",
    "less_than_equal": "OUT_OF_RANGE",
    "literal_error": "CHOICE_INVALID",
    "enum": "CHOICE_INVALID",
    "model_type": "OBJECT_REQUIRED",
    "model_attributes_type": "OBJECT_REQUIRED",
    "dict_type": "OBJECT_REQUIRED",
    "extra_forbidden": "UNKNOWN_FIELD",
    "json_invalid": "JSON_INVALID",
    "character_invalid": "CHARACTER_INVALID",
    "string_pattern_mismatch": "PATTERN_MISMATCH",
    "datetime_type": "DATETIME_INVALID",
    "datetime_parsing": "DATETIME_INVALID",
    "datetime_from_date_parsing": "DATETIME_INVALID",
    "timezone_aware": "OFFSET_REQUIRED",
    "date_type": "DATE_INVALID",
    "date_parsing": "DATE_INVALID",
    "date_from_datetime_parsing": "DATE_INVALID",
}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """ninja locates a body field as ("body", "<parameter>", field, …) and a query or path
    parameter as ("query" | "path", name): the field path a client knows ("institution.name")."""
    if loc and loc[0] == "body":
        return ".".join(str(p) for p in loc[2:]) or "body"
    return ".".join(str(p) for p in loc[1:]) or "body"


def field_codes(
    errors: list[dict[str, Any]], table: dict[str, str] = FIELD_CODES
) -> dict[str, str]:
    """{field path: code} for pydantic's errors, the first error of each field; a type the table
    does not name is pydantic's own, upper-cased."""
    fields: dict[str, str] = {}
    for error in errors:
        fields.setdefault(
            field_path(error["loc"]), table.get(error["type"], str(error["type"]).upper())
        )
    return fields
