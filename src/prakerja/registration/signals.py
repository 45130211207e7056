"""What registration tells other apps, without knowing them.

`phone_changed` is sent inside the transaction of a phone change, with `registrant_id` and
`actor`: an app that keeps something keyed by the number (incentives: e-wallets) reacts in the
same transaction, and a receiver's error rolls the change back (sent with `send`, not
`send_robust`)."""

from django.dispatch import Signal

phone_changed = Signal()
