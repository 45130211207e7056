"""The partner API's field types: each refuses exactly what its JSON schema says it refuses, so a
body that validates against the OpenAPI document is never a 422, and one that does not always is.

- `Line` (a name, a title, an id, a code) and `Text` (a description): the one text policy of
  common/text.py (CHARACTER_INVALID: control characters, lone surrogates, bidi overrides; line
  breaks too in a `Line`), and not blank (REQUIRED): the services keep text without the white space
  at either end (`str.strip()`), so text of nothing but white space is no text. Both stated in one
  `pattern`. The white space is listed character by character: `\\s` means different characters in
  Python (U+001C–U+001F, U+0085) and in ECMA-262 (U+FEFF), the regular expressions of the server
  and of the clients that read the document.
- `OptionalLine`: a one-line text that may be empty (`partner_reference`).
- `PathSegment`: a `Line` without `/` (an id in the path, one segment).
- `WebAddress`: an http(s) URL with a host name, in a pattern narrower than what Django's
  URLValidator (the services' check) accepts, so that every address the pattern admits is also
  accepted there (URL_INVALID otherwise).
- `Whole`, `Flag`, `Moment` (common/api_types.py) and `Number`: a JSON integer, boolean,
  RFC 3339 string, or number, never a string that looks like one (`"5"`, `"true"`, a number for a
  time). `5.0` is the integer 5 to JSON Schema (a number without a fraction), and is taken as 5:
  refusing it would refuse a body the document admits; `5.5` is refused.

The bounds (`min_length`, `max_length`, `ge`, `le`) are given with `Field(...)` where a type is
used, and pydantic states them in the schema itself."""

import re
from typing import Annotated, Any

from pydantic import GetJsonSchemaHandler, Strict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from prakerja.common.api_types import Flag, Moment, OneLine, Whole
from prakerja.common.text import MULTI_LINE_PATTERN, text_problem

__all__ = [
    "Flag",
    "Line",
    "Moment",
    "Number",
    "OneLine",
    "OptionalLine",
    "PathSegment",
    "Text",
    "WebAddress",
    "Whole",
    "filled_pattern",
]

# The policy's always-refused characters, as a character class body (common/text.py's own).
REFUSED = MULTI_LINE_PATTERN.removeprefix("^[^").removesuffix("]*$")
LINE_BREAKS = r"\t\n\r"
# What str.strip() removes that the policy allows (the rest of Python's white space, U+000B,
# U+000C, U+001C–U+001F and U+0085, is refused anyway).
SPACE = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def filled_pattern(*, multiline: bool, also_refused: str = "") -> str:
    """Text under the policy with at least one character that is not white space."""
    space = SPACE + (LINE_BREAKS if multiline else "")
    refused = REFUSED + ("" if multiline else LINE_BREAKS) + also_refused
    return rf"^[{space}]*[^{space}{refused}][^{refused}]*$"


class _Filled:
    """The policy, then not blank: CHARACTER_INVALID before REQUIRED, each with its own code."""

    def __init__(self, *, multiline: bool, also_refused: str = "") -> None:
        self.multiline = multiline
        self.also_refused = also_refused
        self.pattern = filled_pattern(multiline=multiline, also_refused=re.escape(also_refused))

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema

    def _check(self, value: str) -> str:
        if text_problem(value, multiline=self.multiline) or any(
            character in value for character in self.also_refused
        ):
            raise PydanticCustomError(
                "character_invalid",
                "control characters, lone surrogates and bidirectional overrides are not allowed",
            )
        if not value.strip():
            raise PydanticCustomError("blank", "white space alone is no text")
        return value


Line = Annotated[str, Strict(), _Filled(multiline=False)]
Text = Annotated[str, Strict(), _Filled(multiline=True)]
PathSegment = Annotated[str, Strict(), _Filled(multiline=False, also_refused="/")]
OptionalLine = OneLine
Number = Annotated[float, Strict()]

# --- web addresses ----------------------------------------------------------------------------------

# A host name of two to five labels (1–40 letters, digits or inner hyphens; the last, the top-level
# domain, letters only): at most 204 characters, within the 253 URLValidator allows, and only
# forms its host rule (name, domain, TLD) admits. Also `localhost` and an IPv4 address without
# leading zeros, which URLValidator admits too: a platform's sandbox or staging host answers on
# them (the demo's sandbox platform does). No user name or password, no IPv6.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HOST = rf"(?:(?:{_LABEL}\.){{1,4}}[A-Za-z]{{2,40}}|localhost|{_OCTET}(?:\.{_OCTET}){{3}})"
_PORT = r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
# Path, query and fragment: anything but white space (URLValidator's own rule) and what the text
# policy refuses.
_REST = rf"(?:[/?#][^{SPACE}{LINE_BREAKS}{REFUSED}]*)?"
WEB_ADDRESS_PATTERN = rf"^https?://{_HOST}{_PORT}{_REST}$"
_WEB_ADDRESS = re.compile(WEB_ADDRESS_PATTERN)
WEB_ADDRESS_RULE = (
    "An `http://` or `https://` address (scheme in lower case) with a host name of two to five "
    "dot-separated labels (letters, digits, inner hyphens; the last letters only), an optional "
    "port, then anything but white space and the characters the text policy refuses; `localhost` "
    "or an IPv4 address stands for the host name too. No user name, no IPv6 address. Anything "
    "else is `URL_INVALID`."
)


class _WebAddress:
    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = WEB_ADDRESS_PATTERN
        return json_schema

    def _check(self, value: str) -> str:
        if text_problem(value):
            raise PydanticCustomError(
                "character_invalid",
                "control characters, lone surrogates and bidirectional overrides are not allowed",
            )
        if not _WEB_ADDRESS.fullmatch(value):
            raise PydanticCustomError("url_invalid", "an http(s) address with a host name")
        return value


WebAddress = Annotated[str, Strict(), _WebAddress()]
