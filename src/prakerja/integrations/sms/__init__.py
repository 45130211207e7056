"""Adapter to the SMS gateway. `sms_gateway()` is what services call: the HTTP client
(`client.HttpSmsGateway`) at PRAKERJA_SMS_URL, served in the demo by `prakerja sandbox sms`;
tests may swap in another implementation with `use_sms_gateway(...)`."""

from functools import lru_cache

from prakerja.config import env
from prakerja.integrations.seam import AdapterSeam
from prakerja.integrations.sms.client import HttpSmsGateway
from prakerja.integrations.sms.gateway import SmsGateway, SmsUnavailable

__all__ = ["SmsGateway", "SmsUnavailable", "sms_gateway", "use_sms_gateway"]


@lru_cache(maxsize=4)
def _http_client(base_url: str, timeout: float) -> SmsGateway:
    return HttpSmsGateway(base_url, timeout=timeout)


def _from_settings() -> SmsGateway:
    return _http_client(env.get("PRAKERJA_SMS_URL"), float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S")))


_seam: AdapterSeam[SmsGateway] = AdapterSeam(_from_settings)
sms_gateway = _seam.get
use_sms_gateway = _seam.use
