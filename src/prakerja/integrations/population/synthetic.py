"""A deterministic synthetic population for the registry sandbox, the demo and the benchmarks.

`generate_population(n, seed)` gives the same people for the same (n, seed) on every machine: people
are spread over the regencies in proportion to their real population, live together on family cards
(KK) of 1–5 members, and carry NIKs that pass `nik.check_nik`. A fixed share of them is built to
fail later checks: aged 15–17 on the program's reference date, deceased, or a face that never
matches. `PopulationStore` keeps a generated population in one SQLite file for the sandbox service.
"""

import datetime
import os
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from prakerja.integrations.population import RegistryRecord
from prakerja.registration import nik, regions, rules

# Ages are counted on the day the 2020 program opened, so the same people stay adults or minors
# whatever day the generator runs.
REFERENCE_DATE = datetime.date(2020, 4, 1)

ADULT_AGES = (18, 59)
SENIOR_AGES = (60, 70)
MINOR_AGES = (15, 17)
SENIOR_SHARE = 0.10
MINOR_SHARE = 0.05
DECEASED_SHARE = 0.005
FACE_MISMATCH_SHARE = 0.03

FAMILY_SIZES = (1, 2, 3, 4, 5)
FAMILY_SIZE_WEIGHTS = (15, 20, 25, 25, 15)
KK_ISSUED_FROM = datetime.date(2005, 1, 1)
KK_ISSUED_UNTIL = datetime.date(2020, 3, 31)
MAX_SERIAL = 9999

MALE_GIVEN_NAMES = (
    "AGUS", "AHMAD", "ABDUL", "ADITYA", "AMIR", "ANDI", "ANDRI", "ARIF", "ASEP", "BAMBANG",
    "BAYU", "BUDI", "CECEP", "DADANG", "DANI", "DANIEL", "DARMAWAN", "DEDI", "DENI", "DIMAS",
    "DWI", "EKO", "FAJAR", "FIRMAN", "GILANG", "HADI", "HAMZAH", "HARYANTO", "HASAN", "HENDRA",
    "HERI", "ILHAM", "IMAM", "IRFAN", "IWAN", "JAJANG", "JOKO", "JUNAIDI", "KOMARUDIN", "LUKMAN",
    "MARKUS", "MUHAMMAD", "MULYADI", "NANANG", "PETRUS", "RAHMAN", "RAHMAT", "RIDWAN", "RIZKY",
    "ROBERT", "RUDI", "SAIFUL", "SAMSUL", "SUPRIADI", "SYAHRUL", "TAUFIK", "TEGUH", "UDIN",
    "UJANG", "WAHYU", "YAYAN", "YOHANES", "YOSEF", "YUSUF", "ZULKIFLI",
)  # fmt: skip
FEMALE_GIVEN_NAMES = (
    "AISYAH", "ANI", "ANNISA", "AULIA", "AYU", "CUCU", "DESI", "DEWI", "DIAN", "ELISABETH",
    "ERNA", "ERNAWATI", "EUIS", "EVA", "FARIDA", "FATIMAH", "FITRI", "HALIMAH", "HARTATI", "IKA",
    "IMAS", "INDAH", "KARTINI", "KHADIJAH", "KRISTINA", "LIA", "LILIS", "LINDA", "MARIA",
    "MARLINA", "MARTHA", "MAYA", "MEGA", "MUTIARA", "NABILA", "NAILA", "NENENG", "NENG", "NOVI",
    "NUR", "NURHAYATI", "NURLELA", "PUTRI", "RATNA", "RETNO", "RIKA", "RINA", "ROSMAWATI",
    "SALSABILA", "SITI", "SRI", "SULASTRI", "SUSI", "TITIN", "TUTI", "WULAN", "YANTI", "YOHANA",
    "YULIA", "YUNI", "ZAHRA",
)  # fmt: skip
# Second names that follow a given name; Javanese and Sundanese names are gendered.
MALE_SECOND_NAMES = (
    "FAUZI", "FIRMANSYAH", "GUNAWAN", "HAKIM", "HANDOKO", "HARTONO", "HERMAWAN", "HIDAYAT",
    "KURNIAWAN", "KUSNADI", "MAULANA", "MULYANA", "NUGRAHA", "NUGROHO", "PERMANA", "PRASETYO",
    "PRATAMA", "PURNOMO", "RAMADHAN", "SANTOSO", "SAPUTRA", "SETIADI", "SETIAWAN", "SOMANTRI",
    "SUGIHARTO", "SUHENDAR", "SUNARYA", "SUPRIATNA", "SUSANTO", "SUTISNA", "SYAHPUTRA",
    "WIBOWO", "WIJAYA",
)  # fmt: skip
FEMALE_SECOND_NAMES = (
    "AGUSTINA", "AMELIA", "ANGGRAINI", "APRILIANI", "ARYANI", "FITRIANI", "HANDAYANI", "HIDAYAH",
    "KHOIRUNNISA", "KURNIASIH", "KUSUMAWATI", "LESTARI", "MAHARANI", "MULYANI", "NOVITASARI",
    "NURHALIZA", "NURJANAH", "OKTAVIA", "PERTIWI", "PRATIWI", "PURNAMASARI", "PUSPITASARI",
    "RAHAYU", "RAHMAWATI", "RATNASARI", "SAFITRI", "SARI", "SETIAWATI", "SUSANTI", "SUSILAWATI",
    "WULANDARI", "YULIANTI",
)  # fmt: skip
# Family names proper, passed from parent to child, each with the province where it is at home.
BATAK_NAMES = (
    "GINTING", "HARAHAP", "HUTAGALUNG", "HUTAPEA", "LUBIS", "MANURUNG", "MARPAUNG", "NAINGGOLAN",
    "NASUTION", "PANGGABEAN", "PANJAITAN", "PARDEDE", "SARAGIH", "SEMBIRING", "SIHOMBING",
    "SILALAHI", "SIMANJUNTAK", "SIMATUPANG", "SINAGA", "SIREGAR", "SITOMPUL", "SITUMORANG",
    "TAMPUBOLON", "TARIGAN",
)  # fmt: skip
MINANG_NAMES = ("CHANIAGO", "JAMBAK", "KOTO", "PILIANG", "SIKUMBANG", "TANJUNG")
MINAHASA_NAMES = (
    "LUMINTANG", "MANOPPO", "PANGEMANAN", "RONDONUWU", "RUNTUWENE", "SUMAMPOW", "SUMOLANG",
    "TUMEWU", "WALANDOUW", "WAROUW",
)  # fmt: skip
MALUKU_NAMES = ("LATUMAHINA", "LEIWAKABESSY", "PATTINAMA", "SAHETAPY", "TUHUMURY", "WATTIMENA")
BUGIS_NAMES = ("MALLARANGENG", "MAPPANYUKKI", "PAWELLANGI")
FAMILY_NAMES = BATAK_NAMES + MINANG_NAMES + MINAHASA_NAMES + MALUKU_NAMES + BUGIS_NAMES
SECOND_NAMES = MALE_SECOND_NAMES + FEMALE_SECOND_NAMES + FAMILY_NAMES
# Older Javanese often have one name only.
MALE_SINGLE_NAMES = (
    "KASIMIN", "MULYONO", "PAIMAN", "SLAMET", "SUGENG", "SUGIANTO", "SUKIMIN", "SUMARNO",
    "SUPARDI", "SUPARMAN", "SUTRISNO", "SUWARNO", "SUYANTO", "TUKIMAN",
)  # fmt: skip
FEMALE_SINGLE_NAMES = (
    "JUMINAH", "PAINEM", "PONIYEM", "SAINEM", "SRIYATUN", "SUKINAH", "SUMARNI", "SUMIATI",
    "SUPARMI", "TUMINAH", "WAGINEM",
)  # fmt: skip
# Names that often open a three-part name, as in MUHAMMAD RIZKY SAPUTRA or SITI AYU LESTARI.
LEADING_NAMES = {"M": ("MUHAMMAD", "AHMAD", "ABDUL"), "F": ("SITI", "NUR", "SRI", "DEWI")}
# Balinese names start with a sex marker and a birth-order name and carry no family name.
BALINESE_FIRST = {
    "M": ("I WAYAN", "I MADE", "I NYOMAN", "I KETUT", "I GEDE", "I PUTU"),
    "F": ("NI WAYAN", "NI MADE", "NI NYOMAN", "NI KETUT", "NI LUH", "NI PUTU"),
}
BALINESE_SECOND = {
    "M": ("ARTAWAN", "ASTAWA", "DARMAYASA", "MAHENDRA", "SUARDANA", "SUASTIKA", "SUDARTA"),
    "F": ("ARIANI", "ASTITI", "PURNAMI", "SUARTINI", "SUDIARTI", "WIDIASIH"),
}
# province -> (family names at home there, share of families carrying one)
HOME_FAMILY_NAMES: dict[str, tuple[tuple[str, ...], float]] = {
    "12": (BATAK_NAMES, 0.6),
    "13": (MINANG_NAMES, 0.3),
    "71": (MINAHASA_NAMES, 0.6),
    "73": (BUGIS_NAMES, 0.1),
    "81": (MALUKU_NAMES, 0.5),
}
BALI_PROVINCE = "51"
BALI_BALINESE_SHARE = 0.8
BALINESE_NAMING = "(Balinese)"  # stands where a family name would, and is none
ELSEWHERE_FAMILY_NAME_SHARE = 0.05
ELSEWHERE_BALINESE_SHARE = 0.01
SINGLE_NAME_SHARE = 0.12
THREE_PART_NAME_SHARE = 0.12


@dataclass(frozen=True)
class Person(RegistryRecord):
    face_ok: bool

    def record(self) -> RegistryRecord:
        """What the registry discloses: everything except its own photo comparison."""
        return RegistryRecord(**{f.name: getattr(self, f.name) for f in fields(RegistryRecord)})


def age_on(birth_date: datetime.date, day: datetime.date = REFERENCE_DATE) -> int:
    """The program's age rule (registration/rules.py), on the population's reference day unless
    told another."""
    return rules.age_on(birth_date, day)


def birth_dates_for_ages(
    youngest: int, oldest: int, day: datetime.date = REFERENCE_DATE
) -> tuple[datetime.date, datetime.date]:
    """(earliest, latest) birth date of someone aged youngest..oldest on `day`, both inclusive."""
    earliest = day.replace(year=day.year - oldest - 1) + datetime.timedelta(days=1)
    return earliest, day.replace(year=day.year - youngest)


@cache
def _district_codes(regency_code: str) -> tuple[str, ...]:
    # regions.districts scans every region, so look each regency up once per process.
    return tuple(district.code for district in regions.districts(regency_code))


def _regency_quotas(n: int) -> list[tuple[str, int]]:
    """Split n over the regencies by the largest-remainder method: every regency gets its share
    rounded down or up, the same for every seed."""
    weights = [
        (code, population)
        for code, population in regions.regency_population().items()
        if population > 0 and _district_codes(code)
    ]
    total = sum(population for _, population in weights)
    quotas = [n * population // total for _, population in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(n * weights[i][1] % total), i))
    for i in by_remainder[: n - sum(quotas)]:
        quotas[i] += 1
    return [(code, quota) for (code, _), quota in zip(weights, quotas, strict=True) if quota]


def _random_date(
    rng: random.Random, earliest: datetime.date, latest: datetime.date
) -> datetime.date:
    return earliest + datetime.timedelta(days=rng.randint(0, (latest - earliest).days))


def _shares(n: int, rng: random.Random) -> tuple[list[tuple[int, int]], set[int], set[int]]:
    """Exact counts rather than independent draws, so every population of a useful size holds
    its minors, seniors, deceased and face mismatches, and the demo always finds examples."""
    minors = round(n * MINOR_SHARE)
    seniors = round(n * SENIOR_SHARE)
    ages = [MINOR_AGES] * minors + [SENIOR_AGES] * seniors + [ADULT_AGES] * (n - minors - seniors)
    rng.shuffle(ages)
    deceased = set(rng.sample(range(n), round(n * DECEASED_SHARE)))
    face_mismatch = set(rng.sample(range(n), round(n * FACE_MISMATCH_SHARE)))
    return ages, deceased, face_mismatch


def _family_naming(rng: random.Random, regency_code: str) -> str | None:
    """The family's name (a clan, fam or marga), BALINESE_NAMING, or None."""
    province = regency_code[:2]
    if province == BALI_PROVINCE:
        return BALINESE_NAMING if rng.random() < BALI_BALINESE_SHARE else None
    home, share = HOME_FAMILY_NAMES.get(province, (FAMILY_NAMES, ELSEWHERE_FAMILY_NAME_SHARE))
    if rng.random() < share:
        return rng.choice(home)
    return BALINESE_NAMING if rng.random() < ELSEWHERE_BALINESE_SHARE else None


def _full_name(rng: random.Random, sex: str, family: str | None) -> str:
    if family == BALINESE_NAMING:
        return f"{rng.choice(BALINESE_FIRST[sex])} {rng.choice(BALINESE_SECOND[sex])}"
    given_names = MALE_GIVEN_NAMES if sex == "M" else FEMALE_GIVEN_NAMES
    given = rng.choice(given_names)
    if family is not None:
        # Batak women carry their father's marga after "BR" (boru, daughter of).
        marker = "BR " if sex == "F" and family in BATAK_NAMES else ""
        return f"{given} {marker}{family}"
    roll = rng.random()
    if roll < SINGLE_NAME_SHARE:
        return rng.choice(MALE_SINGLE_NAMES if sex == "M" else FEMALE_SINGLE_NAMES)
    second = rng.choice(MALE_SECOND_NAMES if sex == "M" else FEMALE_SECOND_NAMES)
    if roll < SINGLE_NAME_SHARE + THREE_PART_NAME_SHARE:
        leading = rng.choice(LEADING_NAMES[sex])
        if leading != given:
            return f"{leading} {given} {second}"
    return f"{given} {second}"


def _next_serial(serials: Counter[str], prefix: str) -> int:
    serials[prefix] += 1
    if serials[prefix] > MAX_SERIAL:
        raise ValueError(f"more than {MAX_SERIAL} numbers share the prefix {prefix}")
    return serials[prefix]


def generate_population(
    n: int, seed: int, reference_date: datetime.date = REFERENCE_DATE
) -> list[Person]:
    """n people, their ages counted on `reference_date`; the same (n, seed, reference_date) gives
    the same list. Families stay together in the list."""
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(seed)
    families: list[tuple[str, str, int]] = []  # (regency, district, size)
    for regency_code, quota in _regency_quotas(n):
        district_codes = _district_codes(regency_code)
        left = quota
        while left:
            size = min(left, rng.choices(FAMILY_SIZES, FAMILY_SIZE_WEIGHTS)[0])
            families.append((regency_code, rng.choice(district_codes), size))
            left -= size
    rng.shuffle(families)

    ages, deceased, face_mismatch = _shares(n, rng)
    nik_serials: Counter[str] = Counter()
    kk_serials: Counter[str] = Counter()
    people: list[Person] = []
    for regency_code, district_code, size in families:
        issued = _random_date(rng, KK_ISSUED_FROM, KK_ISSUED_UNTIL)
        kk_prefix = f"{district_code.replace('.', '')}{issued:%d%m%y}"
        kk_number = f"{kk_prefix}{_next_serial(kk_serials, kk_prefix):04d}"
        family = _family_naming(rng, regency_code)
        # A couple heads most families; the list puts the eldest (the head) first.
        sexes = rng.sample(("M", "F"), 2) if size > 1 else [rng.choice(("M", "F"))]
        sexes += [rng.choice(("M", "F")) for _ in range(size - len(sexes))]
        first = len(people)
        members = sorted(
            (_random_date(rng, *birth_dates_for_ages(*ages[first + i], reference_date)), sexes[i])
            for i in range(size)
        )
        for birth_date, sex in members:
            index = len(people)
            prefix = nik.make_nik(district_code, birth_date, sex, 0)[:12]
            people.append(
                Person(
                    nik=nik.make_nik(
                        district_code, birth_date, sex, _next_serial(nik_serials, prefix)
                    ),
                    kk_number=kk_number,
                    full_name=_full_name(rng, sex, family),
                    birth_date=birth_date,
                    sex=sex,
                    regency_code=regency_code,
                    deceased=index in deceased,
                    face_ok=index not in face_mismatch,
                )
            )
    return people


_COLUMNS = "nik, kk_number, full_name, birth_date, sex, regency_code, deceased, face_ok"
_MAX_IDLE_CONNECTIONS = 16


class PopulationStore:
    """A generated population in one SQLite file, one row per person keyed by NIK, in the order
    of generation. Readers share a small pool of read-only connections, each used by one thread
    at a time, so any number of threads (the sandbox's one per request) may read at once."""

    def __init__(self, path: Path, reference_date: datetime.date = REFERENCE_DATE) -> None:
        self.path = Path(path)
        self.reference_date = reference_date  # the day the population's ages were counted on
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def write(self, persons: Iterable[Person]) -> None:
        """Replace everything in one transaction: readers see the old people or the new ones."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("DROP TABLE IF EXISTS person")
            connection.execute(
                "CREATE TABLE person (nik TEXT PRIMARY KEY, kk_number TEXT NOT NULL, "
                "full_name TEXT NOT NULL, birth_date TEXT NOT NULL, sex TEXT NOT NULL, "
                "regency_code TEXT NOT NULL, deceased INTEGER NOT NULL, face_ok INTEGER NOT NULL)"
            )
            connection.executemany(
                f"INSERT INTO person ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    (
                        p.nik,
                        p.kk_number,
                        p.full_name,
                        p.birth_date.isoformat(),
                        p.sex,
                        p.regency_code,
                        int(p.deceased),
                        int(p.face_ok),
                    )
                    for p in persons
                ),
            )
            connection.execute("COMMIT")

    def get(self, nik: str) -> Person | None:
        rows = self._select("nik = ?", (nik,), limit=1)
        return rows[0] if rows else None

    def count(self) -> int:
        with self._reading() as connection:
            (count,) = connection.execute("SELECT count(*) FROM person").fetchone()
        return int(count)

    def demo_people(self, k: int) -> list[Person]:
        """The first k people (in generation order) who pass every check: aged 18–59, alive,
        face matching, each from a different family card. Fewer when the store has fewer."""
        chosen: list[Person] = []
        families: set[str] = set()
        for person in self._iter_passing():
            if person.kk_number not in families:
                families.add(person.kk_number)
                chosen.append(person)
                if len(chosen) == k:
                    break
        return chosen

    def example_deceased(self) -> Person | None:
        """An adult with a matching face whose only failing is being dead."""
        earliest, latest = birth_dates_for_ages(*ADULT_AGES, self.reference_date)
        rows = self._select(
            "deceased = 1 AND face_ok = 1 AND birth_date BETWEEN ? AND ?",
            (earliest.isoformat(), latest.isoformat()),
            limit=1,
        )
        return rows[0] if rows else None

    def example_underage(self) -> Person | None:
        """Someone alive with a matching face who is younger than 18 on the reference date."""
        rows = self._select(
            "deceased = 0 AND face_ok = 1 AND birth_date > ?",
            (birth_dates_for_ages(*ADULT_AGES, self.reference_date)[1].isoformat(),),
            limit=1,
        )
        return rows[0] if rows else None

    def close(self) -> None:
        """Close the idle read connections; the store stays usable and reopens them on demand."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _iter_passing(self) -> Iterator[Person]:
        earliest, latest = birth_dates_for_ages(*ADULT_AGES, self.reference_date)
        offset, page = 0, 64
        while True:
            rows = self._select(
                "deceased = 0 AND face_ok = 1 AND birth_date BETWEEN ? AND ?",
                (earliest.isoformat(), latest.isoformat()),
                limit=page,
                offset=offset,
            )
            yield from rows
            if len(rows) < page:
                return
            offset += page

    def _select(
        self, where: str, params: tuple[str, ...], *, limit: int, offset: int = 0
    ) -> list[Person]:
        with self._reading() as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM person WHERE {where} "  # noqa: S608
                "ORDER BY rowid LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [
            Person(
                nik=row[0],
                kk_number=row[1],
                full_name=row[2],
                birth_date=datetime.date.fromisoformat(row[3]),
                sex=row[4],
                regency_code=row[5],
                deceased=bool(row[6]),
                face_ok=bool(row[7]),
            )
            for row in rows
        ]

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            if not self.path.exists():
                # sqlite would create an empty file and fail later with a less helpful error
                raise FileNotFoundError(os.fspath(self.path))
            connection = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,  # the pool hands each connection to one thread at a time
            )
        try:
            yield connection
        finally:
            with self._lock:
                if len(self._idle) < _MAX_IDLE_CONNECTIONS:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                connection.close()
