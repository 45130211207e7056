"""The rate limits of registration. Services read them as `limits.NAME` when they run, so a test
may lift one by patching this module.

Limits count first what they protect: an email, a NIK, a phone number, an account, a code. Per
address only as a ceiling against one machine's flood, sized for carrier-grade NAT, where thousands
of phones share an address (the reasoning and figures: docs/operations.md, "Rate limits")."""

from prakerja.throttle.services import Limit

__all__ = ["Limit"]

SIGNUP_PER_EMAIL = Limit(hits=5, seconds=3600)
SIGNUP_PER_NIK = Limit(hits=5, seconds=3600)
SIGNUP_PER_IP = Limit(hits=1000, seconds=3600)
SIGNUP_CODE_CHECKS_PER_TOKEN = Limit(hits=10, seconds=900)
LOGIN_PER_IP = Limit(hits=3000, seconds=900)
LOGIN_FAILURES_PER_EMAIL = Limit(hits=5, seconds=900)
RESET_PER_IP = Limit(hits=500, seconds=3600)
RESET_PER_EMAIL = Limit(hits=3, seconds=3600)
RESET_CHECKS_PER_EMAIL = Limit(hits=10, seconds=3600)
EMAIL_SENDS_PER_DAY = Limit(hits=5, seconds=86400)
SMS_PER_NUMBER_PER_DAY = Limit(hits=5, seconds=86400)
SMS_PER_ACCOUNT_PER_DAY = Limit(hits=10, seconds=86400)
SMS_PER_IP_PER_DAY = Limit(hits=5000, seconds=86400)
OTP_CHECKS_PER_IP = Limit(hits=3000, seconds=900)
PHONE_CHANGES_PER_DAY = Limit(hits=5, seconds=86400)
