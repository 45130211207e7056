"""What orders tell other apps, without knowing them.

`reviews_created` is sent inside the transaction that writes participants' first reviews of their
completed trainings, with `participant_ids` (sorted) and `actor`: incentives grants the incentives
for which the review was the last condition missing, in the same transaction, and a receiver's error
rolls the reviews back (sent with `send`, not `send_robust`)."""

from django.dispatch import Signal

reviews_created = Signal()
