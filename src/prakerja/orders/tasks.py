"""The periodic jobs of orders, as Celery tasks. settings.PERIODIC_JOBS runs the daily ones hourly
(each is idempotent, and a voucher's date or a balance's expiry date is then acted on within the
hour) and the catalog's buyers every ten minutes."""

from celery import shared_task


@shared_task(name="prakerja.orders.vouchers_expire_due", soft_time_limit=3600)
def vouchers_expire_due_task() -> int:
    from prakerja.orders.daily import vouchers_expire_due

    return vouchers_expire_due()


@shared_task(name="prakerja.orders.balances_lapse_due", soft_time_limit=3600)
def balances_lapse_due_task() -> int:
    from prakerja.orders.daily import balances_lapse_due

    return balances_lapse_due()


@shared_task(name="prakerja.orders.settlements_prepare_due", soft_time_limit=3600)
def settlements_prepare_due_task() -> int:
    from prakerja.orders.settlements import settlements_prepare_due

    return settlements_prepare_due()


@shared_task(name="prakerja.orders.trainings_buyers_refresh", soft_time_limit=600)
def trainings_buyers_refresh_task() -> int:
    from prakerja.orders.popularity import trainings_buyers_refresh

    return trainings_buyers_refresh()
