"""The address policy as a pure function: no test here opens a socket."""

from __future__ import annotations

import pytest

from pipeline.sources.web.policy import FetchRefused, address_refusal, checked_addresses, scheme_refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback_address"),
        ("127.8.9.10", "loopback_address"),
        ("::1", "loopback_address"),
        ("10.1.2.3", "private_address"),
        ("172.16.0.1", "private_address"),
        ("192.168.1.1", "private_address"),
        ("fc00::1", "private_address"),
        ("fec0::1", "private_address"),  # deprecated site-local, which Python calls global
        ("feff:ffff::1", "private_address"),
        ("169.254.169.254", "link_local_address"),  # cloud metadata endpoint
        ("fe80::1", "link_local_address"),
        ("224.0.0.1", "multicast_address"),
        ("ff02::1", "multicast_address"),
        ("240.0.0.1", "reserved_address"),
        ("0.0.0.0", "unspecified_address"),
        ("::", "unspecified_address"),
        ("100.64.0.1", "non_global_address"),  # carrier-grade NAT
        ("::ffff:10.0.0.1", "private_address"),  # IPv4-mapped IPv6 hides the real target
        ("::ffff:127.0.0.1", "loopback_address"),
        ("2002:0a00:0001::1", "private_address"),  # 6to4 of 10.0.0.1
        ("not-an-ip", "invalid_address"),
    ],
)
def test_non_public_addresses_are_refused(address, reason):
    assert address_refusal(address) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address) is None


def test_the_test_allowance_opens_only_127_0_0_1():
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("127.0.0.2", allow_loopback=True) == "loopback_address"
    assert address_refusal("::1", allow_loopback=True) == "loopback_address"
    assert address_refusal("10.0.0.1", allow_loopback=True) == "private_address"
    assert address_refusal("169.254.169.254", allow_loopback=True) == "link_local_address"


def test_one_bad_address_refuses_the_whole_name():
    def resolver(host, port):
        return {"mixed.example": ["93.184.216.34", "10.0.0.7"], "public.example": ["93.184.216.34", "2606:4700::1111"]}[host]

    with pytest.raises(FetchRefused) as refused:
        checked_addresses("mixed.example", 80, resolver=resolver)
    assert refused.value.reason == "private_address"
    assert "10.0.0.7" in refused.value.detail
    assert checked_addresses("public.example", 443, resolver=resolver) == ["93.184.216.34", "2606:4700::1111"]


def test_resolution_failure_is_a_refusal():
    def resolver(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(FetchRefused) as refused:
        checked_addresses("nowhere.invalid", 80, resolver=resolver)
    assert refused.value.reason == "dns_error"


@pytest.mark.parametrize(
    ("url", "reason"),
    [("ftp://news.example.invalid/a", "unsupported_scheme"), ("file:///etc/passwd", "unsupported_scheme"),
     ("gopher://news.example.invalid/", "unsupported_scheme"), ("http:///nohost", "invalid_url"),
     ("https://user:pw@news.example.invalid/", "credentials_in_url"), ("http://[::1/a", "invalid_url"),
     ("http://news.example.invalid:99999/a", "invalid_url")],
)
def test_scheme_policy(url, reason):
    assert scheme_refusal(url).reason == reason


def test_http_and_https_pass_the_scheme_policy():
    assert scheme_refusal("https://news.example.invalid/a") is None
    assert scheme_refusal("HTTP://news.example.invalid/a") is None
