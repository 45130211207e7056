"""The population registry without HTTP: reads a `PopulationStore` directly. Unit tests and the
registration benchmark use it; the HTTP sandbox answers through it too, so both give the same
answers for the same store."""

import hashlib

from prakerja.integrations.population import FaceResult, RegistryRecord
from prakerja.integrations.population.synthetic import Person, PopulationStore

IMAGE_SIGNATURES = (b"\xff\xd8", b"\x89PNG")  # JPEG, PNG
MATCHED_SCORES = (0.8, 0.99)
UNMATCHED_SCORES = (0.0, 0.49)


def looks_like_image(image: bytes) -> bool:
    return image.startswith(IMAGE_SIGNATURES)


def face_verdict(person: Person | None, image: bytes) -> FaceResult:
    """The sandbox's stand-in for a face comparison: a person the generator marked face_ok, alive,
    with something that is at least an image, matches. The score comes from the NIK, so the same
    person always scores the same and tests can assert it."""
    if person is None:
        return FaceResult(False, 0.0)
    digest = hashlib.sha256(person.nik.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    matched = not person.deceased and person.face_ok and looks_like_image(image)
    low, high = MATCHED_SCORES if matched else UNMATCHED_SCORES
    return FaceResult(matched, round(low + (high - low) * fraction, 4))


class InProcessPopulationRegistry:
    def __init__(self, store: PopulationStore) -> None:
        self.store = store

    def lookup(self, nik: str) -> RegistryRecord | None:
        person = self.store.get(nik)
        return person.record() if person else None

    def face_match(self, nik: str, image: bytes) -> FaceResult:
        return face_verdict(self.store.get(nik), image)
