"""The rules of a review's content, as pure functions: what stars and text a review may have and
how its text is compared with others'. The one statement of them for review_submit (a chunk of
one) and reviews_submit_bulk (orders/review_bulk.py), and the bounds the portal's forms and the
participant API's schema state (orders/reviews.py re-exports them)."""

import hashlib
from typing import Any

from prakerja.catalog.flags import words
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.text import CHARACTER_INVALID, text_problem
from prakerja.orders.review_errors import review_invalid

STARS_MIN = 1
STARS_MAX = 5
TEXT_MAX_CHARS = 2000


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the text's words: lower case, without accents or punctuation, one space
    between words, so "Sangat  bagus!" and "sangat bagus" are the same text."""
    return hashlib.sha256(" ".join(words(text)).encode()).hexdigest()


def review_refusal(stars: Any, text: str, min_chars: int) -> ApplicationError | None:
    """Why these stars and this (trimmed) text cannot be a review, or None. Text under the one
    policy of common/text.py first."""
    if text_problem(text, multiline=True):
        return ValidationFailed(details={"text": CHARACTER_INVALID})
    stars_invalid = isinstance(stars, bool) or not isinstance(stars, int)
    stars_invalid = stars_invalid or not STARS_MIN <= stars <= STARS_MAX
    text_bad = not min_chars <= len(text) <= TEXT_MAX_CHARS
    if not stars_invalid and not text_bad:
        return None
    return review_invalid(
        stars_invalid=stars_invalid,
        text_length=len(text) if text_bad else None,
        min_chars=min_chars,
        max_chars=TEXT_MAX_CHARS,
    )
