"""Address classification and the request-level guards: private hosts, metadata, Retry-After,
redirect loops and source-aware fingerprints. (Real crawls: tests/test_crawl_ops.py.)"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.middlewares import (
    SOURCE_META,
    RedirectLoop,
    RedirectLoopMiddleware,
    SourceRequestFingerprinter,
    retry_after_seconds,
)
from crawler.netguard import (
    PrivateAddressBlocked,
    PrivateAddressMiddleware,
    is_metadata,
    private_address,
    refused_address,
)
from crawler.reporting import classify_failure


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::1",
        "::",
        "fc00::1",
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
    ],
)
def test_private_addresses_are_refused_unless_allowed(address):
    assert refused_address([_ip(address)], allow_private=False) == str(_ip(address))
    assert refused_address([_ip(address)], allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "::ffff:169.254.169.254",
    ],
)
def test_metadata_addresses_are_refused_even_when_private_is_allowed(address):
    assert is_metadata(_ip(address))
    assert refused_address([_ip(address)], allow_private=True) == str(_ip(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert refused_address([_ip(address)], allow_private=False) is None


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    addresses = [_ip("93.184.216.34"), _ip("10.0.0.5")]
    assert refused_address(addresses, allow_private=False) == "10.0.0.5"


def test_names_and_odd_spellings_are_resolved_before_judging():
    assert private_address("localhost") in ("127.0.0.1", "::1")
    assert private_address("[::1]") == "::1"
    assert private_address("2130706433") == "127.0.0.1"  # 127.0.0.1 as one decimal number
    assert private_address("0x7f.1") == "127.0.0.1"
    assert private_address("no-such-host.invalid") is None  # the download fails on its own


class _Spider(Spider):
    name = "guarded"
    allowed_private_hosts = frozenset({"127.0.0.1", "169.254.169.254"})


def _middleware() -> PrivateAddressMiddleware:
    crawler = get_crawler(_Spider)
    crawler.spider = _Spider()
    return PrivateAddressMiddleware.from_crawler(crawler)


def test_middleware_allows_a_sources_own_private_host_but_no_other():
    guard = _middleware()
    guard.process_request(Request("http://127.0.0.1:8000/page"))  # no exception: allowed
    for url in (
        "http://127.0.0.2:8000/",
        "http://10.0.0.1/",
        "http://localhost:8000/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ):
        with pytest.raises(PrivateAddressBlocked, match="private or metadata address"):
            guard.process_request(Request(url))
    # Listed as a source's host, the metadata address is still refused.
    with pytest.raises(PrivateAddressBlocked) as raised:
        guard.process_request(Request("http://169.254.169.254/latest/meta-data/"))
    assert classify_failure(raised.value) == ("blocked", str(raised.value))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1", 1.0),
        (b"120", 120.0),
        (" 7 ", 7.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds(header, expected):
    assert retry_after_seconds(header) == expected


def test_retry_after_as_an_http_date():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == pytest.approx(90)
    earlier = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(earlier, now=now.timestamp()) == 0.0


def test_redirect_back_into_the_chain_is_a_loop():
    guard = RedirectLoopMiddleware()
    request = Request(
        "https://shop.example/b", meta={"redirect_urls": ["https://shop.example/a?utm_source=x"]}
    )
    loop = Response("https://shop.example/b", status=301, headers={"Location": "/a"})
    with pytest.raises(RedirectLoop, match=r"^redirect loop: https://shop.example/a\?utm_source"):
        guard.process_response(request, loop)
    onward = Response("https://shop.example/b", status=301, headers={"Location": "/c"})
    assert guard.process_response(request, onward) is onward


def test_fingerprints_ignore_tracking_but_not_the_source():
    fingerprints = SourceRequestFingerprinter()

    def fp(url: str, source: str | None = "shop") -> bytes:
        return fingerprints.fingerprint(Request(url, meta={SOURCE_META: source}))

    assert fp("https://s.example/p?b=2&a=1") == fp("https://s.example/p?a=1&b=2&utm_source=x")
    assert fp("https://s.example/p?page=2") != fp("https://s.example/p?page=3")
    assert fp("https://s.example/p", "shop") != fp("https://s.example/p", "other")
    assert fp("https://s.example/p", None) != fp("https://s.example/p", "shop")
