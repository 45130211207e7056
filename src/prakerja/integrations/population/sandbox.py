"""`prakerja sandbox population`: a stand-in for the population registry (Dukcapil) as a real
HTTP service over a synthetic population (see synthetic.py).

    POST /v1/nik/lookup {"nik"}  ->  {"found": true, "record": {...}} | {"found": false}
    POST /v1/face/match {"nik", "image_base64"}  ->  {"matched", "score"}

The NIK travels in the body, never in the URL, so no proxy or access log ever records one.
"""

import argparse
import base64
import datetime
import os
import threading
from pathlib import Path
from typing import Any

from prakerja.common import clock
from prakerja.integrations.population.inprocess import InProcessPopulationRegistry
from prakerja.integrations.population.synthetic import (
    REFERENCE_DATE,
    Person,
    PopulationStore,
    age_on,
    generate_population,
)
from prakerja.integrations.sandbox import Request, Response, SandboxApp

DEFAULT_SIZE = 5000
DEFAULT_SEED = 2020
DEMO_PEOPLE = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size", type=int, default=DEFAULT_SIZE, help="People in the synthetic population."
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="Seed of the synthetic population."
    )
    parser.add_argument(
        "--reference-date",
        type=datetime.date.fromisoformat,
        default=None,
        help="Day the ages are counted on (YYYY-MM-DD); default today, so minors are minors now.",
    )
    parser.add_argument(
        "--store",
        default=None,
        help="SQLite file of the population (generated when missing); default under the data dir.",
    )


def today() -> datetime.date:
    return clock.today()


def default_store_path(
    data_dir: Path,
    size: int = DEFAULT_SIZE,
    seed: int = DEFAULT_SEED,
    reference_date: datetime.date | None = None,
) -> Path:
    day = (reference_date or today()).isoformat()
    return Path(data_dir) / "sandbox" / f"population-{size}-{seed}-{day}.sqlite3"


def ensure_store(
    path: Path, size: int, seed: int, reference_date: datetime.date = REFERENCE_DATE
) -> PopulationStore:
    """Open the store at `path`, generating it first when missing. The file is written aside and
    moved into place, so a reader (or a second process generating the same people) never sees a
    half-written one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
        PopulationStore(partial).write(generate_population(size, seed, reference_date))
        os.replace(partial, path)
    return PopulationStore(path, reference_date)


def build_app(options: dict[str, Any], data_dir: Path) -> SandboxApp:
    size = int(options.get("size") or DEFAULT_SIZE)
    seed = int(options["seed"]) if options.get("seed") is not None else DEFAULT_SEED
    day = options.get("reference_date") or today()
    path = (
        Path(options["store"])
        if options.get("store")
        else default_store_path(data_dir, size, seed, day)
    )
    return create_app(ensure_store(path, size, seed, day), seed=seed)


def create_app(store: PopulationStore, seed: int = DEFAULT_SEED) -> SandboxApp:
    registry = InProcessPopulationRegistry(store)
    app = SandboxApp("population", seed=seed)

    @app.route("POST", "/v1/nik/lookup")
    def lookup(request: Request) -> Response:
        record = registry.lookup(_field(request.json(), "nik"))
        if record is None:
            return Response.json({"found": False})
        return Response.json(
            {
                "found": True,
                "record": {
                    "nik": record.nik,
                    "kk_number": record.kk_number,
                    "full_name": record.full_name,
                    "birth_date": record.birth_date.isoformat(),
                    "sex": record.sex,
                    "regency_code": record.regency_code,
                    "deceased": record.deceased,
                },
            }
        )

    @app.route("POST", "/v1/face/match")
    def face_match(request: Request) -> Response:
        body = request.json()
        nik = _field(body, "nik")
        # binascii.Error is a ValueError, which SandboxApp answers with 400
        image = base64.b64decode(_field(body, "image_base64"), validate=True)
        result = registry.face_match(nik, image)
        return Response.json({"matched": result.matched, "score": result.score})

    return app


def prepare_demo(data_dir: Path) -> list[str]:
    day = today()
    store = ensure_store(
        default_store_path(data_dir, reference_date=day), DEFAULT_SIZE, DEFAULT_SEED, day
    )
    people = store.demo_people(DEMO_PEOPLE)
    lines = [
        "Population registry sandbox: people who can register / penduduk yang dapat mendaftar:",
        *(_person_line(person) for person in people),
    ]
    deceased = store.example_deceased()
    if deceased is not None:
        lines.append(f"{_person_line(deceased)}  (fails: deceased / gagal: meninggal)")
    underage = store.example_underage()
    if underage is not None:
        age = age_on(underage.birth_date, day)
        lines.append(f"{_person_line(underage)}  (fails: aged {age} / gagal: berusia {age} tahun)")
    return lines


def _person_line(person: Person) -> str:
    return f"  NIK {person.nik}  {person.full_name}  birth date {person.birth_date.isoformat()}"


def _field(body: Any, name: str) -> str:
    """A string field of a JSON object body; a ValueError becomes SandboxApp's 400 answer."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value
