"""The population registry sandbox: the synthetic population, its SQLite store, the in-process
registry, and the HTTP sandbox driven through the HttpPopulationRegistry adapter."""

import argparse
import base64
import datetime
import re
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from prakerja.integrations.population import FaceResult, RegistryUnavailable
from prakerja.integrations.population.client import HttpPopulationRegistry
from prakerja.integrations.population.inprocess import InProcessPopulationRegistry
from prakerja.integrations.population.sandbox import (
    add_arguments,
    build_app,
    create_app,
    prepare_demo,
)
from prakerja.integrations.population.sandbox import today as sandbox_today
from prakerja.integrations.population.synthetic import (
    FAMILY_NAMES,
    FEMALE_GIVEN_NAMES,
    MALE_GIVEN_NAMES,
    REFERENCE_DATE,
    SECOND_NAMES,
    Person,
    PopulationStore,
    age_on,
    generate_population,
)
from prakerja.integrations.sandbox import Faults, SandboxApp, start_in_thread
from prakerja.registration import regions
from prakerja.registration.nik import check_nik

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60
NOT_AN_IMAGE = b"GIF89a" + b"\x00" * 60
UNKNOWN_NIK = "3201010101900009"


def category(person: Person) -> str:
    age = age_on(person.birth_date)
    if 18 <= age <= 59:
        return "18-59"
    if 60 <= age <= 70:
        return "60-70"
    if 15 <= age <= 17:
        return "15-17"
    return f"unexpected {age}"


def passes_everything(person: Person) -> bool:
    return category(person) == "18-59" and not person.deceased and person.face_ok


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return generate_population(5000, 2020)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, people: list[Person]) -> PopulationStore:
    store = PopulationStore(tmp_path_factory.mktemp("population") / "people.sqlite3")
    store.write(people)
    return store


@pytest.fixture(scope="module")
def served(store: PopulationStore) -> Iterator[tuple[SandboxApp, str]]:
    # one server for the module: stopping one waits out its half-second poll interval
    app = create_app(store)
    base_url, stop = start_in_thread(app)
    yield app, base_url
    stop()


@pytest.fixture
def sandbox(served: tuple[SandboxApp, str]) -> Iterator[tuple[SandboxApp, str]]:
    served[0].faults = Faults()
    yield served
    served[0].faults = Faults()


@pytest.fixture
def registry(sandbox: tuple[SandboxApp, str]) -> Iterator[HttpPopulationRegistry]:
    with HttpPopulationRegistry(sandbox[1], timeout=2.0) as client:
        yield client


def set_faults(base_url: str, **faults: object) -> None:
    assert httpx.post(f"{base_url}/_faults", json=faults).status_code == 200


def first(people: list[Person], **wanted: object) -> Person:
    return next(p for p in people if all(getattr(p, k) == v for k, v in wanted.items()))


# --- the generator ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_people(people):
    # given a population of 5000 generated with seed 2020
    # when it is generated again with the same size and seed
    again = generate_population(5000, 2020)
    # then every person is the same, in the same order
    assert again == people


def test_another_seed_gives_other_people(people):
    # when the population is generated with seed 2021
    other = generate_population(5000, 2021)
    # then it has as many people, but other NIKs and names
    assert len(other) == 5000
    assert other != people
    assert len({p.nik for p in other} & {p.nik for p in people}) < 100
    assert [p.full_name for p in other[:50]] != [p.full_name for p in people[:50]]


def test_sizes_zero_and_negative():
    assert generate_population(0, 1) == []
    with pytest.raises(ValueError):
        generate_population(-1, 1)


def test_every_nik_is_unique_and_passes_the_structure_check(people):
    # given 5000 generated people
    # then there are exactly 5000 distinct NIKs
    assert len(people) == 5000
    assert len({p.nik for p in people}) == 5000
    for person in people:
        # and each NIK passes check_nik with the person's birth date and encodes their region/sex
        facts = check_nik(person.nik, person.birth_date)
        assert facts.regency_code == person.regency_code
        assert facts.sex == person.sex
    # and serials count up from 0001 per district + birth date + sex prefix
    by_prefix: dict[str, list[int]] = defaultdict(list)
    for person in people:
        by_prefix[person.nik[:12]].append(int(person.nik[12:]))
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in by_prefix.values())


def test_family_cards_hold_one_to_five_people_of_one_regency(people):
    # given the people grouped by family card
    families: dict[str, list[Person]] = defaultdict(list)
    for person in people:
        families[person.kk_number].append(person)
    # then each card holds 1 to 5 people, all in one regency and one district
    assert set(Counter(len(m) for m in families.values())) == {1, 2, 3, 4, 5}
    for kk_number, members in families.items():
        assert 1 <= len(members) <= 5
        assert len({m.regency_code for m in members}) == 1
        assert {m.nik[:6] for m in members} == {kk_number[:6]}
        # and the KK number is district digits + a DDMMYY issue date + a non-zero serial
        assert re.fullmatch(r"\d{16}", kk_number)
        issued = datetime.datetime.strptime(kk_number[6:12], "%d%m%y").date()
        assert datetime.date(2005, 1, 1) <= issued <= datetime.date(2020, 3, 31)
        assert kk_number[12:] != "0000"
        assert regions.region(f"{kk_number[0:2]}.{kk_number[2:4]}.{kk_number[4:6]}") is not None


def test_ages_deaths_and_faces_come_in_the_planned_shares(people):
    # given 5000 generated people
    # then 85% are 18-59, 10% 60-70 and 5% 15-17 on 2020-04-01, and nobody else
    assert Counter(category(p) for p in people) == {"18-59": 4250, "60-70": 500, "15-17": 250}
    # and 0,5% are deceased and 3% have a face that never matches
    assert sum(p.deceased for p in people) == 25
    assert sum(not p.face_ok for p in people) == 150
    assert Counter(p.sex for p in people).keys() == {"M", "F"}
    assert 2300 <= sum(p.sex == "F" for p in people) <= 2700


def test_people_are_spread_over_regencies_by_population(people):
    # given the official population per regency
    population = regions.regency_population()
    total = sum(population.values())
    counts = Counter(p.regency_code for p in people)
    # then every regency has its proportional share of the 5000, rounded up or down
    for code, inhabitants in population.items():
        share = 5000 * inhabitants / total
        assert int(share) <= counts.get(code, 0) <= int(share) + 1, code
    # and the most populous regency (Kabupaten Bogor) leads
    assert counts.most_common(1)[0][0] == max(population, key=population.__getitem__) == "32.01"


def test_names_look_like_registry_names(people):
    # given the built-in name lists
    for names in (MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES, SECOND_NAMES):
        assert len(set(names)) == len(names) >= 60
    # then every name is upper-case letters and single spaces
    for person in people:
        assert re.fullmatch(r"[A-Z]+( [A-Z]+)*", person.full_name), person.full_name
    # and there are single names, Batak women's BR names and common given names among them
    names = [p.full_name for p in people]
    assert sum(" " not in n for n in names) > 100
    assert any(" BR " in p.full_name and p.sex == "F" for p in people)
    assert all(p.sex == "F" for p in people if " BR " in p.full_name), "only daughters carry BR"
    assert any(n.split()[-1] in FAMILY_NAMES for n in names)
    assert len(set(names)) > 2500


# --- the store -------------------------------------------------------------------------------


def test_store_round_trip(tmp_path):
    # given 300 people written to a store
    people = generate_population(300, 7)
    store = PopulationStore(tmp_path / "round-trip.sqlite3")
    store.write(people)
    # then each comes back equal by NIK, and the count is 300
    assert store.count() == 300
    assert [store.get(p.nik) for p in people] == people
    assert store.get(UNKNOWN_NIK) is None


def test_writing_again_replaces_everyone(tmp_path):
    # given a store with 300 people of seed 7
    store = PopulationStore(tmp_path / "replace.sqlite3")
    old = generate_population(300, 7)
    store.write(old)
    store.get(old[0].nik)  # leaves an idle read connection open across the write
    # when 20 people of seed 8 are written
    new = generate_population(20, 8)
    store.write(new)
    # then only the 20 are there
    assert store.count() == 20
    assert [store.get(p.nik) for p in new] == new
    gone = [p for p in old if p.nik not in {q.nik for q in new}]
    assert all(store.get(p.nik) is None for p in gone)


def test_a_missing_store_raises_and_creates_no_file(tmp_path):
    path = tmp_path / "missing.sqlite3"
    with pytest.raises(FileNotFoundError):
        PopulationStore(path).count()
    assert not path.exists()


def test_demo_people_pass_everything_and_come_from_different_families(store, people):
    # when five demo people are asked for
    chosen = store.demo_people(5)
    # then they are the first five in generation order who pass everything, one per family
    expected: list[Person] = []
    for person in people:
        if passes_everything(person) and person.kk_number not in {p.kk_number for p in expected}:
            expected.append(person)
    assert chosen == expected[:5]
    assert len({p.kk_number for p in chosen}) == 5
    assert all(passes_everything(p) for p in chosen)
    # and another store over the same file gives the same five
    assert PopulationStore(store.path).demo_people(5) == chosen


def test_failing_examples(store):
    deceased, underage = store.example_deceased(), store.example_underage()
    assert deceased is not None and deceased.deceased and deceased.face_ok
    assert 18 <= age_on(deceased.birth_date) <= 59
    assert underage is not None and not underage.deceased and underage.face_ok
    assert 15 <= age_on(underage.birth_date) <= 17


def test_the_store_reads_from_many_threads_at_once(store, people):
    # when 8 threads look up all 5000 people at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(store.get, (p.nik for p in people)))
    # then each got its person
    assert found == people
    store.close()
    assert store.get(people[0].nik) == people[0]


# --- the in-process registry -----------------------------------------------------------------


def test_in_process_lookup(store, people):
    registry = InProcessPopulationRegistry(store)
    person = people[0]
    record = registry.lookup(person.nik)
    assert record == person.record()
    assert record is not None and record.birth_date == person.birth_date
    assert registry.lookup(UNKNOWN_NIK) is None


def test_in_process_face_match(store, people):
    registry = InProcessPopulationRegistry(store)
    alive = first(people, deceased=False, face_ok=True)
    mismatch = first(people, deceased=False, face_ok=False)
    dead = first(people, deceased=True, face_ok=True)
    # a living person with a matching face and a JPEG or PNG matches, with the same score each time
    jpeg, png = registry.face_match(alive.nik, JPEG), registry.face_match(alive.nik, PNG)
    assert jpeg.matched and 0.8 <= jpeg.score < 1
    assert png == jpeg == registry.face_match(alive.nik, JPEG)
    # everything else does not, with a low score
    for nik, image in ((alive.nik, NOT_AN_IMAGE), (mismatch.nik, JPEG), (dead.nik, JPEG)):
        result = registry.face_match(nik, image)
        assert not result.matched and 0 <= result.score < 0.5
    # and an unknown NIK scores nothing
    assert registry.face_match(UNKNOWN_NIK, JPEG) == FaceResult(False, 0.0)


# --- the HTTP sandbox ------------------------------------------------------------------------


def test_lookup_over_http_finds_a_person(registry, store, people):
    person = people[3]
    assert registry.lookup(person.nik) == person.record()


def test_lookup_over_http_of_an_unknown_nik(registry, sandbox):
    assert registry.lookup(UNKNOWN_NIK) is None
    answer = httpx.post(f"{sandbox[1]}/v1/nik/lookup", json={"nik": UNKNOWN_NIK})
    assert (answer.status_code, answer.json()) == (200, {"found": False})


def test_lookup_answer_body(sandbox, people):
    person = first(people, deceased=True)
    answer = httpx.post(f"{sandbox[1]}/v1/nik/lookup", json={"nik": person.nik})
    assert answer.status_code == 200
    assert answer.json() == {
        "found": True,
        "record": {
            "nik": person.nik,
            "kk_number": person.kk_number,
            "full_name": person.full_name,
            "birth_date": person.birth_date.isoformat(),
            "sex": person.sex,
            "regency_code": person.regency_code,
            "deceased": True,
        },
    }


def test_face_match_over_http_gives_the_in_process_answer(registry, store, people):
    in_process = InProcessPopulationRegistry(store)
    alive = first(people, deceased=False, face_ok=True)
    mismatch = first(people, deceased=False, face_ok=False)
    matched = registry.face_match(alive.nik, JPEG)
    assert matched.matched is True
    assert matched == in_process.face_match(alive.nik, JPEG)
    refused = registry.face_match(mismatch.nik, PNG)
    assert refused.matched is False
    assert refused == in_process.face_match(mismatch.nik, PNG)
    assert registry.face_match(UNKNOWN_NIK, JPEG) == FaceResult(False, 0.0)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/nik/lookup", b"not json"),
        ("/v1/nik/lookup", b"[]"),
        ("/v1/nik/lookup", b'{"nik": 3201}'),
        ("/v1/face/match", b'{"nik": "3201010101900009"}'),
        ("/v1/face/match", b'{"nik": "3201010101900009", "image_base64": "***"}'),
    ],
)
def test_malformed_bodies_get_400(sandbox, path, body):
    answer = httpx.post(f"{sandbox[1]}{path}", content=body)
    assert answer.status_code == 400
    assert "error" in answer.json()


def test_a_400_reaches_the_caller_as_value_error(registry):
    with pytest.raises(ValueError, match="nik must be a string"):
        registry.lookup(None)  # type: ignore[arg-type]


def test_outage_makes_the_registry_unavailable_until_it_ends(registry, sandbox, people):
    # given the sandbox in an outage
    set_faults(sandbox[1], outage=True)
    # then lookups and face matches raise RegistryUnavailable
    with pytest.raises(RegistryUnavailable):
        registry.lookup(people[0].nik)
    with pytest.raises(RegistryUnavailable):
        registry.face_match(people[0].nik, JPEG)
    # when the outage ends, the same client works again
    set_faults(sandbox[1], outage=False)
    assert registry.lookup(people[0].nik) == people[0].record()


def test_a_hanging_registry_times_out(sandbox, people):
    # given a sandbox that holds every request for 2 seconds
    set_faults(sandbox[1], timeout_rate=1.0, hang_s=2)
    # when a client with a 0,5 s timeout asks
    started = time.monotonic()
    with (
        HttpPopulationRegistry(sandbox[1], timeout=0.5) as client,
        pytest.raises(RegistryUnavailable),
    ):
        client.lookup(people[0].nik)
    # then it gives up after its own timeout, not the sandbox's
    assert time.monotonic() - started < 1.5


def test_server_errors_make_the_registry_unavailable(registry, sandbox, people):
    set_faults(sandbox[1], error_rate=1.0)
    with pytest.raises(RegistryUnavailable):
        registry.lookup(people[0].nik)
    set_faults(sandbox[1], error_rate=0.0)
    assert registry.lookup(people[0].nik) == people[0].record()


def test_nobody_listening_makes_the_registry_unavailable():
    # given a port that nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # then a client of that address finds the registry unavailable
    with (
        HttpPopulationRegistry(f"http://127.0.0.1:{port}", timeout=0.5) as client,
        pytest.raises(RegistryUnavailable),
    ):
        client.lookup(UNKNOWN_NIK)


# --- the sandbox module contract -------------------------------------------------------------


def test_cli_options_and_defaults():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert vars(parser.parse_args([])) == {
        "size": 5000,
        "seed": 2020,
        "store": None,
        "reference_date": None,
    }
    assert vars(
        parser.parse_args(
            ["--size", "10", "--seed", "1", "--store", "x.db", "--reference-date", "2020-04-01"]
        )
    ) == {"size": 10, "seed": 1, "store": "x.db", "reference_date": datetime.date(2020, 4, 1)}


def test_build_app_generates_a_missing_store_once(tmp_path):
    # when the app is built for 300 people of seed 7 in an empty data dir
    app = build_app(
        {"size": 300, "seed": 7, "store": None, "reference_date": REFERENCE_DATE}, tmp_path
    )
    path = tmp_path / "sandbox" / "population-300-7-2020-04-01.sqlite3"
    # then the store was generated at the default place, with nothing left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == ["population-300-7-2020-04-01.sqlite3"]
    people = generate_population(300, 7)
    assert PopulationStore(path).count() == 300
    base_url, stop = start_in_thread(app)
    try:
        with HttpPopulationRegistry(base_url, timeout=2.0) as client:
            assert client.lookup(people[-1].nik) == people[-1].record()
    finally:
        stop()
    # and building it again reuses the file
    modified = path.stat().st_mtime_ns
    build_app({"size": 300, "seed": 7, "store": None}, tmp_path)
    assert path.stat().st_mtime_ns == modified


def test_build_app_uses_the_given_store(tmp_path):
    path = tmp_path / "given.sqlite3"
    PopulationStore(path).write(generate_population(40, 3))
    build_app({"size": 5000, "seed": 2020, "store": str(path)}, tmp_path)
    assert PopulationStore(path).count() == 40
    assert not (tmp_path / "sandbox").exists()


def test_prepare_demo_prints_five_people_and_two_failing_examples(tmp_path):
    # when the demo is prepared in an empty data dir
    lines = prepare_demo(tmp_path)
    # then the default store exists, ages counted from today, and five demo people are listed,
    # then two that fail
    day = sandbox_today()
    store = PopulationStore(
        tmp_path / "sandbox" / f"population-5000-2020-{day.isoformat()}.sqlite3", day
    )
    assert store.count() == 5000
    assert len(lines) == 8
    assert "people who can register" in lines[0]
    for line, person in zip(lines[1:6], store.demo_people(5), strict=True):
        assert line == (
            f"  NIK {person.nik}  {person.full_name}  birth date {person.birth_date.isoformat()}"
        )
    deceased, underage = store.example_deceased(), store.example_underage()
    assert deceased is not None and underage is not None
    assert lines[6].startswith(f"  NIK {deceased.nik}  {deceased.full_name}  birth date ")
    assert "fails: deceased" in lines[6]
    assert lines[7].startswith(f"  NIK {underage.nik}  {underage.full_name}  birth date ")
    assert age_on(underage.birth_date, day) < 18
    assert f"fails: aged {age_on(underage.birth_date, day)} / gagal" in lines[7]
    # and preparing again prints the same lines
    assert prepare_demo(tmp_path) == lines


def test_image_travels_as_base64(sandbox, people):
    alive = first(people, deceased=False, face_ok=True)
    answer = httpx.post(
        f"{sandbox[1]}/v1/face/match",
        json={"nik": alive.nik, "image_base64": base64.b64encode(PNG).decode()},
    )
    assert answer.status_code == 200
    assert answer.json()["matched"] is True
