"""The refusals of orders/reviews.py, each with a stable code and its Indonesian and English
message. A refused review of an order that is not the caller's answers ORDER_NOT_FOUND
(orders/errors.py): a participant never learns that someone else's order exists."""

from prakerja.common.errors import ApplicationError, Conflict, ValidationFailed


class ReviewNotAllowedYet(Conflict):
    code = "REVIEW_NOT_ALLOWED_YET"
    message_id = "Ulasan baru dapat ditulis setelah platform melaporkan pelatihan ini selesai."
    message_en = "A review can be written once the platform has reported the training completed."


class ReviewLocked(Conflict):
    code = "REVIEW_LOCKED"
    message_id = (
        "Ulasan ini tidak dapat diubah lagi: ulasan hanya dapat diubah dalam {days} hari "
        "setelah ditulis."
    )
    message_en = (
        "This review can no longer be changed: a review can be changed only within {days} days "
        "of writing it."
    )


class ReviewTooShort(Conflict):
    """Shorter than the participant's scheme asks: a rule of the scheme on record, not of the
    field, so a 409 (the API's schema states every 422)."""

    code = "REVIEW_TOO_SHORT"
    message_id = (
        "Ulasan belum dapat disimpan: tulis ulasan paling sedikit {min_chars} karakter "
        "(sekarang {length})."
    )
    message_en = (
        "The review cannot be saved yet: write at least {min_chars} characters (now {length})."
    )


def review_invalid(
    *, stars_invalid: bool, text_length: int | None, min_chars: int, max_chars: int
) -> ApplicationError:
    """VALIDATION_FAILED naming each field refused (`details`), with a message that says the rule:
    the stars from 1 to 5, the text's minimum (the scheme's) or maximum length. `text_length` is
    the trimmed text's length when the text is refused, else None.

    The code stays the family's VALIDATION_FAILED (codes are unique per class, so this is an
    instance of ValidationFailed whose message states the numbers, not a subclass). A text too
    short with the stars right is REVIEW_TOO_SHORT instead, with the same details."""
    if not stars_invalid and text_length is not None and text_length < min_chars:
        return ReviewTooShort(
            details={"text": {"code": "TOO_SHORT", "min_chars": min_chars, "length": text_length}},
            min_chars=min_chars,
            length=text_length,
        )
    details: dict[str, object] = {}
    parts_id: list[str] = []
    parts_en: list[str] = []
    if stars_invalid:
        details["stars"] = "OUT_OF_RANGE"
        parts_id.append("pilih 1 sampai 5 bintang")
        parts_en.append("choose from 1 to 5 stars")
    if text_length is not None and text_length < min_chars:
        details["text"] = {"code": "TOO_SHORT", "min_chars": min_chars, "length": text_length}
        parts_id.append(
            f"tulis ulasan paling sedikit {min_chars} karakter (sekarang {text_length})"
        )
        parts_en.append(f"write at least {min_chars} characters (now {text_length})")
    elif text_length is not None:
        details["text"] = {"code": "TOO_LONG", "max_chars": max_chars, "length": text_length}
        parts_id.append(f"tulis ulasan paling banyak {max_chars} karakter (sekarang {text_length})")
        parts_en.append(f"write at most {max_chars} characters (now {text_length})")
    error = ValidationFailed(details=details)
    # Instance attributes in place of the class's generic templates (ApplicationError.message
    # reads them from the instance; without params it does not format them).
    vars(error).update(
        message_id="Ulasan belum dapat disimpan: " + "; ".join(parts_id) + ".",
        message_en="The review cannot be saved yet: " + "; ".join(parts_en) + ".",
    )
    error.args = (error.message("en"),)
    return error
