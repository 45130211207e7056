"""The per-request services of registration by name, for the pages, the API and the tasks: the
journey of program.md §2, email → NIK → phone → eligibility → face check, one module per stretch
of it (signup.py, registry.py, phone.py, eligibility.py, signin.py). Each layer's outcome is
recorded by `layers.layer_set`; the rules the layers decide by are rules.py's, shared with the
set-based twins in bulk.py. Calls to the registry and the SMS gateway happen in tasks queued on
commit, so a slow or broken partner never holds a request open."""

from prakerja.registration.eligibility import eligibility_recheck
from prakerja.registration.errors import (
    AccountLocked,
    CodeRefused,
    InvalidCredentials,
    LinkInvalid,
    LinkNeedsCode,
    PhoneTaken,
    SelfieInvalid,
    StepNotAvailable,
)
from prakerja.registration.phone import phone_change, phone_resend, phone_verify_code
from prakerja.registration.registry import (
    face_submit,
    nik_correct,
    registrant_registry_check,
    registry_retry_due,
)
from prakerja.registration.rules import SELFIE_MAX_BYTES, SignUp, normalise_phone, stripped_image
from prakerja.registration.signin import (
    password_reset_confirm,
    password_reset_request,
    registrant_authenticate,
)
from prakerja.registration.signup import (
    SignUpReceipt,
    email_link_token,
    email_verify_link,
    registrant_sign_up,
    sign_up_email_resend,
    sign_up_email_verify,
)

__all__ = [
    "SELFIE_MAX_BYTES",
    "AccountLocked",
    "CodeRefused",
    "InvalidCredentials",
    "LinkInvalid",
    "LinkNeedsCode",
    "PhoneTaken",
    "SelfieInvalid",
    "SignUp",
    "SignUpReceipt",
    "StepNotAvailable",
    "eligibility_recheck",
    "email_link_token",
    "email_verify_link",
    "face_submit",
    "nik_correct",
    "normalise_phone",
    "password_reset_confirm",
    "password_reset_request",
    "phone_change",
    "phone_resend",
    "phone_verify_code",
    "registrant_authenticate",
    "registrant_registry_check",
    "registrant_sign_up",
    "registry_retry_due",
    "sign_up_email_resend",
    "sign_up_email_verify",
    "stripped_image",
]
