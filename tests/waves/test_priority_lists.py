"""Imported priority lists: NIKs kept only as blind indexes, exact counts, nothing twice, and a wave
that names the list fills it first."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from prakerja.audit.models import AuditEvent
from prakerja.common.crypto import blind_index
from prakerja.common.errors import ValidationFailed
from prakerja.registration.models import Registrant
from prakerja.waves.inputs import selection_inputs
from prakerja.waves.models import PriorityEntry, WaveApplication
from prakerja.waves.priority_lists import priority_list_import
from prakerja.waves.selection import wave_select
from tests.waves.factory import OPERATOR, closed, join, nik_for, open_wave, verified

pytestmark = pytest.mark.django_db
GROUP = "phk-tekstil-2020"
SEED = "seed-of-the-wave"
VERIFY = Path(__file__).resolve().parents[2] / "tools" / "verify_selection.py"
A, B, C, D = (nik_for(n) for n in (900_001, 900_002, 900_003, 900_004))
NOT_16_DIGITS = "320101150890"
SERIAL_0000 = A[:12] + "0000"


def index(nik: str) -> str:
    return blind_index(nik, purpose="nik")


def listed(group: str = GROUP) -> set[str]:
    return set(PriorityEntry.objects.filter(group=group).values_list("nik_index", flat=True))


def csv_of(*niks: str, header: str = "nik") -> io.StringIO:
    return io.StringIO("\n".join([header, *niks]) + "\n")


def nik_of(registrant: Registrant) -> str:
    # The factory numbers registrants r<number>@contoh.id and derives the NIK from the number.
    return nik_for(int(registrant.email[1:].split("@")[0]))


def test_an_import_counts_valid_duplicate_and_invalid_niks_exactly():
    # Given D already on the list
    priority_list_import(stream=csv_of(D), group=GROUP, actor=OPERATOR)

    # When a file with three new NIKs, one repeated, one already listed and two invalid comes in
    result = priority_list_import(
        stream=csv_of(A, B, f" {A[:4]}.{A[4:]} ", C, D, NOT_16_DIGITS, SERIAL_0000),
        group=GROUP,
        actor=OPERATOR,
    )

    # Then each valid NIK is listed once, by its blind index, and the invalid ones are only counted
    assert (
        result.rows_read,
        result.rows_added,
        result.rows_duplicate,
        result.rows_rejected,
        result.rejected_reasons,
    ) == (7, 3, 2, 2, {"NIK_FORMAT": 1, "NIK_SERIAL_INVALID": 1})
    assert listed() == {index(A), index(B), index(C), index(D)}
    event = AuditEvent.objects.filter(event_type="priority_list.imported").latest("pk")
    assert (event.actor_label, event.details) == (
        OPERATOR.label,
        {
            "group": GROUP,
            "rows_read": 7,
            "rows_added": 3,
            "rows_duplicate": 2,
            "rows_rejected": 2,
            "rejected_reasons": {"NIK_FORMAT": 1, "NIK_SERIAL_INVALID": 1},
            "rejected_lines": [7, 8],
        },
    )
    stored = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    assert not any(nik in stored for nik in (A, B, C, D, NOT_16_DIGITS))


def test_a_re_import_adds_nothing_and_duplicates_across_chunks_count_once():
    niks = [nik_for(n) for n in range(910_001, 910_008)]
    first = priority_list_import(
        stream=csv_of(*niks, niks[0], niks[3]), group=GROUP, actor=OPERATOR, chunk_size=2
    )
    assert (first.rows_read, first.rows_added, first.rows_duplicate) == (9, 7, 2)

    again = priority_list_import(stream=csv_of(*niks), group=GROUP, actor=OPERATOR, chunk_size=3)

    assert (again.rows_read, again.rows_added, again.rows_duplicate, again.rows_rejected) == (
        7,
        0,
        7,
        0,
    )
    assert listed() == {index(n) for n in niks}
    assert PriorityEntry.objects.count() == 7


def test_the_same_person_may_be_on_two_lists():
    priority_list_import(stream=csv_of(A), group="list-a", actor=OPERATOR)
    result = priority_list_import(stream=csv_of(A), group="list-b", actor=OPERATOR)
    assert result.rows_added == 1
    assert listed("list-a") == listed("list-b") == {index(A)}


def test_spreadsheet_exports_are_read():
    # Semicolons (Excel in an Indonesian locale), a byte-order mark, other columns, blank lines
    stream = io.StringIO(f"\ufeffNama;No. NIK\nx;{A}\n\n;{B}\ny\n")
    result = priority_list_import(stream=stream, group=GROUP, actor=OPERATOR)
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (3, 2, 1)
    assert result.rejected_reasons == {"NIK_FORMAT": 1}


@pytest.mark.parametrize(
    ("group", "file", "problem"),
    [
        ("laid_off", f"nik\n{A}\n", {"group": "GROUP_RESERVED"}),
        ("unemployed", f"nik\n{A}\n", {"group": "GROUP_RESERVED"}),
        ("PHK Tekstil", f"nik\n{A}\n", {"group": "GROUP_NOT_SLUG"}),
        ("phk--tekstil", f"nik\n{A}\n", {"group": "GROUP_NOT_SLUG"}),
        ("", f"nik\n{A}\n", {"group": "GROUP_NOT_SLUG"}),
        ("x" * 41, f"nik\n{A}\n", {"group": "GROUP_TOO_LONG"}),
        (GROUP, "", {"file": "FILE_EMPTY"}),
        (GROUP, f"name,number\nx,{A}\n", {"file": "NIK_COLUMN_MISSING"}),
        # a quote never closed makes the rest of the file one field, beyond the csv module's limit
        (GROUP, f'nik\n{A}\n"{B}' + "\n0" * 70_000, {"file": "CSV_INVALID"}),
    ],
)
def test_refused_input_has_a_code_per_field_and_stores_nothing(group, file, problem):
    with pytest.raises(ValidationFailed) as refused:
        priority_list_import(stream=io.StringIO(file), group=group, actor=OPERATOR)
    assert refused.value.details == problem
    assert (PriorityEntry.objects.count(), AuditEvent.objects.count()) == (0, 0)


def test_a_wave_naming_the_list_selects_listed_applicants_first(tmp_path):
    # Given a list imported before the wave (so the wave may name it) and one more name added
    # after its applicants joined
    people = verified(20)
    early, late = people[3:5], people[11]
    priority_list_import(stream=csv_of(*map(nik_of, early)), group=GROUP, actor=OPERATOR)
    wave = open_wave(quota=3, priority_order=[GROUP])
    join(wave, people)
    priority_list_import(stream=csv_of(nik_of(late)), group=GROUP, actor=OPERATOR)

    # When the wave is drawn
    result = wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)

    # Then the three listed people are the three selected, and the published inputs verify
    listed_people = {*(r.pk for r in early), late.pk}
    selected = set(
        WaveApplication.objects.filter(wave=wave, outcome="selected").values_list(
            "registrant_id", flat=True
        )
    )
    assert (result.selected, selected) == (3, listed_people)
    priorities = dict(
        WaveApplication.objects.filter(wave=wave).values_list("registrant_id", "priority")
    )
    assert {pk for pk, group in priorities.items() if group == GROUP} == listed_people
    (tmp_path / "inputs.json").write_text(json.dumps(selection_inputs(result.wave)))
    done = subprocess.run(
        [sys.executable, str(VERIFY), str(tmp_path / "inputs.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("MATCH")


# --- the command line ----------------------------------------------------------------------------


def test_the_command_imports_and_reports_counts(tmp_path, capsys):
    path = tmp_path / "phk.csv"
    path.write_text(f"nik\n{A}\n{B}\n{A}\n{NOT_16_DIGITS}\n", encoding="utf-8")

    call_command("waves", "priority-import", GROUP, str(path))
    call_command("waves", "priority-import", GROUP, str(path))

    assert capsys.readouterr().out.splitlines() == [
        f"priority list {GROUP} from phk.csv: 4 rows read, 2 added, 1 already listed, "
        "1 rejected (NIK_FORMAT 1)",
        f"priority list {GROUP} from phk.csv: 4 rows read, 0 added, 3 already listed, "
        "1 rejected (NIK_FORMAT 1)",
    ]
    assert listed() == {index(A), index(B)}
    event = AuditEvent.objects.filter(event_type="priority_list.imported").first()
    assert event is not None and event.actor_label == "system:cli.waves-priority-import"


def test_the_command_refuses_a_reserved_group_and_a_missing_file(tmp_path):
    path = tmp_path / "phk.csv"
    path.write_text(f"nik\n{A}\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"VALIDATION_FAILED \(group: GROUP_RESERVED\)"):
        call_command("waves", "priority-import", "laid_off", str(path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("waves", "priority-import", GROUP, str(tmp_path / "absent.csv"))
    assert (PriorityEntry.objects.count(), AuditEvent.objects.count()) == (0, 0)
