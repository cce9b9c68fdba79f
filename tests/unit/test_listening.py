"""Where a release listens, from the kernel's socket tables as LISTENING prints them."""

from __future__ import annotations

import ipaddress

from provision.services.listening import Listener, only_on_loopback, other_ports, parse_listening

# LISTENING's output in a container on a user-defined network (Engine 28): an app on
# 127.0.0.1:8000, Docker's embedded DNS on 127.0.0.11 at a random port, 0.0.0.0:5001, [::]:5000.
RECORDED = "0100007F:1F40\n0B00007F:89E7\n00000000:1389\n00000000000000000000000000000000:1388\n"


def test_the_recorded_tables_read_as_addresses_and_ports() -> None:
    assert [str(listener) for listener in parse_listening(RECORDED)] == [
        "127.0.0.1:8000", "127.0.0.11:35303", "0.0.0.0:5001", "[::]:5000"]  # fmt: skip


def test_ipv6_loopback_and_a_shells_complaint() -> None:
    text = "sh: 1: cannot open /proc/net/tcp: Permission denied\n00000000000000000000000001000000:1F40\nnothex:zz\n"
    assert parse_listening(text) == (Listener(ipaddress.ip_address("::1"), 8000),)


def test_an_app_on_loopback_only_is_told_from_one_the_proxy_reaches() -> None:
    assert [str(listener) for listener in only_on_loopback(parse_listening(RECORDED), 8000)] == ["127.0.0.1:8000"]
    everywhere = parse_listening(RECORDED + "00000000:1F40\n")  # 0.0.0.0:8000 as well
    assert only_on_loopback(everywhere, 8000) == ()
    assert only_on_loopback(parse_listening("00000000:1389\n"), 8000) == ()  # nothing on 8000 at all


def test_other_ports_leave_out_loopback_ones_and_count_only_when_8000_is_free() -> None:
    assert other_ports(parse_listening(RECORDED), 5001) == []  # it listens there
    assert other_ports(parse_listening("0B00007F:89E7\n00000000:1389\n"), 8000) == [5001]  # not the DNS's
    assert other_ports(parse_listening(RECORDED), 8000) == []  # on 8000, if on loopback: the other message
    assert other_ports(parse_listening("0B00007F:89E7\n"), 8000) == []  # only the DNS: still starting
