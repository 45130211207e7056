"""Pictures people upload (selfies, complaint attachments) are kept only as a fresh JPEG: decoding
and re-encoding drops every piece of metadata (EXIF holds GPS position and device data)."""

import io

from PIL import Image, UnidentifiedImageError


class NotAPicture(Exception):
    """The bytes are not a JPEG or PNG picture that decodes."""


def jpeg_without_metadata(data: bytes) -> bytes:
    """The picture re-encoded as JPEG with no metadata; NotAPicture for anything else."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise NotAPicture
            image.load()
            clean = Image.new("RGB", image.size)
            clean.paste(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise NotAPicture from None
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85)
    return out.getvalue()
