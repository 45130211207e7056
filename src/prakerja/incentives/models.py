"""Payment accounts, entitlements, surveys and the daily disbursement (program.md §5 and §7;
partner-api.md, financial institutions).

Money moves in the ledger, never here: an entitlement, once granted, moves its amount from the
program budget to the participant's incentive payable; a transfer the institution reports paid moves
it on to the institution's clearing account; the institution's statement, matched, moves it out of
the program (paid out). The rows below record why and when, and what the participant is told.
"""

from django.db import models
from django.db.models import Q

from prakerja.common import clock


class AccountType(models.TextChoices):
    VIRTUAL_ACCOUNT = "virtual_account", "Bank virtual account"
    E_WALLET = "e_wallet", "E-wallet (keyed by phone number)"


class PaymentAccountStatus(models.TextChoices):
    CHECKING = "checking", "Being checked with the institution"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected by the institution"
    UNLINKED = "unlinked", "Unlinked"


# A participant has one current account: being checked or verified.
CURRENT_ACCOUNT = (PaymentAccountStatus.CHECKING, PaymentAccountStatus.VERIFIED)


class PaymentAccount(models.Model):
    participant = models.ForeignKey(
        "waves.Participant", on_delete=models.PROTECT, related_name="payment_accounts"
    )
    institution = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    account_type = models.CharField(max_length=16, choices=AccountType.choices)
    # A virtual account number, or for an e-wallet the phone number it is keyed by (62…).
    account_number = models.CharField(max_length=32)
    status = models.CharField(
        max_length=10, choices=PaymentAccountStatus.choices, default=PaymentAccountStatus.CHECKING
    )
    # Why the institution refused it, or why it was unlinked (PHONE_CHANGED): reason codes of
    # partner-api.md, which the portal explains with what to do.
    reason_code = models.CharField(max_length=24, blank=True)
    holder_name = models.CharField(max_length=200, blank=True)
    kyc_level = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)  # rejected or unlinked

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant"],
                condition=Q(status__in=["checking", "verified"]),
                name="incentives_one_current_account",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="incentives_account_due")]

    def __str__(self) -> str:
        return f"{self.account_type} {self.account_number} ({self.status})"


class EntitlementKind(models.TextChoices):
    INCENTIVE = "incentive", "Monthly incentive"
    SURVEY = "survey", "Survey incentive"


class EntitlementStatus(models.TextChoices):
    DUE = "due", "Due (paid from its due date)"
    HELD = "held", "Held"
    PAID = "paid", "Paid"


class HoldReason(models.TextChoices):
    """Why an entitlement is not paid; the portal tells the participant what to do about each."""

    NO_ACCOUNT = "NO_ACCOUNT", "No verified payment account"
    NIK_MISMATCH = "NIK_MISMATCH", "The account holder's NIK differs"
    NOT_UPGRADED = "NOT_UPGRADED", "E-wallet not upgraded (KYC)"
    ACCOUNT_INACTIVE = "ACCOUNT_INACTIVE", "Account inactive"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND", "Account not found"
    PHONE_CHANGED = "PHONE_CHANGED", "Phone number changed"
    LIMIT_REACHED = "LIMIT_REACHED", "Wallet balance or monthly limit reached"
    ATTEMPTS_EXHAUSTED = "ATTEMPTS_EXHAUSTED", "Transfer failed too many times"
    EXCLUDED = "EXCLUDED", "On an exclusion list"
    # A completion in doubt (orders: flag_fast_completion, Review.flag_identical_text): the program
    # pays nothing on it until the PMO has looked. Not account reasons: a new account fixes neither.
    FAST_COMPLETION = "FAST_COMPLETION", "Completion faster than the training: being checked"
    REVIEW_FLAGGED = "REVIEW_FLAGGED", "Review identical to another account's: being checked"


# Held for a reason the participant fixes by linking a (new) account: released when one is verified.
ACCOUNT_REASONS = frozenset(
    {
        HoldReason.NO_ACCOUNT,
        HoldReason.NIK_MISMATCH,
        HoldReason.NOT_UPGRADED,
        HoldReason.ACCOUNT_INACTIVE,
        HoldReason.ACCOUNT_NOT_FOUND,
        HoldReason.PHONE_CHANGED,
        HoldReason.LIMIT_REACHED,
        HoldReason.ATTEMPTS_EXHAUSTED,
    }
)


class Entitlement(models.Model):
    """One payment a participant has earned: a monthly incentive (sequence 1…incentive_months) or
    a survey's incentive (sequence = the survey's number)."""

    participant = models.ForeignKey(
        "waves.Participant", on_delete=models.PROTECT, related_name="entitlements"
    )
    kind = models.CharField(max_length=10, choices=EntitlementKind.choices)
    sequence = models.PositiveSmallIntegerField()
    amount_idr = models.BigIntegerField()
    due_on = models.DateField()  # WIB date from which it may be paid
    status = models.CharField(
        max_length=4, choices=EntitlementStatus.choices, default=EntitlementStatus.DUE
    )
    hold_reason = models.CharField(max_length=20, choices=HoldReason.choices, blank=True)
    # Transfers that failed for a reason that may pass (TEMPORARY_FAILURE, an unknown outcome
    # found never received): retried in later runs up to the scheme's limit.
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "kind", "sequence"], name="incentives_entitlement_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_idr__gt=0), name="incentives_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="held", hold_reason__gt="") | ~Q(status="held"),
                name="incentives_held_has_reason",
            ),
        ]
        indexes = [
            # The run's selection: due entitlements, oldest first.
            models.Index(
                fields=["due_on", "id"], condition=Q(status="due"), name="incentives_due_oldest"
            ),
            models.Index(fields=["participant", "status"], name="incentives_by_participant"),
            # The held ones by reason (live_state.py, scraped by /metrics every few seconds):
            # read from this small index, not by scanning every entitlement of the program.
            models.Index(
                fields=["hold_reason", "amount_idr"],
                condition=Q(status="held"),
                name="incentives_held_by_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sequence} of participant {self.participant_id}"


class SurveyResponse(models.Model):
    participant = models.ForeignKey(
        "waves.Participant", on_delete=models.PROTECT, related_name="survey_responses"
    )
    sequence = models.PositiveSmallIntegerField()
    answers = models.JSONField()  # question code -> answer code (incentives/surveys.py)
    submitted_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "sequence"], name="incentives_survey_once"
            )
        ]

    def __str__(self) -> str:
        return f"survey {self.sequence} of participant {self.participant_id}"


class RunStatus(models.TextChoices):
    PREPARED = "prepared", "Prepared, awaiting approval"
    APPROVED = "approved", "Approved, sending"
    DONE = "done", "Sent; results recorded"
    CANCELLED = "cancelled", "Cancelled"


class DisbursementRun(models.Model):
    """One day's payments, prepared by a finance maker and approved by a different finance
    checker. At most one run per date that is not cancelled."""

    run_date = models.DateField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PREPARED)
    instructions_count = models.PositiveIntegerField(default=0)
    amount_idr = models.BigIntegerField(default=0)
    prepared_by = models.CharField(max_length=150)  # the maker's actor label
    prepared_by_user_id = models.BigIntegerField(null=True, blank=True)
    prepared_at = models.DateTimeField(default=clock.now)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_by_user_id = models.BigIntegerField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run_date"],
                condition=~Q(status="cancelled"),
                name="incentives_one_run_per_date",
            )
        ]
        permissions = [
            ("prepare_run", "Can prepare a disbursement run (finance maker)"),
            ("approve_run", "Can approve a disbursement run (finance checker)"),
            ("reconcile_statement", "Can upload and reconcile an institution's statement"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_date} ({self.status})"


class BatchStatus(models.TextChoices):
    READY = "ready", "Ready to send"
    SENDING = "sending", "Being sent (outcome to be confirmed)"
    SENT = "sent", "Accepted by the institution"
    REFUSED = "refused", "Refused whole by the institution"


class TransferBatch(models.Model):
    run = models.ForeignKey(DisbursementRun, on_delete=models.PROTECT, related_name="batches")
    institution = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    batch_id = models.CharField(max_length=64, unique=True)
    control_count = models.PositiveIntegerField()
    control_sum_idr = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=BatchStatus.choices, default=BatchStatus.READY)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    refusal = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "id"], name="incentives_batch_status")]

    def __str__(self) -> str:
        return self.batch_id


class InstructionStatus(models.TextChoices):
    READY = "ready", "Ready to send"
    SENT = "sent", "Sent, awaiting the institution's answer"
    ACCEPTED = "accepted", "Accepted, awaiting the result"
    SUCCESS = "success", "Paid"
    FAILED = "failed", "Failed"


# Still in flight: an entitlement has at most one such instruction.
IN_FLIGHT = ("ready", "sent", "accepted")


class TransferInstruction(models.Model):
    """One transfer of one entitlement to one account. Its `instruction_id` is the institution's
    idempotency key: sent again (after a crash, a lost answer) it never pays twice; a new attempt
    after a failure is a new instruction with a new id."""

    instruction_id = models.CharField(max_length=64, unique=True)
    batch = models.ForeignKey(TransferBatch, on_delete=models.PROTECT, related_name="instructions")
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, related_name="instructions"
    )
    account = models.ForeignKey(PaymentAccount, on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    amount_idr = models.BigIntegerField()
    status = models.CharField(
        max_length=8, choices=InstructionStatus.choices, default=InstructionStatus.READY
    )
    reason_code = models.CharField(max_length=24, blank=True)
    partner_reference = models.CharField(max_length=100, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)  # the institution's time of result
    result_at = models.DateTimeField(null=True, blank=True)  # when the result was recorded here
    # Matched with the institution's statement: the money has left the program (ledger).
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement"],
                condition=Q(status="success"),
                name="incentives_paid_once",
            ),
            models.UniqueConstraint(
                fields=["entitlement"],
                condition=Q(status__in=IN_FLIGHT),
                name="incentives_one_in_flight",
            ),
            models.CheckConstraint(
                condition=Q(amount_idr__gt=0), name="incentives_transfer_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "status"], name="incentives_instruction_batch"),
            models.Index(
                fields=["institution", "settled_at"],
                condition=Q(status="success", reconciled_at__isnull=True),
                name="incentives_unreconciled",
            ),
        ]

    def __str__(self) -> str:
        return self.instruction_id


class ReconciliationOutcome(models.TextChoices):
    MATCHED = "matched", "Matched"
    MISSING_HERE = "missing_here", "On the statement, not here"
    MISSING_THERE = "missing_there", "Here, not on the statement"
    AMOUNT_MISMATCH = "amount_mismatch", "Amounts differ"
    STATUS_MISMATCH = "status_mismatch", "Statuses differ"


class Statement(models.Model):
    """An institution's statement of one day, received by API or uploaded as CSV, and what
    reconciling it found."""

    institution = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    statement_date = models.DateField()
    source = models.CharField(max_length=8)  # api | csv
    received_at = models.DateTimeField(default=clock.now)
    received_by = models.CharField(max_length=150)
    lines_count = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    missing_here = models.PositiveIntegerField(default=0)
    missing_there = models.PositiveIntegerField(default=0)
    amount_mismatch = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"statement {self.statement_date} ({self.source})"


class StatementItem(models.Model):
    """A line that did not match (or, for MATCHED, is not stored: the instruction records it)."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="items")
    outcome = models.CharField(max_length=16, choices=ReconciliationOutcome.choices)
    instruction_id = models.CharField(max_length=64)
    amount_here_idr = models.BigIntegerField(null=True, blank=True)
    amount_there_idr = models.BigIntegerField(null=True, blank=True)
    status_here = models.CharField(max_length=8, blank=True)
    status_there = models.CharField(max_length=8, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.outcome} {self.instruction_id}"
