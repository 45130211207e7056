"""The one text policy of every free-text field: the partner API, the participant API and the
portal's forms all refuse the same characters with the same code, CHARACTER_INVALID.

Refused everywhere: control characters (Unicode category Cc: C0, DEL and C1; PostgreSQL cannot even
store NUL), lone surrogates (not text: they cannot be written as UTF-8, so storing one fails) and the
bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069), which make a
name or a review display as something other than what is stored ("Trojan Source", CVE-2021-42574).
A multi-line field (a description, a review, a complaint) may also hold tab, line feed and carriage
return; a one-line field (a name, a title, an id) may not.

The rule is a regular expression so that the OpenAPI documents can state it as each field's
`pattern` and a client can check text before sending it. The published patterns leave lone
surrogates out: they are not Unicode scalar values, so the regex engines that validators use (ECMA
with the u flag, Rust's) cannot even name them; every string the schemas speak of is Unicode text
already, and the server refuses the surrogates a JSON escape can smuggle in all the same."""

import re

# As a regular-expression character class body, for patterns that add rules of their own.
REFUSED_ALWAYS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_SURROGATE = re.compile(r"[\ud800-\udfff]")
ONE_LINE_PATTERN = rf"^[^\t\n\r{REFUSED_ALWAYS}]*$"
MULTI_LINE_PATTERN = rf"^[^{REFUSED_ALWAYS}]*$"

# The same, for text that also neither starts nor ends with white space (what a person typed,
# trimmed by the client): the server counts its length as sent, so the schema's bounds are exact.
TRIMMED_ONE_LINE_PATTERN = (
    rf"^(?:[^\s{REFUSED_ALWAYS}](?:[^\t\n\r{REFUSED_ALWAYS}]*[^\s{REFUSED_ALWAYS}])?)?$"
)
TRIMMED_MULTI_LINE_PATTERN = (
    rf"^(?:[^\s{REFUSED_ALWAYS}](?:[^{REFUSED_ALWAYS}]*[^\s{REFUSED_ALWAYS}])?)?$"
)

_ONE_LINE = re.compile(ONE_LINE_PATTERN)
_MULTI_LINE = re.compile(MULTI_LINE_PATTERN)
_TRIMMED = {
    False: re.compile(TRIMMED_ONE_LINE_PATTERN),
    True: re.compile(TRIMMED_MULTI_LINE_PATTERN),
}

CHARACTER_INVALID = "CHARACTER_INVALID"
RULE_EN = (
    "Control characters, lone surrogates and bidirectional override characters are refused "
    "(CHARACTER_INVALID)"
)


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """CHARACTER_INVALID when `value` holds a refused character, else None."""
    pattern = _MULTI_LINE if multiline else _ONE_LINE
    clean = pattern.fullmatch(value) and not _SURROGATE.search(value)
    return None if clean else CHARACTER_INVALID


def trimmed_text_problem(value: str, *, multiline: bool = False) -> str | None:
    """CHARACTER_INVALID also for white space at either end."""
    clean = _TRIMMED[multiline].fullmatch(value) and not _SURROGATE.search(value)
    return None if clean else CHARACTER_INVALID


def text_is_clean(value: str, *, multiline: bool = False) -> bool:
    return text_problem(value, multiline=multiline) is None
