"""The facts' refresh as a periodic job (settings.PERIODIC_JOBS): every few minutes, costing what
changed since the last run."""

from celery import shared_task


@shared_task(name="prakerja.dashboards.facts_refresh", soft_time_limit=600)
def facts_refresh_task() -> dict[str, int]:
    from prakerja.dashboards.facts import facts_refresh

    return facts_refresh().days
