"""Daily facts the dashboards read: integer counts and rupiah per WIB day and a few keys, written
only by facts.py (set-based, day by day) so a page sums a few hundred rows instead of counting
millions. Each table's key is unique: a refresh replaces the rows of the days it recomputes."""

from django.db import models
from django.utils.translation import gettext_lazy


class FunnelDay(models.Model):
    """Registrants who reached a stage (registered, or passed a layer) on a day, per province."""

    day = models.DateField()
    province_code = models.CharField(max_length=2)
    stage = models.CharField(max_length=12)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "province_code", "stage"], name="dash_funnel_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.province_code} {self.stage}: {self.count}"


class WaveDay(models.Model):
    """Participants of a wave who reached a milestone (selected, first purchase, first completion,
    first incentive paid, revoked) on a day, per province."""

    day = models.DateField()
    wave_number = models.PositiveIntegerField()
    province_code = models.CharField(max_length=2)
    measure = models.CharField(max_length=24)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "wave_number", "province_code", "measure"], name="dash_wave_key"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.day} wave {self.wave_number} {self.province_code} {self.measure}: {self.count}"
        )


class MoneyDay(models.Model):
    """Ledger transactions of a kind on a day: how many and the rupiah they moved (the sum of
    their positive legs). Incentive transfers are split by the entitlement's kind."""

    day = models.DateField()
    measure = models.CharField(max_length=48)
    count = models.BigIntegerField()
    amount_idr = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "measure"], name="dash_money_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.measure}: {self.count}, Rp{self.amount_idr}"


class DisbursementDay(models.Model):
    """Transfer instructions of a run date per institution, status and reason code."""

    day = models.DateField()  # the run's date
    institution_id = models.BigIntegerField()
    status = models.CharField(max_length=12)
    reason_code = models.CharField(max_length=24)
    count = models.BigIntegerField()
    amount_idr = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "institution_id", "status", "reason_code"],
                name="dash_disbursement_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.institution_id} {self.status} {self.reason_code}: {self.count}"


class SurveyDay(models.Model):
    """Survey answers submitted on a day: per survey number, question and answer."""

    day = models.DateField()
    sequence = models.PositiveSmallIntegerField()
    question = models.CharField(max_length=40)
    answer = models.CharField(max_length=40)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "sequence", "question", "answer"], name="dash_survey_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} survey {self.sequence} {self.question}={self.answer}: {self.count}"


class RefreshState(models.Model):
    """One row: the watermarks of the last refresh (ids of append-only sources, latest times
    of mutable ones), as JSON."""

    marks = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refreshed at {self.refreshed_at}"


class DashboardsLink(models.Model):
    """No table: carries the admin index's entry that leads to /console/dashboards/."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = gettext_lazy("dashboard")
        verbose_name_plural = gettext_lazy("dashboards")

    def __str__(self) -> str:
        return "dashboards"
