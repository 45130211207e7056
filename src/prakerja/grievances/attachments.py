"""A complaint's attachment: a photo (JPEG/PNG) or a PDF, checked by its content, not its name.

Photos are decoded and re-encoded as JPEG without metadata, as selfies are (EXIF holds GPS and
device data); a PDF is kept as sent, and served only as a download. The bytes are kept in the
database, like the pending selfie, so any web machine can serve them.
"""

import os
from dataclasses import dataclass

from prakerja.common.images import NotAPicture, jpeg_without_metadata
from prakerja.grievances.errors import ComplaintAttachmentInvalid

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")
NAME_MAX = 120


@dataclass(frozen=True)
class Attachment:
    data: bytes
    name: str
    content_type: str  # image/jpeg or application/pdf (photos are stored as JPEG)


def _refuse(reason: str) -> ComplaintAttachmentInvalid:
    return ComplaintAttachmentInvalid(
        details={"attachment": reason}, megabytes=ATTACHMENT_MAX_BYTES // (1024 * 1024)
    )


def _safe_name(name: str, extension: str) -> str:
    """The base name without path or control characters, with the extension of what is kept."""
    base = os.path.basename(name.replace("\\", "/"))
    stem = "".join(c for c in os.path.splitext(base)[0] if c.isprintable() and c not in '"<>')
    stem = stem.strip()[: NAME_MAX - len(extension)] or "lampiran"
    return stem + extension


def attachment_checked(data: bytes, name: str) -> Attachment:
    """The attachment as it will be kept, or ComplaintAttachmentInvalid (details.attachment:
    ATTACHMENT_EMPTY, ATTACHMENT_TOO_LARGE, ATTACHMENT_FORMAT)."""
    if not data:
        raise _refuse("ATTACHMENT_EMPTY")
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise _refuse("ATTACHMENT_TOO_LARGE")
    if data.startswith(b"%PDF-"):
        return Attachment(data=data, name=_safe_name(name, ".pdf"), content_type="application/pdf")
    try:
        jpeg = jpeg_without_metadata(data)
    except NotAPicture:
        raise _refuse("ATTACHMENT_FORMAT") from None
    return Attachment(data=jpeg, name=_safe_name(name, ".jpg"), content_type="image/jpeg")
