"""What a platform submits for a training (`PUT /trainings/{external_id}`): the limits the partner
API's schema states, and the check that turns a body into TrainingData or refuses it with a field
code per field (VALIDATION_FAILED), before anything is read or written."""

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from prakerja.catalog.models import Delivery
from prakerja.common.errors import ValidationFailed
from prakerja.registration.regions import region

# --- limits (the partner API's schema documents the same numbers) -------------------------------

EXTERNAL_ID_MAX = 64
TITLE_MAX = 200
CATEGORY_MAX = 60
DESCRIPTION_MAX = 20_000
URL_MAX = 500
ADDRESS_MAX = 300
INSTITUTION_NAME_MAX = 200
REASON_MAX = 300
PRICE_MIN_IDR = 1
PRICE_MAX_IDR = 10_000_000
OUTSIDE_PRICE_MAX_IDR = 1_000_000_000
DURATION_HOURS_MAX = 10_000
SESSIONS_MAX = 10_000


# --- what a platform submits ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingData:
    """A validated `PUT /trainings/{external_id}` body."""

    title: str
    category: str
    description: str
    price_idr: int
    price_outside_program_idr: int
    duration_hours: int
    sessions: int
    delivery: str
    url: str
    address: str
    regency_code: str
    lat: float | None
    lon: float | None
    institution_external_id: str
    institution_name: str
    owned_by_platform: bool

    # The fields a PMO reviews, stored on the training: a change of any sends it back to review.
    REVIEWED = (
        "title",
        "category",
        "description",
        "price_idr",
        "price_outside_program_idr",
        "duration_hours",
        "sessions",
        "delivery",
        "url",
        "address",
        "regency_code",
        "lat",
        "lon",
    )

    def reviewed(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, on the hot path of the partner API.
        return {name: getattr(self, name) for name in self.REVIEWED}

    def content_hash(self) -> str:
        """SHA-256 of the reviewed fields and which institution gives the training."""
        content = {**self.reviewed(), "institution": self.institution_external_id}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class _Checker:
    """Collects every failing field of a body (so a partner fixes them all at once)."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def fail(self, path: str, code: str) -> None:
        self.problems.setdefault(path, code)

    def text(self, data: Mapping[str, Any], key: str, limit: int, path: str = "") -> str:
        path = path or key
        value = data.get(key)
        if value is None:
            self.fail(path, "REQUIRED")
            return ""
        if not isinstance(value, str):
            self.fail(path, "STRING_REQUIRED")
            return ""
        value = value.strip()
        if not value:
            self.fail(path, "REQUIRED")
        elif len(value) > limit:
            self.fail(path, "TOO_LONG")
        return value

    def integer(self, data: Mapping[str, Any], key: str, low: int, high: int) -> int:
        value = data.get(key)
        if value is None:
            self.fail(key, "REQUIRED")
            return 0
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, "INTEGER_REQUIRED")
            return 0
        if not low <= value <= high:
            self.fail(key, "OUT_OF_RANGE")
        return value

    def number(self, data: Mapping[str, Any], key: str, bound: float, path: str) -> float | None:
        value = data.get(key)
        if value is None:
            self.fail(path, "REQUIRED")
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(path, "NUMBER_REQUIRED")
            return None
        if not math.isfinite(value) or not -bound <= value <= bound:
            self.fail(path, "OUT_OF_RANGE")
            return None
        return float(value)

    def mapping(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            self.fail(key, "REQUIRED")
            return None
        if not isinstance(value, Mapping):
            self.fail(key, "OBJECT_REQUIRED")
            return None
        return value


_URL = URLValidator(schemes=["http", "https"])


def regency_normalise(code: str) -> str | None:
    """A regency code as the region tables write it ("32.01"; "3201" is accepted), or None when it
    is not a regency."""
    code = code.strip()
    if len(code) == 4 and code.isdigit():
        code = f"{code[:2]}.{code[2:]}"
    found = region(code)
    return found.code if found is not None and found.level == "regency" else None


def training_data_validate(data: Mapping[str, Any]) -> TrainingData:
    """Check every field of a training body; ValidationFailed names each failing one with a code:
    REQUIRED, STRING_REQUIRED, TOO_LONG, INTEGER_REQUIRED, NUMBER_REQUIRED, BOOLEAN_REQUIRED,
    OUT_OF_RANGE, CHOICE_INVALID, URL_INVALID, OBJECT_REQUIRED, REGENCY_UNKNOWN, OFFLINE_ONLY."""
    check = _Checker()
    title = check.text(data, "title", TITLE_MAX)
    category = check.text(data, "category", CATEGORY_MAX)
    description = check.text(data, "description", DESCRIPTION_MAX)
    price = check.integer(data, "price_idr", PRICE_MIN_IDR, PRICE_MAX_IDR)
    outside = check.integer(data, "price_outside_program_idr", 1, OUTSIDE_PRICE_MAX_IDR)
    duration = check.integer(data, "duration_hours", 1, DURATION_HOURS_MAX)
    sessions = check.integer(data, "sessions", 1, SESSIONS_MAX)

    delivery = data.get("delivery")
    if delivery is None:
        check.fail("delivery", "REQUIRED")
    elif delivery not in Delivery.values:
        check.fail("delivery", "CHOICE_INVALID")

    url = check.text(data, "url", URL_MAX)
    if url and "url" not in check.problems:
        try:
            _URL(url)
        except DjangoValidationError:
            check.fail("url", "URL_INVALID")

    address, regency_code, lat, lon = "", "", None, None
    if delivery == Delivery.OFFLINE:
        location = check.mapping(data, "location")
        if location is not None:
            address = check.text(location, "address", ADDRESS_MAX, "location.address")
            raw_code = check.text(location, "regency_code", 20, "location.regency_code")
            if raw_code and "location.regency_code" not in check.problems:
                regency_code = regency_normalise(raw_code) or ""
                if not regency_code:
                    check.fail("location.regency_code", "REGENCY_UNKNOWN")
            lat = check.number(location, "lat", 90, "location.lat")
            lon = check.number(location, "lon", 180, "location.lon")
    elif delivery in Delivery.values and data.get("location") is not None:
        check.fail("location", "OFFLINE_ONLY")

    institution = check.mapping(data, "institution")
    institution_id = institution_name = ""
    owned = False
    if institution is not None:
        institution_id = check.text(
            institution, "external_id", EXTERNAL_ID_MAX, "institution.external_id"
        )
        institution_name = check.text(institution, "name", INSTITUTION_NAME_MAX, "institution.name")
        value = institution.get("owned_by_platform")
        if value is None:
            check.fail("institution.owned_by_platform", "REQUIRED")
        elif not isinstance(value, bool):
            check.fail("institution.owned_by_platform", "BOOLEAN_REQUIRED")
        else:
            owned = value

    if check.problems:
        raise ValidationFailed(details=check.problems)
    return TrainingData(
        title=title,
        category=category,
        description=description,
        price_idr=price,
        price_outside_program_idr=outside,
        duration_hours=duration,
        sessions=sessions,
        delivery=str(delivery),
        url=url,
        address=address,
        regency_code=regency_code,
        lat=lat,
        lon=lon,
        institution_external_id=institution_id,
        institution_name=institution_name,
        owned_by_platform=owned,
    )
