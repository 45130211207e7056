import datetime
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import NoReverseMatch, clear_url_caches, reverse

import prakerja.registration.admin_exclusions  # noqa: F401 - registers the admins, as admin.py will
from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.crypto import blind_index
from prakerja.common.errors import ValidationFailed
from prakerja.registration.exclusions import (
    excluded_indexes,
    exclusion_categories_for,
    exclusion_list_import,
)
from prakerja.registration.models import ExclusionEntry, ExclusionImport
from prakerja.registration.nik import make_nik
from tests.operators import operator_login

A = make_nik("32.01.01", datetime.date(1990, 8, 15), "M", 1)  # 3201011508900001
B = make_nik("32.01.01", datetime.date(1992, 3, 2), "F", 7)  # 3201014203920007
C = make_nik("32.01.02", datetime.date(1985, 12, 31), "M", 12)  # 3201023112850012
BAD_FORMAT = "12345"
BAD_REGION = "9901011508900001"
BAD_DATE = "3201013213900001"
BAD_SERIAL = "3201011508900000"


def idx(nik: str) -> str:
    return blind_index(nik, purpose="nik")


def entries() -> set[tuple[str, str, str, datetime.date | None]]:
    return set(ExclusionEntry.objects.values_list("nik_index", "category", "source", "listed_on"))


def run_import(
    text: str, *, category: str | None = None, source: str = "", chunk_size: int = 50_000
) -> ExclusionImport:
    return exclusion_list_import(
        stream=io.StringIO(text),
        file_name="list.csv",
        category=category,
        source=source,
        actor=Actor.system("tests"),
        chunk_size=chunk_size,
    )


def nothing_written() -> bool:
    return (
        ExclusionImport.objects.count(),
        ExclusionEntry.objects.count(),
        AuditEvent.objects.filter(event_type="exclusions.imported").count(),
    ) == (0, 0, 0)


# --- the service ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, sep",
    [
        ("nik,category,source,date", ","),
        ("NIK , Category , Source , Date", ","),
        ("\ufeffNo. NIK;Kategori;Sumber;Tanggal", ";"),
    ],
)
def test_a_list_is_imported_with_its_columns_and_both_date_formats(db, header, sep):
    # given a list with a header variant, both date formats, a NIK typed with dots and a blank line
    rows = [
        [A, "bansos", "Kemensos", "2024-01-15"],
        ["3201.0142.0392.0007", "bansos", "Kemensos", "02/03/2024"],
        [],
        [C, "pns", "BKN", ""],
    ]
    text = header + "\n" + "\n".join(sep.join(row) for row in rows) + "\n"

    # when it is imported
    result = run_import(text)

    # then three rows are read and added, none rejected, and only blind indexes are stored
    result.refresh_from_db()
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (3, 3, 0)
    assert (result.category, result.source, result.file_name) == (
        "bansos, pns",
        "BKN, Kemensos",
        "list.csv",
    )
    assert result.actor == "system:tests"
    assert result.finished_at is not None
    assert entries() == {
        (idx(A), "bansos", "Kemensos", datetime.date(2024, 1, 15)),
        (idx(B), "bansos", "Kemensos", datetime.date(2024, 3, 2)),
        (idx(C), "pns", "BKN", None),
    }
    assert set(ExclusionEntry.objects.values_list("list_import_id", flat=True)) == {result.pk}


def test_the_category_argument_overrides_and_fills_the_column(db):
    # given rows with a category, and one without
    text = f"nik,category\n{A},pns\n{B},\n"

    # when imported with a category given
    result = run_import(text, category="dprd", source="KPU")

    # then every row is listed under the given category and source
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (2, 2, 0)
    assert (result.category, result.source) == ("dprd", "KPU")
    assert entries() == {(idx(A), "dprd", "KPU", None), (idx(B), "dprd", "KPU", None)}


def test_a_row_without_a_category_is_rejected_when_none_is_given(db):
    # given a file whose second row has no category
    text = f"nik,category\n{A},pns\n{B},\n"

    # when imported without a category argument
    result = run_import(text)

    # then that row is rejected as CATEGORY_MISSING and not stored
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (2, 1, 1)
    assert entries() == {(idx(A), "pns", "", None)}
    event = AuditEvent.objects.get(event_type="exclusions.imported")
    assert event.details["rejected_lines"] == [{"line": 3, "reason": "CATEGORY_MISSING"}]


def test_duplicates_in_the_file_and_on_re_import_are_added_once(db):
    # given a file listing A twice and B once
    text = f"nik\n{A}\n{B}\n{A}\n"

    # when it is imported twice
    first = run_import(text, category="bansos")
    second = run_import(text, category="bansos")

    # then the first adds two and the second adds nothing
    assert (first.rows_read, first.rows_added, first.rows_rejected) == (3, 2, 0)
    assert (second.rows_read, second.rows_added, second.rows_rejected) == (3, 0, 0)
    assert entries() == {(idx(A), "bansos", "", None), (idx(B), "bansos", "", None)}
    # entries keep the import that first listed them
    assert set(ExclusionEntry.objects.values_list("list_import_id", flat=True)) == {first.pk}

    # and the same NIK on a list of another category is added there
    third = run_import(f"nik\n{A}\n", category="pns")
    assert third.rows_added == 1
    assert ExclusionEntry.objects.count() == 3


def test_invalid_niks_dates_and_long_values_are_rejected_and_never_stored(db):
    # given a file of one valid row and rows with each kind of problem
    text = "\n".join(
        [
            "nik,category,date",
            f"{A},bansos,2024-01-15",
            f"{BAD_FORMAT},bansos,",
            f"{BAD_REGION},bansos,",
            f"{BAD_DATE},bansos,",
            f"{BAD_SERIAL},bansos,",
            ",bansos,",
            f"{B},bansos,2024-13-01",
            f"{B},bansos,15-01-2024",
            f"{C},{'x' * 41},",
        ]
    )

    # when imported
    result = run_import(text)

    # then only the valid row is stored and each rejection names its line and reason
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (9, 1, 8)
    assert entries() == {(idx(A), "bansos", "", datetime.date(2024, 1, 15))}
    event = AuditEvent.objects.get(event_type="exclusions.imported")
    assert event.details["rejected_lines"] == [
        {"line": 3, "reason": "NIK_FORMAT"},
        {"line": 4, "reason": "NIK_REGION_UNKNOWN"},
        {"line": 5, "reason": "NIK_BIRTH_DATE_INVALID"},
        {"line": 6, "reason": "NIK_SERIAL_INVALID"},
        {"line": 7, "reason": "NIK_FORMAT"},
        {"line": 8, "reason": "DATE_INVALID"},
        {"line": 9, "reason": "DATE_INVALID"},
        {"line": 10, "reason": "CATEGORY_TOO_LONG"},
    ]


def test_only_the_first_twenty_rejected_lines_are_kept_in_the_audit_event(db):
    # given 25 invalid rows after one valid row
    text = "nik\n" + A + "\n" + "\n".join(BAD_FORMAT for _ in range(25)) + "\n"

    # when imported
    result = run_import(text, category="bansos")

    # then all 25 are counted and the first 20 are named
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (26, 1, 25)
    details = AuditEvent.objects.get(event_type="exclusions.imported").details
    assert [item["line"] for item in details["rejected_lines"]] == list(range(3, 23))


@pytest.mark.parametrize(
    "text, category, problem",
    [
        (f"id,category\n{A},pns\n", "pns", "file"),
        (f"\n{A}\n", "pns", "file"),
        ("", "pns", "file"),
        (f"nik,source\n{A},BKN\n", None, "category"),
        (f"nik\n{A}\n", "x" * 41, "category"),
    ],
    ids=["no-nik-column", "blank-header", "empty-file", "no-category-anywhere", "long-category"],
)
def test_a_file_that_cannot_be_imported_writes_nothing(db, text, category, problem):
    # given a file without a nik column or without any category
    # when it is imported, then it is refused before anything is written
    with pytest.raises(ValidationFailed) as refused:
        run_import(text, category=category)
    assert list(refused.value.details) == [problem]
    assert nothing_written()


def test_lookups_return_the_categories_of_listed_niks(db):
    # given A on two lists and B on one
    run_import(f"nik,category\n{A},pns\n{A},bansos\n{B},dprd\n")

    # when looked up, then each listed NIK gives its sorted categories, others nothing
    assert exclusion_categories_for(idx(A)) == ["bansos", "pns"]
    assert exclusion_categories_for(idx(B)) == ["dprd"]
    assert exclusion_categories_for(idx(C)) == []
    assert excluded_indexes([idx(A), idx(B), idx(C), idx(A)]) == {
        idx(A): ["bansos", "pns"],
        idx(B): ["dprd"],
    }
    assert excluded_indexes([]) == {}


def test_a_list_imported_later_is_found_by_later_checks(db):
    # given A checked before any list
    assert excluded_indexes([idx(A)]) == {}

    # when a list with A is imported, then the next check finds it
    run_import(f"nik\n{A}\n", category="perangkat-desa")
    assert excluded_indexes([idx(A)]) == {idx(A): ["perangkat-desa"]}


def test_the_import_is_audited_with_counts_and_without_niks(db):
    # given a list of two valid NIKs and one invalid
    text = f"nik\n{A}\n{B}\n{BAD_REGION}\n"

    # when imported
    result = run_import(text, category="bansos", source="Kemensos DTKS")

    # then one audit event records who, the counts, category and file name, and no NIK
    event = AuditEvent.objects.get(event_type="exclusions.imported")
    assert (event.actor_kind, event.actor_label) == ("system", "system:tests")
    assert (event.subject_type, event.subject_id) == (
        "registration.exclusionimport",
        str(result.pk),
    )
    assert event.details == {
        "file_name": "list.csv",
        "category": "bansos",
        "categories": ["bansos"],
        "source": "Kemensos DTKS",
        "rows_read": 3,
        "rows_added": 2,
        "rows_rejected": 1,
        "rejected_lines": [{"line": 4, "reason": "NIK_REGION_UNKNOWN"}],
    }
    dumped = json.dumps(event.details)
    for nik in (A, B, BAD_REGION):
        assert nik not in dumped
        assert idx(nik) not in dumped


def test_small_chunks_give_the_same_result_as_one_chunk(db):
    # given ten rows: eight distinct valid NIKs, one repeat and one invalid
    niks = [make_nik("32.01.01", datetime.date(1990, 1, day), "M", 1) for day in range(1, 9)]
    rows = [*niks[:5], niks[0], BAD_FORMAT, *niks[5:]]
    text = "nik\n" + "\n".join(rows) + "\n"
    steps: list[int] = []

    # when imported in chunks of three, then again in one chunk under another category
    small = exclusion_list_import(
        stream=io.StringIO(text),
        file_name="list.csv",
        category="a",
        actor=Actor.system("tests"),
        chunk_size=3,
        progress=steps.append,
    )
    whole = run_import(text, category="b")

    # then both read, add and reject the same, and progress counted every row
    assert (small.rows_read, small.rows_added, small.rows_rejected) == (10, 8, 1)
    assert (whole.rows_read, whole.rows_added, whole.rows_rejected) == (10, 8, 1)
    assert set(ExclusionEntry.objects.filter(category="a").values_list("nik_index", flat=True)) == {
        idx(nik) for nik in niks
    }
    assert set(ExclusionEntry.objects.filter(category="b").values_list("nik_index", flat=True)) == {
        idx(nik) for nik in niks
    }
    assert steps == [3, 3, 4]
    assert sum(steps) == 10


# --- the command ---------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_prints_a_summary(db, tmp_path):
    # given a CSV file on disk
    path = tmp_path / "pns.csv"
    path.write_text(f"nik,source\n{A},BKN\n{A},BKN\n{BAD_SERIAL},BKN\n{B},BKN\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    # when `prakerja exclusions import FILE --category pns` runs
    call_command("exclusions", "import", str(path), "--category", "pns", stdout=out, stderr=err)

    # then it prints the counts and the entries are there
    assert out.getvalue().strip().splitlines()[-1] == (
        f"imported {path}: 4 rows read, 2 added, 1 rejected"
    )
    assert entries() == {(idx(A), "pns", "BKN", None), (idx(B), "pns", "BKN", None)}
    result = ExclusionImport.objects.get()
    assert (result.file_name, result.actor) == ("pns.csv", "system:cli.exclusions-import")


def test_the_command_refuses_a_file_without_a_nik_column(db, tmp_path):
    # given a CSV without a nik column
    path = tmp_path / "wrong.csv"
    path.write_text(f"ktp,category\n{A},pns\n", encoding="utf-8")

    # when imported, then the command fails with a clear message and nothing is written
    with pytest.raises(CommandError, match=r"cannot import .*wrong\.csv: file: .*no nik column"):
        call_command("exclusions", "import", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert nothing_written()


def test_the_command_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("exclusions", "import", str(tmp_path / "absent.csv"), "--category", "pns")
    assert nothing_written()


# --- the admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_urls() -> None:
    """The integrator imports admin_exclusions from registration/admin.py; until then the URLconf
    may have been built before this module registered its admins, so rebuild it if needed."""
    try:
        reverse("admin:registration_exclusionimport_upload")
    except NoReverseMatch:
        import prakerja.config.urls

        importlib.reload(prakerja.config.urls)
        clear_url_caches()


@pytest.mark.parametrize("memory_limit", [2_621_440, 0], ids=["in-memory", "temporary-file"])
def test_an_operator_uploads_a_list_in_the_admin(
    admin_client, admin_user, admin_urls, settings, memory_limit
):
    # given the upload page (uploads are kept in memory or, when large, in a temporary file)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = memory_limit
    url = reverse("admin:registration_exclusionimport_upload")
    assert admin_client.get(url).status_code == 200
    upload = SimpleUploadedFile(
        "bansos.csv", f"nik,date\n{A},15/01/2024\n{B},\n{BAD_FORMAT},\n".encode(), "text/csv"
    )

    # when an operator uploads a CSV with a category
    response = admin_client.post(
        url, {"file": upload, "category": "bansos", "source": "Kemensos"}, follow=True
    )

    # then the import is done as that user and the result is shown
    assert response.redirect_chain[-1][0] == reverse(
        "admin:registration_exclusionimport_changelist"
    )
    result = ExclusionImport.objects.get()
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (3, 2, 1)
    assert (result.category, result.source, result.file_name) == (
        "bansos",
        "Kemensos",
        "bansos.csv",
    )
    assert result.actor == f"user:{admin_user.get_username()}"
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        "Diimpor / imported bansos.csv: 3 baris dibaca / rows read, 2 ditambahkan / added, "
        "1 ditolak / rejected."
    ]
    assert entries() == {
        (idx(A), "bansos", "Kemensos", datetime.date(2024, 1, 15)),
        (idx(B), "bansos", "Kemensos", None),
    }
    event = AuditEvent.objects.get(event_type="exclusions.imported")
    assert (event.actor_kind, event.actor_id) == ("user", admin_user.pk)
    # and the list of imports links to the upload page
    assert url in admin_client.get(reverse("admin:registration_exclusionimport_changelist")).text


@pytest.mark.parametrize("name", ["bansos.txt", "bansos.xlsx", "bansos"])
def test_the_admin_refuses_a_file_that_is_not_csv(admin_client, admin_urls, name):
    # given a file with another extension
    upload = SimpleUploadedFile(name, f"nik\n{A}\n".encode(), "text/plain")

    # when uploaded, then the form shows the error and nothing is written
    response = admin_client.post(
        reverse("admin:registration_exclusionimport_upload"),
        {"file": upload, "category": "bansos"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["Hanya berkas .csv. / Only .csv files."]}
    assert nothing_written()


def test_the_admin_refuses_a_file_over_the_size_limit(admin_client, admin_urls, monkeypatch):
    # given a limit smaller than the file (the real one is 200 MB)
    monkeypatch.setattr("prakerja.registration.admin_exclusions.MAX_UPLOAD_BYTES", 10)
    upload = SimpleUploadedFile("list.csv", f"nik\n{A}\n".encode(), "text/csv")

    # when uploaded, then the form refuses it and nothing is written
    response = admin_client.post(
        reverse("admin:registration_exclusionimport_upload"), {"file": upload, "category": "pns"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "file": ["Berkas melebihi 200 MB. / The file exceeds 200 MB."]
    }
    assert nothing_written()


def test_the_admin_shows_a_refused_file_as_an_error(admin_client, admin_urls):
    # given a CSV without a nik column
    upload = SimpleUploadedFile("list.csv", f"ktp\n{A}\n".encode(), "text/csv")

    # when uploaded, then the page says why and nothing is written
    response = admin_client.post(
        reverse("admin:registration_exclusionimport_upload"), {"file": upload, "category": "pns"}
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 1
    assert "no nik column" in shown[0]
    assert nothing_written()


def test_imports_cannot_be_added_or_changed_through_the_admin(admin_client, admin_urls):
    # given one import
    result = run_import(f"nik\n{A}\n", category="pns")

    # then the plain add page is refused and the change page only shows it
    assert admin_client.get(reverse("admin:registration_exclusionimport_add")).status_code == 403
    change = reverse("admin:registration_exclusionimport_change", args=[result.pk])
    response = admin_client.post(change, {"category": "other"})
    assert response.status_code == 403
    assert ExclusionImport.objects.get().category == "pns"


def test_a_user_without_permission_cannot_upload(client, django_user_model, admin_urls):
    # given a staff user without the exclusion permissions
    user = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    operator_login(client, user)
    upload = SimpleUploadedFile("list.csv", f"nik\n{A}\n".encode(), "text/csv")

    # when they post a list, then it is refused and nothing is written
    response = client.post(
        reverse("admin:registration_exclusionimport_upload"), {"file": upload, "category": "pns"}
    )
    assert response.status_code == 403
    assert nothing_written()


def test_the_entry_admin_searches_by_blind_index_only_never_by_nik(admin_client, admin_urls):
    # given A and B listed
    run_import(f"nik\n{A}\n{B}\n", category="pns")
    url = reverse("admin:registration_exclusionentry_changelist")

    # when an operator pastes A's blind index, or types A's NIK (which would land in the URL)
    found = admin_client.get(url, {"q": idx(A)})
    by_nik = admin_client.get(url, {"q": A})

    # then the index finds A's entry and the NIK finds nothing: look-ups by NIK are the console's
    assert list(found.context["cl"].result_list) == [ExclusionEntry.objects.get(nik_index=idx(A))]
    assert list(by_nik.context["cl"].result_list) == []
    assert A not in found.text


# --- the benchmark -------------------------------------------------------------------------------


def test_the_bench_imports_n_rows_and_prints_the_contract_line(tmp_path: Path):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "exclusions", "--n", "500"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["bench"], result["n"], result["rows_added"]) == ("exclusions", 500, 500)
    assert result["seconds"] > 0
    assert result["limit_seconds"] > 0
    assert not list(tmp_path.glob("bench-*.sqlite3"))
