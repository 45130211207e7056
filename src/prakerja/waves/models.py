import datetime

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from prakerja.common import clock


def _positive(**kwargs: object) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(validators=[MinValueValidator(1)], **kwargs)  # type: ignore[arg-type]


def default_survey_questions() -> list[dict[str, object]]:
    """The June 2020 survey's questions (program.md §5): employment status, whether the training
    helped, whether it was effective."""

    def choice(code: str, text_id: str, text_en: str) -> dict[str, str]:
        return {"code": code, "text_id": text_id, "text_en": text_en}

    yes_no = [choice("yes", "Ya", "Yes"), choice("no", "Tidak", "No")]
    return [
        {
            "code": "employment_status",
            "text_id": "Apa status pekerjaan Anda saat ini?",
            "text_en": "What is your employment status now?",
            "choices": [
                choice("unemployed", "Belum bekerja / tidak bekerja", "Not working"),
                choice("employee", "Karyawan / pekerja", "Employee"),
                choice("business_owner", "Wirausaha", "Running a business"),
            ],
        },
        {
            "code": "training_helped",
            "text_id": "Apakah pelatihan dan insentif membantu Anda?",
            "text_en": "Did the training and the incentive help you?",
            "choices": yes_no,
        },
        {
            "code": "training_effective",
            "text_id": "Apakah pelatihan efektif meningkatkan keterampilan Anda?",
            "text_en": "Was the training effective in improving your skills?",
            "choices": yes_no,
        },
    ]


class ProgramScheme(models.Model):
    """Every amount, count and window of a program year, as data (program.md §1 and §7).

    The defaults are the 2020 scheme. Code reads these fields; no other place states the numbers, so
    a later scheme (2023: one incentive, two surveys, a 15-day window) is a new row, not new code.
    """

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(
        default=False, help_text="The scheme new waves use. At most one is active."
    )
    training_balance_idr = models.BigIntegerField(
        default=1_000_000,
        validators=[MinValueValidator(1)],
        help_text="Training balance credited per participant.",
    )
    first_purchase_window_days = _positive(
        default=30,
        help_text="Days after selection to buy a first training before membership is revoked.",
    )
    balance_expiry_date = models.DateField(
        default=datetime.date(2020, 12, 15),
        help_text="Date the unspent training balance lapses back to the treasury.",
    )
    incentive_monthly_idr = models.BigIntegerField(
        default=600_000,
        validators=[MinValueValidator(1)],
        help_text="Post-training incentive per payment.",
    )
    incentive_months = _positive(default=4, help_text="Number of monthly incentive payments.")
    survey_incentive_idr = models.BigIntegerField(
        default=50_000,
        validators=[MinValueValidator(0)],
        help_text="Incentive per post-training survey.",
    )
    survey_count = models.PositiveIntegerField(
        default=3, help_text="Number of paid post-training surveys."
    )
    wave_quota = _positive(default=200_000, help_text="Target participants per weekly wave.")
    daily_disbursement_capacity = _positive(
        default=80_000, help_text="Transfers the office can send per day."
    )
    max_participants_per_family = _positive(
        default=2, help_text="Participants allowed per family card (KK) number."
    )
    min_age_years = _positive(default=18, help_text="Minimum age of a participant.")
    carry_over_unselected = models.BooleanField(
        default=True,
        help_text="Applicants not selected in a wave join the next wave automatically.",
    )
    rating_min_reviews = _positive(
        default=10,
        help_text="Reviews a training needs before its rating is shown to participants; also the "
        "weight of the catalog-wide mean in the Bayesian average that is shown.",
    )
    voucher_valid_days = _positive(
        default=30,
        help_text="Days a voucher can be redeemed on its platform; unredeemed, it expires and its "
        "price returns to the training balance.",
    )
    review_edit_days = models.PositiveIntegerField(
        default=7, help_text="Days after writing it that a participant may still edit a review."
    )
    review_min_chars = _positive(default=20, help_text="Shortest review text accepted.")
    transfer_max_attempts = _positive(
        default=3,
        help_text="Transfers of one payment that may fail for a passing reason (temporary failure, "
        "limit reached) before it is held until the participant's account is fixed.",
    )
    survey_questions = models.JSONField(
        default=default_survey_questions,
        help_text="The post-training survey's questions: a list of {code, text_id, text_en, "
        "choices: [{code, text_id, text_en}]}.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="waves_one_active_scheme"
            ),
            models.CheckConstraint(
                condition=Q(training_balance_idr__gt=0)
                & Q(incentive_monthly_idr__gt=0)
                & Q(survey_incentive_idr__gte=0),
                name="waves_scheme_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def incentive_total_idr(self) -> int:
        return self.incentive_monthly_idr * self.incentive_months

    @property
    def survey_total_idr(self) -> int:
        return self.survey_incentive_idr * self.survey_count

    @property
    def max_per_participant_idr(self) -> int:
        """Most one participant can receive from this scheme (Rp3.550.000 in 2020)."""
        return self.training_balance_idr + self.incentive_total_idr + self.survey_total_idr


class WaveStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    SELECTED = "selected", "Selected"
    ANNOUNCED = "announced", "Announced"
    POSTPONED = "postponed", "Postponed"
    CANCELLED = "cancelled", "Cancelled"


class Verification(models.TextChoices):
    FACE = "face", "Face check against the registry photo"
    FI_KYC = "fi_kyc", "Financial institution's KYC"


class Wave(models.Model):
    """A weekly intake (gelombang): a quota, dates, priorities and the lottery's commitment.

    Its status changes only through `waves.services`, by the transition table there.
    """

    number = models.PositiveIntegerField(unique=True)
    scheme = models.ForeignKey(ProgramScheme, on_delete=models.PROTECT, related_name="waves")
    status = models.CharField(max_length=10, choices=WaveStatus.choices, default=WaveStatus.DRAFT)
    quota = _positive()
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    # {"94": 1200}: provinces guaranteed at least that many participants
    province_quotas = models.JSONField(default=dict, blank=True)
    # ["laid_off"]: groups filled first, in this order (see docs/selection.md)
    priority_order = models.JSONField(default=list, blank=True)
    verification = models.CharField(
        max_length=8, choices=Verification.choices, default=Verification.FACE
    )
    seed_commitment = models.CharField(max_length=64, blank=True)  # SHA-256 hex, published at open
    seed = models.CharField(max_length=128, blank=True)  # revealed only after closing
    created_at = models.DateTimeField(default=clock.now, editable=False)
    # Set by `wave_select`: the quota freed by revoked participants of earlier waves that this wave
    # took over, when the draw was made, and when the last participant's balance was credited.
    quota_freed = models.PositiveIntegerField(default=0)
    selected_at = models.DateTimeField(null=True, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    # The later wave that took over this wave's unselected applicants (carry-over happens once).
    carried_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="carried_from_waves"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="wave_closes_after_it_opens"
            ),
            # Registrants join "the open wave": there is never more than one.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="open"), name="waves_one_open_wave"
            ),
        ]

    def __str__(self) -> str:
        return f"Gelombang {self.number}"


class ApplicationOutcome(models.TextChoices):
    # After the draw, "pending" means not selected: the draw writes only the selected and the
    # ineligible it met, never the millions it did not pick (see `application_result`).
    PENDING = "pending", "Waiting for selection, or not selected once the wave is drawn"
    SELECTED = "selected", "Selected"
    INELIGIBLE = "ineligible", "No longer eligible at selection"


class WaveApplication(models.Model):
    """A verified, eligible registrant's application to one wave; at most one per wave."""

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="applications")
    registrant = models.ForeignKey(
        "registration.Registrant", on_delete=models.PROTECT, related_name="applications"
    )
    applied_at = models.DateTimeField(auto_now_add=True)
    carried_from = models.ForeignKey(
        Wave, on_delete=models.PROTECT, null=True, blank=True, related_name="carried_out"
    )
    outcome = models.CharField(
        max_length=12, choices=ApplicationOutcome.choices, default=ApplicationOutcome.PENDING
    )
    outcome_reason = models.CharField(max_length=40, blank=True)
    # The application as submitted: the draw reads these without touching the registrant table,
    # which keeps a national draw one scan of one table.
    province_code = models.CharField(max_length=2)
    priority = models.CharField(max_length=40, blank=True)  # first of the wave's groups it is in

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "registrant"], name="wave_one_application_each"
            ),
        ]
        indexes = [models.Index(fields=["wave", "outcome"])]

    def __str__(self) -> str:
        return f"application #{self.pk} to wave {self.wave_id}"


class PriorityEntry(models.Model):
    """A person on an imported priority list (for example workers laid off by one industry), by the
    NIK's blind index. A wave names the list in its `priority_order` to fill it first."""

    group = models.SlugField(max_length=40)
    nik_index = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "nik_index"], name="priority_entry_once")
        ]
        verbose_name_plural = "priority entries"

    def __str__(self) -> str:
        return f"{self.group}: …{self.nik_index[:8]}"


class ParticipantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked: no purchase within the window"


class Participant(models.Model):
    """A selected registrant: the card, the first-purchase deadline, and whether membership stands.

    One per registrant for life. The training balance itself lives in the ledger (an account of kind
    training_balance owned by this participant's id)."""

    registrant = models.OneToOneField(
        "registration.Registrant", on_delete=models.PROTECT, related_name="participant"
    )
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="participants")
    application = models.OneToOneField(
        WaveApplication, on_delete=models.PROTECT, related_name="participant"
    )
    scheme = models.ForeignKey(ProgramScheme, on_delete=models.PROTECT, related_name="+")
    card_number = models.CharField(max_length=16, unique=True)  # 15 random digits + Luhn digit
    selected_at = models.DateTimeField()
    purchase_deadline = models.DateTimeField()  # end of the window's last day, WIB
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=8, choices=ParticipantStatus.choices, default=ParticipantStatus.ACTIVE
    )
    credited_at = models.DateTimeField(null=True, blank=True)  # training balance credited
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The later wave whose quota grew by this revoked participant's place (each place is given once).
    quota_returned_to = models.ForeignKey(
        Wave, on_delete=models.PROTECT, null=True, blank=True, related_name="quota_returned"
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "purchase_deadline"]),
            models.Index(fields=["wave", "id"]),
        ]

    def __str__(self) -> str:
        return f"participant {self.card_number}"


class LifetimeBlock(models.Model):
    """A NIK that can never be selected again: it was a participant, revoked for not buying."""

    nik_index = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=40)
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"blocked: {self.reason}"
