"""A dashboard's table as CSV or XLSX: the same rows and numbers as the page (rupiah as whole
integers, percentages with one decimal), the total last."""

import csv
import io

from django.http import HttpResponse
from openpyxl import Workbook

from prakerja.dashboards.reports import Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.label for column in table.columns])
    writer.writerows(table.all_rows())
    return out.getvalue()


def table_xlsx(table: Table, *, sheet: str) -> bytes:
    book = Workbook(write_only=True)
    page = book.create_sheet(title=sheet[:31])
    page.append([column.label for column in table.columns])
    for row in table.all_rows():
        page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_response(table: Table, *, export: str, filename: str, sheet: str) -> HttpResponse:
    if export == "xlsx":
        response = HttpResponse(table_xlsx(table, sheet=sheet), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    else:
        response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
