"""Background work of waves: crediting chunks, carry-over, and the daily first-purchase jobs. Each is
idempotent: Celery delivers at least once."""

from celery import shared_task


@shared_task(name="prakerja.waves.credit_chunk", soft_time_limit=600)
def wave_credit_chunk_task(
    wave_id: int, first_id: int, last_id: int, kind: str, actor_id: int | None, label: str
) -> int:
    from prakerja.common.actors import Actor
    from prakerja.waves.crediting import wave_credit_chunk

    actor = Actor(kind=kind, id=actor_id, label=label)  # type: ignore[arg-type]
    return wave_credit_chunk(wave_id=wave_id, first_id=first_id, last_id=last_id, actor=actor)


@shared_task(name="prakerja.waves.carry_over", soft_time_limit=1800)
def wave_carry_over_task(wave_id: int) -> int:
    from prakerja.waves.carry_over import wave_carry_over

    return wave_carry_over(wave_id=wave_id)


@shared_task(name="prakerja.waves.revoke_due", soft_time_limit=3600)
def participants_revoke_due_task() -> int:
    from prakerja.common.actors import Actor
    from prakerja.waves.revocation import participants_revoke_due

    return participants_revoke_due(actor=Actor.system("revoke-due"))


@shared_task(name="prakerja.waves.purchase_reminders", soft_time_limit=600)
def purchase_reminders_task() -> int:
    from prakerja.waves.revocation import purchase_reminders_queue

    return purchase_reminders_queue()
