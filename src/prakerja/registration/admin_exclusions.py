"""Back office for exclusion lists: the imports done so far, an upload page, and the entries, which
are found only by typing a NIK (its blind index is looked up; NIKs are never stored or shown)."""

import io
from functools import cache
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template import engines
from django.template.backends.base import BaseEngine
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.errors import ValidationFailed
from prakerja.registration.exclusions import exclusion_list_import
from prakerja.registration.models import ExclusionEntry, ExclusionImport

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a national list of ~4 million NIKs with its columns
UPLOAD_TEMPLATE = "admin/registration/exclusionimport/upload.html"


class ExclusionUploadForm(forms.Form):
    file = forms.FileField(
        label="Berkas CSV / CSV file",
        help_text="Baris judul: nik, dan boleh category, source, date (YYYY-MM-DD atau "
        "DD/MM/YYYY). / Header row: nik, and optionally category, source, date.",
    )
    category = forms.CharField(
        label="Kategori / Category",
        max_length=ExclusionEntry._meta.get_field("category").max_length,
        required=False,
        help_text="Mis. bansos, pns, dprd, perangkat-desa. Kosongkan jika berkas punya kolom "
        "category. / Leave empty if the file has a category column.",
    )
    source = forms.CharField(
        label="Sumber / Source",
        max_length=ExclusionEntry._meta.get_field("source").max_length,
        required=False,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError("Hanya berkas .csv. / Only .csv files.")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("Berkas melebihi 200 MB. / The file exceeds 200 MB.")
        return upload


@cache
def _changelist_with_upload_link() -> Any:
    # Built from a string so the link needs no template file of its own beside upload.html.
    engine: BaseEngine = engines["django"]
    return engine.from_string(
        '{% extends "admin/change_list.html" %}{% block object-tools-items %}'
        '<li><a href="{{ upload_url }}" class="addlink">Impor daftar / Import a list</a></li>'
        "{{ block.super }}{% endblock %}"
    )


@admin.register(ExclusionImport)
class ExclusionImportAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "category",
        "source",
        "file_name",
        "rows_read",
        "rows_added",
        "rows_rejected",
        "actor",
        "started_at",
        "finished_at",
    )
    list_filter = ("category",)
    search_fields = ("file_name", "category", "source")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name=f"{opts.app_label}_{opts.model_name}_upload",
        )
        return [upload, *super().get_urls()]

    def may_upload(self, request: HttpRequest) -> bool:
        # The model admin refuses "add" (imports are records), so ask the permission itself.
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and self.may_upload(request):
            response.template_name = _changelist_with_upload_link()
            response.context_data = {
                **(response.context_data or {}),
                "upload_url": reverse("admin:registration_exclusionimport_upload"),
            }
        return response

    def upload_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.may_upload(request):
            raise PermissionDenied
        form = ExclusionUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            # errors="replace": a stray byte then fails its row's NIK check, not the whole file.
            stream = io.TextIOWrapper(
                upload.file, encoding="utf-8-sig", errors="replace", newline=""
            )
            try:
                result = exclusion_list_import(
                    stream=stream,
                    file_name=upload.name,
                    category=form.cleaned_data["category"] or None,
                    source=form.cleaned_data["source"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationFailed as error:
                for field, problem in error.details.items():
                    messages.error(request, f"{error.message()} {field}: {problem}")
            else:
                messages.success(
                    request,
                    f"Diimpor / imported {result.file_name}: {result.rows_read} baris dibaca / "
                    f"rows read, {result.rows_added} ditambahkan / added, "
                    f"{result.rows_rejected} ditolak / rejected.",
                )
                return HttpResponseRedirect(
                    reverse("admin:registration_exclusionimport_changelist")
                )
            finally:
                stream.detach()  # the upload handler closes its own file
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Impor daftar pengecualian / Import an exclusion list",
            "form": form,
            "max_megabytes": MAX_UPLOAD_BYTES // (1024 * 1024),
        }
        return TemplateResponse(request, UPLOAD_TEMPLATE, context)


@admin.register(ExclusionEntry)
class ExclusionEntryAdmin(ReadOnlyAdmin):
    list_display = ("short_index", "category", "source", "listed_on", "list_import")
    list_filter = ("category",)
    list_select_related = ("list_import",)
    search_fields = ("=nik_index",)
    search_help_text = "Ketik NIK (16 digit) / Type a NIK (16 digits)."
    show_full_result_count = False  # lists hold millions of rows; one COUNT per page is enough
    ordering = ("-id",)

    @admin.display(description="NIK index")
    def short_index(self, entry: ExclusionEntry) -> str:
        return f"{entry.nik_index[:12]}…"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ExclusionEntry], search_term: str
    ) -> tuple[QuerySet[ExclusionEntry], bool]:
        # Only an exact blind index: the admin's search travels in the URL (and access logs), where a
        # NIK must never be. Looking a person up by NIK is the console's POST form.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(nik_index=term.lower()), False
