"""One day's disbursement of n payments, end to end: the maker prepares the run, the checker approves
it, two Celery workers (`prakerja worker`, on Redis) send its batches of 1.000 to sandbox
institutions over loopback HTTP, the institutions answer each batch's results by one signed callback
to the web server (`prakerja serve`, gunicorn), and each institution's statement of the day is
reconciled, which settles the payments in the ledger — against the limit of a raw COPY of the same
n instruction rows plus one HTTP call per 1.000 carrying each batch's body, in the same run.

Setup, not timed: n/4 credited participants (as the orders benchmark loads them), each with a
verified payment account at one of the four institutions (BNI virtual account; LinkAja, OVO, GoPay
e-wallets) and the scheme's four monthly incentives due today, accrued in the ledger by one posting
per participant; one sandbox process per institution (`prakerja sandbox bank`, accepting any account,
results by one callback per batch). Without a broker (CELERY_BROKER_URL unset and no Redis on
127.0.0.1:6379), and on SQLite, the batches are sent inline by this process: `workers` is then 0.
"""

import datetime
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.config.celery import app as celery_app
from prakerja.incentives.institutions import INSTITUTIONS
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    PaymentAccount,
    RunStatus,
    TransferInstruction,
)
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.integrations.bank import bank_client
from prakerja.ledger.models import AccountKind, Balance
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.orders import _participants, _scheme_spendable
from prakerja.ops.bench.processes import child_env, free_port, started, web_server
from prakerja.ops.bench.selection import _checkpoint
from prakerja.ops.bench.timing import stopwatch
from prakerja.partners.models import Partner, PartnerKind
from prakerja.partners.services import partner_create
from prakerja.waves.models import Participant, ProgramScheme

WORKERS = 2
WEB_WORKERS = 2
PER_PARTICIPANT = 4
BATCH = 1_000
LOCAL_REDIS = "redis://127.0.0.1:6379/13"
MAKER = Actor(kind="user", id=-1, label="bench:maker")
CHECKER = Actor(kind="user", id=-2, label="bench:checker")
SETUP = Actor.system("bench.disbursement")
ENT = Entitlement._meta.db_table
ACC = PaymentAccount._meta.db_table
PART = Participant._meta.db_table
INS = TransferInstruction._meta.db_table


def run(n: int, log: Callable[[str], None]) -> BenchResult:
    broker = _broker(log)
    today = clock.today()
    with stopwatch() as setup:
        scheme = _scheme_spendable()
        ProgramScheme.objects.filter(pk=scheme.pk).update(daily_disbursement_capacity=n)
        institutions, secrets = _institutions()
        participants = _participants(-(-n // PER_PARTICIPANT), scheme, SETUP, log)
        _accounts_and_entitlements(participants, institutions, n, scheme, today, log)
        _checkpoint(log)
    log(f"setup: {setup.seconds:.1f} s")

    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        web = stack.enter_context(
            web_server(Path(folder), log, workers=WEB_WORKERS, CELERY_BROKER_URL="")
        )
        banks = {
            code: stack.enter_context(_sandbox(code, secrets[code], web, Path(folder), log))
            for code in INSTITUTIONS
        }
        urls = ",".join(f"{code}={url}" for code, url in banks.items())
        _use_banks(urls)
        workers = WORKERS if broker else 0
        for number in range(workers):
            stack.enter_context(
                started(
                    f"worker-{number + 1}",
                    ["worker", "--concurrency", "1"],
                    child_env(CELERY_BROKER_URL=broker, PRAKERJA_BANK_URLS=urls),
                    Path(folder),
                    log,
                )
            )
        if workers:
            time.sleep(3)  # the workers connect to the broker

        with stopwatch() as watch:
            the_run = run_prepare(run_date=today, actor=MAKER, capacity=n)
        phases["prepare"] = watch.seconds
        log(f"system: prepared {the_run.instructions_count} instructions in {watch.seconds:.1f} s")
        with stopwatch() as watch:
            run_approve(run=the_run, actor=CHECKER)
            _wait_done(the_run.pk, log)
        phases["send_and_results"] = watch.seconds
        log(f"system: sent, results recorded in {watch.seconds:.1f} s")
        with stopwatch() as watch:
            for code, partner in institutions.items():
                lines = bank_client(code).statement(today)
                statement_reconcile(
                    institution=partner,
                    statement_date=today,
                    lines=[
                        Line(x.instruction_id, x.amount_idr, x.status, x.partner_reference)
                        for x in lines
                    ],
                    source="api",
                    actor=Actor.partner(partner.pk, code),
                )
        phases["settle"] = watch.seconds
        log(f"system: statements reconciled and settled in {watch.seconds:.1f} s")
        counts = _check(n, institutions, banks)
        limit_phases = _limit(banks, log)

    return BenchResult(
        seconds=sum(phases.values()),
        limit_seconds=sum(limit_phases.values()),
        extra={
            "database": connection.vendor,
            "workers": workers,
            "web_workers": WEB_WORKERS,
            "institutions": len(institutions),
            "batches": the_run.batches.count(),
            **counts,
            "setup_seconds": round(setup.seconds, 1),
            "phases": {name: round(s, 3) for name, s in phases.items()},
            "limit_phases": {name: round(s, 3) for name, s in limit_phases.items()},
        },
    )


# --- setup ----------------------------------------------------------------------------------------


def _broker(log: Callable[[str], None]) -> str:
    """The broker the workers and this process share: the configured one, else a local Redis;
    none on SQLite (one writer at a time: workers would only queue for it)."""
    if connection.vendor == "sqlite":
        log("SQLite: batches are sent inline by this process")
        return ""
    url = settings.CELERY_BROKER_URL
    if not url:
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        except OSError:
            log("no broker and no Redis on 127.0.0.1:6379: batches are sent inline")
            return ""
        url = LOCAL_REDIS
    celery_app.conf.update(broker_url=url, task_always_eager=False)
    log(f"broker {url}")
    return url


def _institutions() -> tuple[dict[str, Partner], dict[str, str]]:
    partners, secrets = {}, {}
    for code, (name, _) in INSTITUTIONS.items():
        partner, secret = partner_create(
            code=code, name=name, kind=PartnerKind.INSTITUTION, actor=SETUP
        )
        Partner.objects.filter(pk=partner.pk).update(rate_limit_per_minute=2**31 - 1)
        partners[code], secrets[code] = partner, secret
    return partners, secrets


def _accounts_and_entitlements(
    participants: list[int],
    institutions: dict[str, Partner],
    n: int,
    scheme: ProgramScheme,
    today: datetime.date,
    log: Callable[[str], None],
) -> None:
    """A verified account each (institutions in turn) and four incentives due today (n in all),
    accrued in the ledger by one posting per participant."""
    log(f"setup: {len(participants)} verified accounts, {n} due incentives")
    codes = list(institutions)
    now = clock.now()
    with transaction.atomic():
        PaymentAccount.objects.bulk_create(
            [
                PaymentAccount(
                    participant_id=pid,
                    institution=institutions[codes[i % len(codes)]],
                    account_type=INSTITUTIONS[codes[i % len(codes)]][1],
                    account_number=f"62811{pid:08d}",
                    status="verified",
                    checked_at=now,
                )
                for i, pid in enumerate(participants)
            ],
            batch_size=5_000,
        )
        rows = [
            Entitlement(
                participant_id=pid,
                kind="incentive",
                sequence=k + 1,
                amount_idr=scheme.incentive_monthly_idr,
                due_on=today,
            )
            for pid in participants
            for k in range(PER_PARTICIPANT)
        ][:n]
        Entitlement.objects.bulk_create(rows, batch_size=5_000)
    owed: dict[int, int] = {}
    for row in rows:
        owed[row.participant_id] = owed.get(row.participant_id, 0) + row.amount_idr
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    payables = accounts_ensure(kind=AccountKind.INCENTIVE_PAYABLE, owner_ids=owed)
    items = sorted(owed.items())
    for start in range(0, len(items), 10_000):
        transactions_post_bulk(
            kind="incentive_accrue",
            postings=[
                Posting(f"bench-accrue:{pid}", ((budget, -amount), (payables[pid], amount)))
                for pid, amount in items[start : start + 10_000]
            ],
            actor=SETUP,
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in (ENT, ACC, PART):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")


@contextmanager
def _sandbox(
    code: str, secret: str, web: str, folder: Path, log: Callable[[str], None]
) -> Iterator[str]:
    port = free_port()
    argv = [
        "sandbox", "bank", "--name", code, "--port", str(port), "--mode", "sync",
        "--callback-batch", "--accept-unknown-accounts", "--system-url", web,
        "--partner", code, f"--secret={secret}",  # a secret may start with "-"
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with started(f"bank-{code}", argv, child_env(), folder, log, f"{url}/healthz"):
        yield url


def _use_banks(urls: str) -> None:
    """The adapter in this process (the settling statements) reaches the same sandboxes."""
    os.environ["PRAKERJA_BANK_URLS"] = urls


def _wait_done(run_id: int, log: Callable[[str], None]) -> None:
    deadline = time.monotonic() + 3600
    while DisbursementRun.objects.filter(pk=run_id).values_list("status", flat=True)[0] != (
        RunStatus.DONE
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("bench disbursement: the run did not finish within an hour")
        time.sleep(0.2)


# --- checks and the limit ---------------------------------------------------------------------------


def _check(n: int, institutions: dict[str, Partner], banks: dict[str, str]) -> dict[str, int]:
    paid = TransferInstruction.objects.filter(status="success", reconciled_at__isnull=False).count()
    total = int(Entitlement.objects.aggregate(total=Sum("amount_idr"))["total"] or 0)
    bank_sum = sum(
        httpx.get(f"{url}/_totals", timeout=30).json()["success_sum_idr"] for url in banks.values()
    )
    paid_out = Balance.objects.get(account__kind=AccountKind.PAID_OUT).amount
    problems = []
    if paid != n:
        problems.append(f"{paid} of {n} instructions paid and settled")
    if bank_sum != total or paid_out != total:
        problems.append(f"banks {bank_sum}, paid out {paid_out}, expected {total}")
    if Entitlement.objects.exclude(status="paid").exists():
        problems.append("entitlements left unpaid")
    report = ledger_integrity_report()
    if not report.ok:
        problems.append(f"ledger check: {report}")
    if problems:
        raise RuntimeError("bench disbursement: " + "; ".join(problems))
    return {"paid": paid, "amount_idr": total}


def _limit(banks: dict[str, str], log: Callable[[str], None]) -> dict[str, float]:
    """The same n instruction rows by raw COPY (executemany on SQLite) into a table of their
    shape, and one HTTP POST per 1.000 of them carrying the batch's JSON body to a sandbox."""
    columns = [str(f.column) for f in TransferInstruction._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {INS} ORDER BY id")  # noqa: S608
        rows = cursor.fetchall()
    phases: dict[str, float] = {}
    log(f"limit: raw COPY of {len(rows)} instructions, one HTTP call per {BATCH}")
    _checkpoint(log)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMP TABLE bench_ins_limit (LIKE {INS} INCLUDING ALL)")
        else:
            cursor.execute(f"CREATE TEMP TABLE bench_ins_limit AS SELECT * FROM {INS} WHERE 0")  # noqa: S608
        with stopwatch() as watch:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(
                    f"COPY bench_ins_limit ({', '.join(columns)}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["?"] * len(columns))
                cursor.executemany(f"INSERT INTO bench_ins_limit VALUES ({marks})", rows)  # noqa: S608
        phases["instructions"] = watch.seconds
    urls = list(banks.values())
    amount = columns.index("amount_idr")
    bodies = [
        json.dumps(
            {
                "batch_id": f"limit-{i}",
                "instructions": [
                    {"instruction_id": r[1], "account_number": "x", "amount_idr": r[amount]}
                    for r in rows[start : start + BATCH]
                ],
            }
        ).encode()
        for i, start in enumerate(range(0, len(rows), BATCH))
    ]
    with httpx.Client(timeout=60) as client, stopwatch() as watch:
        for i, body in enumerate(bodies):
            client.post(f"{urls[i % len(urls)]}/healthz", content=body)
    phases["http"] = watch.seconds
    return phases
