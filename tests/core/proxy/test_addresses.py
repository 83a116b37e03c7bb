"""Which addresses the proxy refuses: every non-public form, also wrapped in IPv6."""

from __future__ import annotations

import ipaddress

import pytest

from maidcore.proxy.addresses import networks, refusal_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("127.0.0.1", "a loopback address"),
        ("127.255.0.9", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.10.1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("240.0.0.1", "a reserved address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("::ffff:127.0.0.1", "a loopback address inside an IPv6 address"),
        ("::ffff:169.254.169.254", "a cloud metadata address inside an IPv6 address"),
        ("::127.0.0.1", "a loopback address inside an IPv6 address"),
        ("64:ff9b::a00:1", "a private address inside an IPv6 address"),
        ("2002:a00:1::", "a private address inside an IPv6 address"),
    ],
)
def test_non_public_addresses_are_refused_with_a_reason(address, reason):
    assert refusal_reason(address) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert refusal_reason(address) is None


def test_allowing_private_addresses_never_allows_metadata():
    assert refusal_reason("10.0.0.1", allow_private=True) is None
    assert refusal_reason("::ffff:10.0.0.1", allow_private=True) is None
    assert refusal_reason("169.254.169.254", allow_private=True) == "a cloud metadata address"
    assert refusal_reason("::ffff:169.254.169.254", allow_private=True) is not None


def test_allowed_networks_let_through_only_themselves():
    allowed = networks(["10.1.2.0/24"])
    assert refusal_reason("10.1.2.9", allowed_networks=allowed) is None
    assert refusal_reason("10.1.3.9", allowed_networks=allowed) == "a private address"
    assert refusal_reason(ipaddress.ip_address("::1"), allowed_networks=allowed) == "a loopback address"


def test_a_bad_network_setting_names_itself():
    with pytest.raises(ValueError, match=r"proxy.allowed_private_networks: 'ten' is not a CIDR"):
        networks(["ten"])
