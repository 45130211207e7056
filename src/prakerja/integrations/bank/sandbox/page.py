"""The page at `/`: the latest transfers."""

import html

from prakerja.common.money import format_rupiah
from prakerja.integrations.bank.sandbox.app import BankSandboxApp
from prakerja.integrations.bank.sandbox.records import Transfer

_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>{title}</title>
<style>
body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; }}
header {{ background: #0b5cab; color: #fff; padding: 12px 16px; }}
h1 {{ font-size: 1.25rem; margin: 0; }}
main {{ max-width: 60rem; margin: 0 auto; padding: 16px; }}
.note {{ background: #fff4ce; border-radius: 8px; padding: 8px 12px; }}
.scroll {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ text-align: left; padding: 6px 8px; border-bottom: 1px solid #d5dbe3; }}
td.amount {{ text-align: right; white-space: nowrap; }}
.failed {{ color: #a4262c; }}
</style>
</head>
<body>
<header><h1>{title}</h1></header>
<main>
<p class="note">Ini sandbox: tidak ada uang yang benar-benar dikirim. Halaman diperbarui setiap
5 detik.</p>
<p>{summary}</p>
<p>Mode: <strong>{mode}</strong> · gangguan: {faults}</p>
{items}
</main>
</body>
</html>
"""


def page_html(app: BankSandboxApp) -> str:
    totals = app.bank.totals(app.now())
    faults = app.bank_faults
    summary = (
        f"{totals['received_count']} transfer diterima · {totals['success_count']} berhasil "
        f"({format_rupiah(totals['success_sum_idr'])}) · {totals['failed_count']} gagal · "
        f"{totals['accepted_count']} diproses"
    )
    rates = ", ".join(f"{code} {share:.0%}" for code, share in faults.fail_rates.items())
    transfers = app.bank.recent(50)
    if not transfers:
        items = "<p>Belum ada transfer.</p>"
    else:
        now = app.now()
        rows = "".join(_row(t, now) for t in transfers)
        items = (
            '<div class="scroll"><table><thead><tr><th>Diterima (WIB)</th><th>Instruksi</th>'
            "<th>Rekening</th><th>Jumlah</th><th>Status</th><th>Alasan</th><th>Referensi</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div>"
        )
    return _PAGE.format(
        title=html.escape(f"Lembaga keuangan {app.bank.name.upper()} (sandbox)"),
        summary=html.escape(summary),
        mode=html.escape(faults.mode),
        faults=html.escape(rates or "tidak ada"),
        items=items,
    )


def _row(t: Transfer, now: float) -> str:
    answer = t.answer(now)
    masked = "…" + t.account_number[-4:]  # a page others may see: no full account numbers
    css = ' class="failed"' if answer["status"] == "failed" else ""
    cells = (
        t.received_at[:19].replace("T", " "),
        t.instruction_id,
        masked,
        format_rupiah(t.amount_idr),
        answer["status"],
        answer["reason_code"] or "",
        t.partner_reference,
    )
    escaped = [html.escape(str(cell)) for cell in cells]
    return (
        f"<tr{css}><td>{escaped[0]}</td><td>{escaped[1]}</td><td>{escaped[2]}</td>"
        f'<td class="amount">{escaped[3]}</td><td>{escaped[4]}</td><td>{escaped[5]}</td>'
        f"<td>{escaped[6]}</td></tr>"
    )
