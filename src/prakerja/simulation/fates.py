"""What each selected participant will do, decided when their wave is drawn.

The shares of figures.md are met exactly with cumulative rounding: after the w-th wave, the
buyers so far are round(participants so far × 3,2 M / 3,88 M), and so on down the funnel. Within a
wave, who does what is drawn with the seed from the participants in id order, so resuming a run
recomputes the same fates from the database.

Completers who receive no incentive (20,6 % of participants) are where the bad actors are injected
— they would be paid if the system did not catch them — and the rest of that group did not review,
linked no account, or linked one that fails for a reason they never fix.
"""

import datetime
import random
from dataclasses import dataclass

from prakerja.simulation import figures as F
from prakerja.simulation.plan import MIN_BAD

DAY = datetime.timedelta(days=1)
LAST_ACTION = F.END - datetime.timedelta(days=5)

# Bad actors among participants, at full scale; at least MIN_BAD of each.
EXCLUDED_AFTER = 30_000  # on an exclusion list imported after their wave's selection
RING_GROUPS = 5_000  # three participants each posting one identical review
FAST_COMPLETION = 20_000  # the platform reports completion within the hour of redemption
WALLET_OTHER_NIK = 20_000  # link an e-wallet registered to another person's NIK
BAD_KINDS = ("excluded_after", "review_ring", "fast_completion", "wallet_other_nik")

NO_REVIEW_SHARE = 0.25  # of completers without incentive who are not bad actors
NO_ACCOUNT_SHARE = 0.35
BAD_ACCOUNT_REASONS = ("NOT_UPGRADED", "NOT_UPGRADED", "ACCOUNT_INACTIVE", "NIK_MISMATCH")
FIX_SHARE = 0.15  # recipients whose first account failed (not upgraded) and who then fixed it
REDEEM_SHARE = 0.6  # buyers who never complete but did redeem
# Where participants take their incentives (e-wallets keyed by the phone; BNI virtual accounts).
INSTITUTION_WEIGHTS = (("bni", 10), ("linkaja", 25), ("ovo", 35), ("gopay", 30))


@dataclass(frozen=True)
class Fate:
    participant_id: int
    buys: bool = False
    redeems: bool = False
    completes: bool = False
    reviews: bool = False
    recipient: bool = False
    account: str = ""  # "" (none) | "good" | "fix" | a failing reason
    institution: str = ""
    bad: str = ""
    ring: int = -1
    training_id: int = 0
    buy_day: datetime.date | None = None
    redeem_day: datetime.date | None = None
    complete_day: datetime.date | None = None
    relink_day: datetime.date | None = None


@dataclass(frozen=True)
class Training:
    pk: int
    platform_id: int
    price_idr: int
    duration_hours: int


class FateBook:
    """The fates of every selected participant, wave after wave."""

    def __init__(self, scale: float, seed: int, trainings: list[Training]) -> None:
        self.scale, self.seed = scale, seed
        self.trainings = trainings
        self.total = sum(F.scaled(w.selected, scale) for w in F.WAVES)
        self.seen = 0
        self.rings = 0
        self.fates: dict[int, Fate] = {}
        self.waves: set[int] = set()  # the waves whose participants have their fates

    def _share(self, full: int, before: int, after: int) -> int:
        return round(after * full / F.PARTICIPANTS) - round(before * full / F.PARTICIPANTS)

    def _bad(self, full: int, before: int, after: int) -> int:
        total = max(MIN_BAD, round(full * self.scale))
        return round(total * after / self.total) - round(total * before / self.total)

    def add_wave(
        self, number: int, selected_on: datetime.date, participant_ids: list[int]
    ) -> list[Fate]:
        if number in self.waves:
            return []  # a day played again after an interruption: the fates stand
        self.waves.add(number)
        rng = random.Random(f"fates:{self.seed}:{number}")
        ids = sorted(participant_ids)
        before, after = self.seen, self.seen + len(ids)
        self.seen = after
        order = ids[:]
        rng.shuffle(order)
        n_buy = self._share(F.BOUGHT, before, after)
        n_complete = self._share(F.COMPLETED, before, after)
        n_paid = self._share(F.RECEIVED_INCENTIVE, before, after)
        buyers, rest = order[:n_buy], order[n_buy:]
        completers, dropouts = buyers[:n_complete], buyers[n_complete:]
        recipients, unpaid = completers[:n_paid], completers[n_paid:]

        bad: list[tuple[int, str, int]] = []  # (participant, kind, ring)
        cursor = 0
        rings = self._bad(RING_GROUPS, before, after)
        for kind, full in (
            ("excluded_after", EXCLUDED_AFTER),
            ("fast_completion", FAST_COMPLETION),
            ("wallet_other_nik", WALLET_OTHER_NIK),
        ):
            for pk in unpaid[cursor : cursor + self._bad(full, before, after)]:
                bad.append((pk, kind, -1))
            cursor = len(bad)
        for _ in range(rings):
            members = unpaid[cursor : cursor + 3]
            if len(members) < 3:
                break
            bad.extend((pk, "review_ring", self.rings) for pk in members)
            self.rings += 1
            cursor += 3
        honest_unpaid = unpaid[cursor:]
        n_no_review = round(len(honest_unpaid) * NO_REVIEW_SHARE)
        n_no_account = round(len(honest_unpaid) * NO_ACCOUNT_SHARE)
        n_fix = round(len(recipients) * FIX_SHARE)

        made: list[Fate] = []
        for pk in rest:
            made.append(Fate(pk))
        for i, pk in enumerate(dropouts):
            made.append(
                self._journey(
                    pk, rng, selected_on, redeems=rng.random() < REDEEM_SHARE, completes=False, i=i
                )
            )
        for i, pk in enumerate(recipients):
            made.append(
                self._journey(
                    pk,
                    rng,
                    selected_on,
                    completes=True,
                    reviews=True,
                    recipient=True,
                    account="fix" if i < n_fix else "good",
                    i=i,
                )
            )
        for pk, kind, ring in bad:
            account = "NIK_MISMATCH" if kind == "wallet_other_nik" else "good"
            # A ring acts together: its members buy, finish and review on the same days.
            journey_rng = random.Random(f"ring:{self.seed}:{ring}") if ring >= 0 else rng
            made.append(
                self._journey(
                    pk,
                    journey_rng,
                    selected_on,
                    completes=True,
                    reviews=True,
                    account=account,
                    bad=kind,
                    ring=ring,
                    fast=kind == "fast_completion",
                    i=pk,
                )
            )
        for i, pk in enumerate(honest_unpaid):
            if i < n_no_review:
                made.append(
                    self._journey(pk, rng, selected_on, completes=True, account="good", i=i)
                )
            elif i < n_no_review + n_no_account:
                made.append(self._journey(pk, rng, selected_on, completes=True, reviews=True, i=i))
            else:
                reason = BAD_ACCOUNT_REASONS[i % len(BAD_ACCOUNT_REASONS)]
                made.append(
                    self._journey(
                        pk, rng, selected_on, completes=True, reviews=True, account=reason, i=i
                    )
                )
        for fate in made:
            self.fates[fate.participant_id] = fate
        return made

    def _journey(
        self,
        pk: int,
        rng: random.Random,
        selected_on: datetime.date,
        *,
        i: int,
        redeems: bool = True,
        completes: bool,
        reviews: bool = False,
        recipient: bool = False,
        account: str = "",
        bad: str = "",
        ring: int = -1,
        fast: bool = False,
    ) -> Fate:
        training = self.trainings[rng.randrange(len(self.trainings))]
        buy = selected_on + DAY * rng.randint(0, 14)
        redeem = buy + DAY * rng.randint(0, 3)
        complete = None
        if completes:
            least = -(-training.duration_hours // 24) + 1
            complete = redeem if fast else redeem + DAY * max(least, rng.randint(2, 12))
            if complete > LAST_ACTION:
                complete = max(LAST_ACTION, redeem + DAY * (0 if fast else least))
        relink = complete + DAY * rng.randint(3, 6) if complete and account == "fix" else None
        weights = [w for _, w in INSTITUTION_WEIGHTS]
        institution = (
            rng.choices([c for c, _ in INSTITUTION_WEIGHTS], weights)[0] if account else ""
        )
        if account in ("fix", "NOT_UPGRADED", "NIK_MISMATCH") and institution == "bni":
            institution = "ovo"  # a KYC level and a wallet holder are e-wallet matters
        return Fate(
            participant_id=pk,
            buys=True,
            redeems=redeems or completes,
            completes=completes,
            reviews=reviews,
            recipient=recipient,
            account=account,
            institution=institution,
            bad=bad,
            ring=ring,
            training_id=training.pk,
            buy_day=buy,
            redeem_day=redeem,
            complete_day=complete,
            relink_day=relink,
        )
