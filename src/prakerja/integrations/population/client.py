"""The population registry over HTTP: what production and the demo use (see the sandbox for the
routes). NIKs travel only in request bodies, never in URLs, so no access log ever holds one."""

import base64
import datetime
from typing import Any

from prakerja.integrations.http_client import HttpClient
from prakerja.integrations.population.records import FaceResult, RegistryRecord, RegistryUnavailable


class HttpPopulationRegistry(HttpClient):
    label = "registry"

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(base_url, timeout=timeout)

    def lookup(self, nik: str) -> RegistryRecord | None:
        body = self._post("/v1/nik/lookup", {"nik": nik})
        try:
            if not body["found"]:
                return None
            record = body["record"]
            return RegistryRecord(
                nik=str(record["nik"]),
                kk_number=str(record["kk_number"]),
                full_name=str(record["full_name"]),
                birth_date=datetime.date.fromisoformat(record["birth_date"]),
                sex=str(record["sex"]),
                regency_code=str(record["regency_code"]),
                deceased=bool(record["deceased"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise RegistryUnavailable(f"unreadable answer from the registry: {error}") from error

    def face_match(self, nik: str, image: bytes) -> FaceResult:
        body = self._post(
            "/v1/face/match",
            {"nik": nik, "image_base64": base64.b64encode(image).decode("ascii")},
        )
        try:
            return FaceResult(bool(body["matched"]), float(body["score"]))
        except (KeyError, TypeError, ValueError) as error:
            raise RegistryUnavailable(f"unreadable answer from the registry: {error}") from error

    def _post(self, path: str, payload: dict[str, str]) -> Any:
        response = self._request("POST", path, payload, unreachable=RegistryUnavailable)
        self._answer_checked(response, unavailable=RegistryUnavailable)
        if response.status_code != 200:
            raise RegistryUnavailable(f"registry answered {response.status_code}")
        return self._json(response, unreadable=RegistryUnavailable)
