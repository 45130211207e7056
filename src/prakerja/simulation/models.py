"""The simulation's own bookkeeping: how far a run got (to resume it) and which people it made bad
actors (to count whom the system caught). Nothing here is program data."""

from django.db import models


class SimulationState(models.Model):
    """One simulated program per database: its scale and seed, and the last day fully played."""

    scale = models.CharField(max_length=20)
    seed = models.IntegerField()
    last_day_done = models.DateField(null=True, blank=True)
    # What the sandbox banks paid by the last day done: their totals do not outlive their
    # processes, and a resumed run starts new ones.
    banks_paid_idr = models.BigIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"simulation scale {self.scale} seed {self.seed}"


class InjectedActor(models.Model):
    """A person the simulation made act in bad faith. `person` is the index in the simulation's
    population, the same for the same scale and seed."""

    kind = models.CharField(max_length=24)
    person = models.IntegerField()
    email = models.CharField(max_length=254)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "person"], name="simulation_injected_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.person}"
