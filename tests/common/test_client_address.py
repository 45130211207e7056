"""The visitor's address behind the documented proxies, and limits that count per visitor and per
protected thing rather than per connecting address (docs/operations.md, "Rate limits")."""

import ipaddress

import pytest

from prakerja.common.client_address import client_address_of, trusted_proxies
from prakerja.throttle.models import Counter

PROXIES = trusted_proxies("127.0.0.1,::1,10.20.0.0/16")


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # no proxy: the connecting address, whatever the header claims
        ("203.0.113.9", "", "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
        # nginx on the machine: the hop it appended
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        # a client's own X-Forwarded-For is kept in front by nginx and not believed
        ("127.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        # a load balancer in the trusted network before nginx
        ("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.20.3.4", "198.51.100.7"),
        # ports and IPv6 spellings
        ("127.0.0.1", "198.51.100.7:53122", "198.51.100.7"),
        ("::1", "[2001:db8::5]:443", "2001:db8::5"),
        ("::ffff:127.0.0.1", "2001:db8::5", "2001:db8::5"),
        # everyone trusted (a health check from the proxy itself): the left-most hop
        ("127.0.0.1", "10.20.0.9", "10.20.0.9"),
        ("127.0.0.1", "", "127.0.0.1"),
        # a hop no proxy of ours writes: as far as the chain can be believed
        ("127.0.0.1", "198.51.100.7, garbage", "127.0.0.1"),
        ("127.0.0.1", "garbage, 198.51.100.7", "198.51.100.7"),
        ("", "198.51.100.7", "unknown"),
    ],
)
def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(remote, forwarded, client):
    assert client_address_of(remote, forwarded, PROXIES) == client


def test_the_setting_reads_addresses_and_networks():
    assert trusted_proxies(" 127.0.0.1 , 10.0.0.0/8,,::1 ") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


@pytest.mark.django_db
def test_behind_the_proxy_sign_ups_count_per_visitor_not_per_proxy(client, people, monkeypatch):
    """Two visitors through the same nginx (REMOTE_ADDR 127.0.0.1) have counters of their own."""
    from prakerja.registration import limits as services
    from tests.registration.test_no_enumeration import api_payload

    monkeypatch.setattr(services, "SIGNUP_PER_IP", services.Limit(hits=2, seconds=3600))
    visitor_a = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    visitor_b = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "9.9.9.9, 198.51.100.8"}

    statuses_a = [
        client.post(
            "/api/v1/auth/signup",
            api_payload(people.make()),
            content_type="application/json",
            **visitor_a,
        ).status_code
        for _ in range(3)
    ]
    refused = client.post(
        "/api/v1/auth/signup",
        api_payload(people.make()),
        content_type="application/json",
        **visitor_a,
    )
    other = client.post(
        "/api/v1/auth/signup",
        api_payload(people.make()),
        content_type="application/json",
        **visitor_b,
    )

    assert statuses_a == [202, 202, 429]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert other.status_code == 202
    keys = set(Counter.objects.values_list("key", flat=True))
    assert {"signup:ip:198.51.100.7", "signup:ip:198.51.100.8"} <= keys
    assert not any(key.startswith("signup:ip:127.") or "9.9.9.9" in key for key in keys)


@pytest.mark.django_db
def test_one_email_is_protected_whatever_address_the_attempts_come_from(client, people):
    from prakerja.registration import limits as services
    from tests.registration.test_no_enumeration import api_payload

    target = people.make()
    answers = [
        client.post(
            "/api/v1/auth/signup",
            api_payload(people.make(), email=target.email),
            content_type="application/json",
            REMOTE_ADDR=f"198.51.100.{i}",
        )
        for i in range(services.SIGNUP_PER_EMAIL.hits + 1)
    ]
    assert [a.status_code for a in answers] == [202] * services.SIGNUP_PER_EMAIL.hits + [429]
    assert answers[-1]["Retry-After"].isdigit()


@pytest.mark.django_db
def test_the_sign_in_ceiling_per_address_answers_429_with_retry_after(client, monkeypatch):
    from prakerja.registration import limits as services

    monkeypatch.setattr(services, "LOGIN_PER_IP", services.Limit(hits=1, seconds=900))
    client.post("/masuk/", {"email": "a@example.id", "password": "x"})  # the page counts too
    answer = client.post(
        "/api/v1/auth/login",
        {"email": "a@example.id", "password": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= 900
