"""A registrant and the layers of verification they pass (program.md §2).

Each layer's current state is kept on the registrant (status, reason code, time) so that status pages,
funnel counts and wave selection read one row; every change is also an append-only VerificationStep
(and an audit event). Layer transitions follow the table in `layers.py`; nothing sets them by hand.
"""

from django.db import models
from django.db.models import Q

from prakerja.common import clock
from prakerja.common.immutable import AppendOnlyModel


class Education(models.TextChoices):
    NONE = "none", "Tidak sekolah / No schooling"
    SD = "sd", "SD / Primary"
    SMP = "smp", "SMP / Junior secondary"
    SMA = "sma", "SMA/SMK / Senior secondary"
    DIPLOMA = "diploma", "D1–D4 / Diploma"
    S1 = "s1", "S1 / Bachelor"
    POSTGRAD = "postgrad", "S2–S3 / Postgraduate"


class Employment(models.TextChoices):
    UNEMPLOYED = "unemployed", "Belum/tidak bekerja / Unemployed"
    LAID_OFF = "laid_off", "Dirumahkan atau PHK / Laid off"
    EMPLOYEE = "employee", "Pekerja/buruh / Employee"
    BUSINESS_OWNER = "business_owner", "Pelaku usaha / Business owner"


class Layer(models.TextChoices):
    EMAIL = "email", "Email"
    NIK = "nik", "NIK"
    PHONE = "phone", "Phone"
    ELIGIBILITY = "eligibility", "Eligibility"
    FACE = "face", "Face check"


LAYER_ORDER = (Layer.EMAIL, Layer.NIK, Layer.PHONE, Layer.ELIGIBILITY, Layer.FACE)


class LayerStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


def _status() -> models.CharField:
    return models.CharField(max_length=8, choices=LayerStatus.choices, default=LayerStatus.PENDING)


def _reason() -> models.CharField:
    return models.CharField(max_length=40, blank=True)


class Registrant(models.Model):
    email = models.CharField(max_length=254, unique=True)  # stored lower-cased
    password = models.CharField(max_length=128)
    full_name = models.CharField(max_length=150)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1)  # from the NIK: "F" when the day carries +40
    nik_encrypted = models.TextField()
    # One NIK, one account, for ever. NULL for an account whose sign-up gave a NIK another account
    # already holds: its NIK layer fails NIK_TAKEN once the email is proved (services.py).
    nik_index = models.CharField(max_length=64, unique=True, null=True, blank=True)
    nik_last4 = models.CharField(max_length=4)
    kk_index = models.CharField(max_length=64, blank=True, db_index=True)  # from the registry
    # E.164 (+62…); NULL, not "", so that the one-phone-per-account constraint skips it
    phone = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    regency_code = models.CharField(max_length=5)  # dotted, "32.01"
    province_code = models.CharField(max_length=2)
    education = models.CharField(max_length=10, choices=Education.choices)
    employment = models.CharField(max_length=16, choices=Employment.choices)
    in_school = models.BooleanField()
    language = models.CharField(max_length=2, default="id")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)
    # Until the email is proved, only the device that signed up can finish: it holds the token
    # whose hash this is, the mailbox holds the code (services.registrant_sign_up).
    signup_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    email_status = _status()
    email_reason = _reason()
    email_at = models.DateTimeField(null=True, blank=True)
    nik_status = _status()
    nik_reason = _reason()
    nik_at = models.DateTimeField(null=True, blank=True)
    phone_status = _status()
    phone_reason = _reason()
    phone_at = models.DateTimeField(null=True, blank=True)
    eligibility_status = _status()
    eligibility_reason = _reason()
    eligibility_at = models.DateTimeField(null=True, blank=True)
    face_status = _status()
    face_reason = _reason()
    face_at = models.DateTimeField(null=True, blank=True)
    # While the registry is down, the layer waiting for it stays pending and is retried from here.
    registry_attempts = models.PositiveIntegerField(default=0)
    registry_retry_at = models.DateTimeField(null=True, blank=True)
    # The stripped selfie waits here, not on a local disk, so a worker on any machine can check it;
    # it is cleared as soon as the registry has answered.
    pending_selfie = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(is_active=True, phone__isnull=False),
                name="registration_one_phone_per_active_account",
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["province_code", "created_at"]),
            models.Index(fields=["email_status", "email_at"]),
            models.Index(fields=["nik_status", "nik_at"]),
            models.Index(fields=["registry_retry_at"]),
            models.Index(fields=["phone_status", "phone_at"]),
            models.Index(fields=["eligibility_status", "eligibility_at"]),
            models.Index(fields=["face_status", "face_at"]),
        ]

    def __str__(self) -> str:
        return f"Registrant #{self.pk} (NIK ****{self.nik_last4})"


class VerificationStep(AppendOnlyModel):
    """One recorded outcome of one layer: the funnel's raw facts. Holds no personal data."""

    registrant = models.ForeignKey(Registrant, on_delete=models.PROTECT, related_name="steps")
    layer = models.CharField(max_length=12, choices=Layer.choices)
    outcome = models.CharField(max_length=8, choices=LayerStatus.choices)
    reason = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField(default=clock.now)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["registrant", "layer", "at"])]

    def __str__(self) -> str:
        return f"{self.layer}:{self.outcome}:{self.reason}"


class CodePurpose(models.TextChoices):
    EMAIL = "email", "Email verification"
    PHONE = "phone", "Phone verification"
    RESET = "reset", "Password reset"


class OneTimeCode(models.Model):
    """A 6-digit code sent by email or SMS. Only its keyed hash is kept."""

    registrant = models.ForeignKey(Registrant, on_delete=models.CASCADE, related_name="codes")
    purpose = models.CharField(max_length=8, choices=CodePurpose.choices)
    target = models.CharField(max_length=254)  # the email address or phone number it went to
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["registrant", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code for #{self.registrant_id}"


class ApiToken(models.Model):
    """Bearer token of the participant API (mobile app). Only its hash is kept."""

    registrant = models.ForeignKey(Registrant, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=clock.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token of #{self.registrant_id}"


class ExclusionImport(models.Model):
    """One imported exclusion list file (e.g. recipients of other social assistance)."""

    category = models.CharField(max_length=40)
    source = models.CharField(max_length=120, blank=True)
    file_name = models.CharField(max_length=200)
    rows_read = models.PositiveIntegerField(default=0)
    rows_added = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    actor = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.category} ({self.file_name})"


class ExclusionEntry(models.Model):
    """A NIK on an exclusion list, kept only as its blind index."""

    nik_index = models.CharField(max_length=64)
    category = models.CharField(max_length=40)
    source = models.CharField(max_length=120, blank=True)
    listed_on = models.DateField(null=True, blank=True)
    list_import = models.ForeignKey(
        ExclusionImport, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["nik_index", "category"], name="exclusion_once_per_category"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.nik_index[:8]}…"
