"""The partner API's field types refuse exactly what their JSON schema patterns refuse (partners/
fields.py): checked character by character, so the document's `pattern` and
the server never disagree; and every web address the pattern admits is one Django's URLValidator
(the services' own check) accepts."""

import re

import pytest
from django.core.validators import URLValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from prakerja.partners.fields import (
    WEB_ADDRESS_PATTERN,
    Line,
    PathSegment,
    Text,
    WebAddress,
    filled_pattern,
)

# Every character of the Basic Multilingual Plane (all the policy and the white space name are in
# it), and beyond it every 257th one and each plane's first and last: the patterns treat the
# supplementary planes as one range.
EVERY_CHARACTER = [
    chr(c)
    for c in [
        *range(0x10000),
        *range(0x10000, 0x110000, 257),
        *(plane * 0x10000 + end for plane in range(1, 17) for end in (0, 0xFFFF)),
    ]
    if not 0xD800 <= c <= 0xDFFF
]


def accepted(adapter: TypeAdapter, value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("field", "pattern"),
    [
        (Line, filled_pattern(multiline=False)),
        (Text, filled_pattern(multiline=True)),
        (PathSegment, filled_pattern(multiline=False, also_refused="/")),
    ],
    ids=["line", "text", "path-segment"],
)
def test_each_character_is_refused_by_the_pattern_exactly_when_the_server_refuses_it(
    field: object, pattern: str
):
    """Alone (blank or not), after a word, and before one."""
    adapter = TypeAdapter(field)
    published = re.compile(pattern)
    disagree = [
        repr(text)
        for character in EVERY_CHARACTER
        for text in (character, f"a{character}", f"{character}a b")
        if bool(published.fullmatch(text)) != accepted(adapter, text)
    ]
    assert disagree == []


def test_blank_text_is_required_and_a_refused_character_is_named():
    adapter = TypeAdapter(Line)
    codes = {}
    for text in (" \u3000\u00a0", "", "a\tb", "a\u202eb"):
        try:
            adapter.validate_python(text)
        except ValidationError as error:
            codes[text] = error.errors()[0]["type"]
    assert codes == {
        " \u3000\u00a0": "blank",
        "": "blank",  # where a field has minLength 1, that comes first: string_too_short
        "a\tb": "character_invalid",
        "a\u202eb": "character_invalid",
    }


def test_a_lone_surrogate_is_refused_though_no_published_pattern_can_name_it():
    assert [accepted(TypeAdapter(t), "a\ud800b") for t in (Line, Text, PathSegment)] == [
        False,
        False,
        False,
    ]


@settings(max_examples=300, deadline=None)
@given(st.from_regex(WEB_ADDRESS_PATTERN, fullmatch=True).filter(lambda u: len(u) <= 500))
def test_every_web_address_the_pattern_admits_passes_the_services_url_check(address: str):
    URLValidator(schemes=["http", "https"])(address)
    assert accepted(TypeAdapter(WebAddress), address)
