"""Time is stored in UTC and shown to people in Western Indonesia Time (WIB)."""

from datetime import datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

_MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_wib(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; store and pass aware UTC datetimes")
    return moment.astimezone(WIB)


def format_wib(moment: datetime, *, language: str = "id") -> str:
    """'22 Apr 2020 17.36 WIB' in Indonesian (dot separates hours), '22 Apr 2020 17:36 WIB' in
    English."""
    local = to_wib(moment)
    months = _MONTHS_EN if language.startswith("en") else _MONTHS_ID
    separator = ":" if language.startswith("en") else "."
    return (
        f"{local.day} {months[local.month - 1]} {local.year} "
        f"{local.hour:02d}{separator}{local.minute:02d} WIB"
    )
