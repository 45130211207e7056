"""The catalog's periodic job, as a Celery task: new trainings' near-duplicate check."""

from celery import shared_task


@shared_task(name="prakerja.catalog.near_duplicates_check_due", soft_time_limit=600)
def near_duplicates_check_due_task() -> int:
    from prakerja.catalog.flags import near_duplicates_check_due

    return near_duplicates_check_due()
