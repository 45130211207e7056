from django.db import models


class Counter(models.Model):
    """Hits of one key (e.g. `login:ip:10.0.0.1`) in one fixed time window, shared by every web process."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window_start"], name="throttle_one_row_per_window"
            )
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.hits}"
