"""Who the simulated people are and what each of them will do: a pure function of (scale, seed).

Every share of figures.md is met exactly, not by chance: for each stage the simulation draws, with
the seed, exactly the published share of the previous stage's people to pass it (`pick`). The
system decides the outcomes — a NIK check fails because the person typed another name, not because
the plan says "fail" — but the plan decides who types what.

Registration fates, in arrival order:
  NO_EMAIL     never opens the verification email
  NAME_TYPO    verifies the email, types a name the registry does not have (NAME_MISMATCH)
  NIK_TYPO     verifies the email, types a NIK that does not exist (NIK_NOT_FOUND)
  NO_PHONE     passes the NIK check, never enters the SMS code
  VERIFIED     enters the SMS code; eligibility and the face check are the system's and the
               synthetic population's (minors, pupils, exclusion lists, faces that do not match)
"""

import datetime
import random
from array import array
from dataclasses import dataclass, field

from prakerja.integrations.population.synthetic import (
    Person,
    age_on,
    generate_population,
)
from prakerja.registration.rules import SignUpFields
from prakerja.simulation import figures as F

NO_EMAIL, NAME_TYPO, NIK_TYPO, NO_PHONE, VERIFIED = range(5)
NAME_TYPO_SHARE = 0.6  # of the NIK check's failures; the rest typed a NIK that does not exist
IN_SCHOOL_SHARE = 0.03
EMPLOYMENT = (("laid_off", 0.03), ("unemployed", 0.6), ("employee", 0.25), ("business_owner", 0.12))
EDUCATION = (
    ("sd", 0.1),
    ("smp", 0.15),
    ("sma", 0.5),
    ("diploma", 0.1),
    ("s1", 0.14),
    ("postgrad", 0.01),
)
POPULATION_PER_REGISTRANT = 1.6

# Bad actors, at full (1:1) scale; at least MIN_BAD of each kind at any scale.
MIN_BAD = 3
DUPLICATE_NIK = 50_000  # not a scheme value: duplicate sign-ups in 2020 at full scale
KK_FAMILIES = 10_000  # families whose three members all apply while laid off (a priority group)
EXCLUDED_BEFORE = 100_000


@dataclass(frozen=True)
class SignUpPlan(SignUpFields):
    """What one person types at sign-up (the fields the batch sign-up takes), and who they are."""

    k: int  # arrival order
    person: int  # index in the population
    fate: int


@dataclass
class Plan:
    scale: float
    seed: int
    people: list[Person]
    order: array  # person index of the k-th registrant
    fates: bytearray
    in_school: bytearray
    employment: bytearray
    education: bytearray
    arrival_day: array  # day number (0 = START) of the k-th registrant
    duplicate_of: list[tuple[int, int]] = field(default_factory=list)  # (registrant k, day)
    kk_families: list[tuple[int, int, int]] = field(default_factory=list)  # three registrants k
    excluded_before: list[int] = field(default_factory=list)  # registrants k

    @property
    def registrants(self) -> int:
        return len(self.order)

    def sign_up(self, k: int) -> SignUpPlan:
        person = self.people[self.order[k]]
        fate = self.fates[k]
        nik, name = person.nik, person.full_name
        if fate == NAME_TYPO:
            name = _other_name(name, k)
        elif fate == NIK_TYPO:
            nik = nik[:12] + f"{9000 + k % 999:04d}"  # the generator numbers people from 0001
        return SignUpPlan(
            k=k,
            person=self.order[k],
            email=self.email(k),
            nik=nik,
            full_name=name.title(),
            birth_date=person.birth_date,
            phone=self.phone(k),
            regency_code=person.regency_code,
            education=EDUCATION[self.education[k]][0],
            employment=EMPLOYMENT[self.employment[k]][0],
            in_school=bool(self.in_school[k]),
            fate=fate,
        )

    def duplicate_sign_up(self, j: int) -> SignUpPlan:
        """The j-th attempt to register a NIK that already has an account."""
        k, _day = self.duplicate_of[j]
        original = self.sign_up(k)
        return SignUpPlan(
            k=-1 - j,
            person=original.person,
            email=f"ganda{j}.s{self.seed}@sim.prakerja.test",
            nik=self.people[original.person].nik,
            full_name=original.full_name,
            birth_date=original.birth_date,
            phone=f"+62813{j:08d}",
            regency_code=original.regency_code,
            education=original.education,
            employment=original.employment,
            in_school=False,
            fate=NO_EMAIL,
        )

    def email(self, k: int) -> str:
        return f"p{k}.s{self.seed}@sim.prakerja.test"

    def phone(self, k: int) -> str:
        return f"+62812{k:08d}"

    def arrivals_on(self, day: int) -> range:
        """The registrants k who sign up on day `day` (they arrive in order)."""
        first = _bisect(self.arrival_day, day)
        last = _bisect(self.arrival_day, day + 1)
        return range(first, last)


def bad_count(full_scale: int, scale: float) -> int:
    return max(MIN_BAD, round(full_scale * scale))


def pick(candidates: list[int], count: int, rng: random.Random) -> set[int]:
    """Exactly `count` of `candidates`, drawn with `rng`."""
    return set(rng.sample(candidates, min(count, len(candidates))))


def plan_build(scale: float, seed: int) -> Plan:
    rng = random.Random(f"plan:{seed}")
    total = F.scaled(F.REGISTRANTS, scale)
    people = generate_population(max(int(total * POPULATION_PER_REGISTRANT), 1000), seed)
    usable = [
        i
        for i, p in enumerate(people)
        if not p.deceased  # the dead do not register
    ]
    adults = [i for i in usable if people[i].face_ok and age_on(people[i].birth_date) >= 18 + 1]
    wave_1_closes = (F.WAVES[0].closes - F.START).days
    early = F.registrants_by(F.WAVES[0].closes, scale)

    # Families with three adults who pass every check: all three apply, laid off, in wave 1.
    families: dict[str, list[int]] = {}
    for i in adults:
        families.setdefault(people[i].kk_number, []).append(i)
    threes = [members[:3] for members in families.values() if len(members) >= 3]
    kk = rng.sample(threes, min(bad_count(KK_FAMILIES, scale), len(threes)))
    forced = {i for trio in kk for i in trio}
    excluded_pool = [i for i in adults if i not in forced]
    excluded = rng.sample(excluded_pool, bad_count(EXCLUDED_BEFORE, scale))
    forced |= set(excluded)

    others = [i for i in usable if i not in forced]
    chosen = rng.sample(others, total - len(forced))
    # Arrival order: the forced ones among the first registrants (wave 1's), the rest shuffled.
    head = list(forced)
    rng.shuffle(head)
    order_list = chosen[:]
    rng.shuffle(order_list)
    slots = sorted(rng.sample(range(min(early, total)), len(head)))
    for slot, person in zip(slots, head, strict=True):
        order_list.insert(slot, person)
    order = array("l", order_list)
    position = {person: k for k, person in enumerate(order_list) if person in forced}

    # Fates: exactly the published share at each stage.
    everyone = list(range(total))
    must_verify = {position[i] for i in forced}
    n_phone = round(total * F.PHONE_VERIFIED / F.REGISTRANTS)
    n_nik = round(total * F.NIK_VALIDATED / F.REGISTRANTS)
    n_email = round(total * F.EMAIL_VERIFIED / F.REGISTRANTS)
    rest = [k for k in everyone if k not in must_verify]
    phone = must_verify | pick(rest, n_phone - len(must_verify), rng)
    nik = phone | pick([k for k in everyone if k not in phone], n_nik - len(phone), rng)
    email = nik | pick([k for k in everyone if k not in nik], n_email - len(nik), rng)
    nik_failed = sorted(email - nik)
    name_typo = pick(nik_failed, round(len(nik_failed) * NAME_TYPO_SHARE), rng)
    fates = bytearray(total)
    for k in everyone:
        if k in phone:
            fates[k] = VERIFIED
        elif k in nik:
            fates[k] = NO_PHONE
        elif k in email:
            fates[k] = NAME_TYPO if k in name_typo else NIK_TYPO
        else:
            fates[k] = NO_EMAIL

    in_school = bytearray(total)
    for k in pick(
        [k for k in everyone if k not in must_verify], round(total * IN_SCHOOL_SHARE), rng
    ):
        in_school[k] = 1
    employment = bytearray(_weighted(rng, EMPLOYMENT, total))
    education = bytearray(_weighted(rng, EDUCATION, total))
    laid_off = next(i for i, (code, _) in enumerate(EMPLOYMENT) if code == "laid_off")
    unemployed = next(i for i, (code, _) in enumerate(EMPLOYMENT) if code == "unemployed")
    kk_registrants = {position[i] for trio in kk for i in trio}
    for k in everyone:
        if k in kk_registrants:
            employment[k] = laid_off
        elif employment[k] == laid_off and k < early:
            # Wave 1 draws the laid off first; they stay fewer than its quota, so the family
            # limit, not the lottery, is what keeps a third family member out.
            employment[k] = unemployed

    arrival = array("l", bytes(0))
    day, by_day = 0, F.registrants_by(F.START, scale)
    for k in everyone:
        while k >= by_day:
            day += 1
            by_day = F.registrants_by(F.START + datetime.timedelta(days=day), scale)
        arrival.append(day)
    assert all(arrival[position[i]] <= wave_1_closes for i in head)

    duplicates = []
    sources = sorted(nik)
    last_day = (F.END - F.START).days
    for _ in range(bad_count(DUPLICATE_NIK, scale)):
        k = rng.choice(sources)
        duplicates.append((k, rng.randint(arrival[k] + 1, max(arrival[k] + 1, last_day))))
    return Plan(
        scale=scale,
        seed=seed,
        people=people,
        order=order,
        fates=fates,
        in_school=in_school,
        employment=employment,
        education=education,
        arrival_day=arrival,
        duplicate_of=duplicates,
        kk_families=[tuple(position[i] for i in trio) for trio in kk],  # type: ignore[misc]
        excluded_before=sorted(position[i] for i in excluded),
    )


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...], n: int) -> list[int]:
    return rng.choices(range(len(table)), weights=[w for _, w in table], k=n)


def _other_name(name: str, k: int) -> str:
    """A name the registry does not hold for this person: the second part replaced."""
    parts = name.split()
    swap = ("SAPUTRO", "WIBISONO", "KARTIKA", "PRAMESTI", "HARDJONO", "SUKMAWATI")
    replacement = swap[k % len(swap)]
    if parts[-1] == replacement:
        replacement = swap[(k + 1) % len(swap)]
    return " ".join([*parts[:1], replacement]) if len(parts) > 1 else f"{name} {replacement}"


def _bisect(values: array, target: int) -> int:
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] < target:
            low = middle + 1
        else:
            high = middle
    return low
