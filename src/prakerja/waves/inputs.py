"""The published inputs of a drawn wave, in the format `tools/verify_selection.py` reads.

Streamed: a national wave has millions of applications, so the JSON is written a chunk at a time and
never held in memory. Families appear only as tokens keyed per wave: the same family card gives
different tokens in different waves, and no token leads back to a family card number.
"""

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from prakerja.common.crypto import blind_index
from prakerja.common.errors import Conflict
from prakerja.registration.models import Registrant
from prakerja.waves.models import ApplicationOutcome, Participant, Wave, WaveApplication, WaveStatus
from prakerja.waves.selection import family_of

APPS = WaveApplication._meta.db_table
REG = Registrant._meta.db_table
PART = Participant._meta.db_table
WAVES = Wave._meta.db_table
FETCH = 10_000


class WaveNotDrawn(Conflict):
    code = "WAVE_NOT_DRAWN"
    message_id = "Gelombang ini belum diseleksi, jadi belum ada data seleksi yang diumumkan."
    message_en = "This wave has not been drawn yet, so there are no selection inputs to publish."


def family_token(wave: Wave, family: str) -> str:
    key = blind_index(f"wave-family:{wave.pk}", purpose="family").encode()
    return hmac.new(key, family.encode(), hashlib.sha256).hexdigest()[:16]


def selection_inputs_chunks(wave: Wave) -> Iterator[str]:
    """inputs.json of a drawn wave, as text chunks. Refuses a wave not drawn at once, before the
    first chunk is asked for, so a caller can answer with an error instead of half a file."""
    if wave.status not in (WaveStatus.SELECTED, WaveStatus.ANNOUNCED) or not wave.seed:
        raise WaveNotDrawn(details={"wave": wave.number, "status": wave.status})
    return _chunks(wave)


def _chunks(wave: Wave) -> Iterator[str]:
    head = {
        "wave": wave.number,
        "seed": wave.seed,
        "commitment": wave.seed_commitment,
        "quota": wave.quota + wave.quota_freed,
        "max_per_family": wave.scheme.max_participants_per_family,
        "priority_order": list(wave.priority_order),
        "province_quotas": {k: int(v) for k, v in sorted(wave.province_quotas.items())},
    }
    yield json.dumps(head)[:-1] + ', "applications": ['
    first = True
    # A server-side cursor on PostgreSQL: rows arrive FETCH at a time, never the whole wave at once.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.province_code, a.priority, r.kk_index, r.id FROM {APPS} a "  # noqa: S608
            f"JOIN {REG} r ON r.id = a.registrant_id WHERE a.wave_id = %s AND a.outcome <> %s "
            "ORDER BY a.id",
            [wave.pk, ApplicationOutcome.INELIGIBLE],
        )
        while rows := cursor.fetchmany(FETCH):
            parts = []
            for application_id, province, priority, kk_index, registrant_id in rows:
                parts.append(
                    json.dumps(
                        {
                            "id": application_id,
                            "province": province,
                            "priority": priority or None,
                            "family": family_token(wave, family_of(kk_index, registrant_id)),
                        }
                    )
                )
            yield ("" if first else ", ") + ", ".join(parts)
            first = False
    yield '], "family_used": ' + json.dumps(_family_used_tokens(wave))
    selected = list(
        WaveApplication.objects.filter(wave=wave, outcome=ApplicationOutcome.SELECTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    yield ', "selected": ' + json.dumps(selected) + "}\n"


def _family_used_tokens(wave: Wave) -> dict[str, int]:
    """Participants drawn before this wave, per family of this wave's applicants."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.kk_index, count(*) FROM {PART} p "  # noqa: S608 - model constants
            f"JOIN {REG} r ON r.id = p.registrant_id JOIN {WAVES} w ON w.id = p.wave_id "
            "WHERE w.selected_at < %s AND r.kk_index <> '' AND r.kk_index IN ("
            f"SELECT r2.kk_index FROM {APPS} a JOIN {REG} r2 ON r2.id = a.registrant_id "
            "WHERE a.wave_id = %s) GROUP BY r.kk_index",
            [connection.ops.adapt_datetimefield_value(wave.selected_at), wave.pk],
        )
        rows: list[tuple[str, int]] = cursor.fetchall()
    return {family_token(wave, kk): n for kk, n in sorted(rows)}


def selection_inputs(wave: Wave) -> dict[str, Any]:
    """The whole document, for tests and small waves."""
    return dict(json.loads("".join(selection_inputs_chunks(wave))))
