import datetime

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


def _positive(**kwargs: object) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(validators=[MinValueValidator(1)], **kwargs)  # type: ignore[arg-type]


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
