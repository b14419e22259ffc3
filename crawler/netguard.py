"""Keep the crawler away from private, loopback and metadata addresses.

A URL in ``repwatch.toml`` (or a redirect, or a ``next`` link on a page) should never
make the crawler fetch from the machine it runs on, its private network or a cloud
metadata service. ``allow_private = true`` on a source lets the crawler reach that
source's own host (meant for local test sites); cloud metadata addresses are refused
even then. ``PrivateAddressMiddleware`` checks every request, so redirects (which come
back through the scheduler) are covered as well; ``GuardedResolver`` checks the address
a host name resolves to when the connection is made, so a name that resolved to a
public address for the check cannot switch to a private one for the fetch.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Instance metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS IPv6;
# Alibaba Cloud). Refused even for sources with allow_private.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")  # ECS task metadata lives here too
PRIVATE_HOSTS_SETTING = "REPWATCH_PRIVATE_HOSTS"  # hosts of sources with allow_private
# Host names GuardedResolver refused, with the address: Twisted reports a refused lookup
# as "no results", and crawler.reporting tells the user what really happened.
REFUSED_NAMES: dict[str, str] = {}


class PrivateAddressBlocked(IgnoreRequest):
    """A request was dropped because its host is a private, loopback or metadata address."""

    kind = "blocked"  # the error kind recorded by crawler.reporting


def resolve(host: str) -> list[IPAddress]:
    """The addresses ``host`` is (an IP literal) or resolves to; ``[]`` when it does not."""
    host = host.strip("[]")
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    addresses: list[IPAddress] = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return addresses


def is_metadata(address: IPAddress) -> bool:
    """Whether an address is a cloud metadata service (or IPv4 link-local, where they live)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address in METADATA_ADDRESSES or (address.version == 4 and address in LINK_LOCAL_V4)


def refused_address(addresses: Iterable[IPAddress], *, allow_private: bool) -> str | None:
    """The first address a crawler must not connect to, with ``allow_private`` or without.

    Non-global addresses (private, loopback, link-local, unspecified ``0.0.0.0``,
    IPv4-mapped private ones) are refused unless ``allow_private``; metadata always.
    """
    for address in addresses:
        if is_metadata(address) or (not allow_private and not address.is_global):
            return str(address)
    return None


def private_address(host: str, *, allow_private: bool = False) -> str | None:
    """The first address of ``host`` that is refused (see ``refused_address``), else ``None``.

    Resolution failures return ``None``: the download then fails with Scrapy's own error.
    """
    return refused_address(resolve(host), allow_private=allow_private)


class PrivateAddressMiddleware:
    """Downloader middleware: drop requests to hosts that are not public.

    Hosts of sources with ``allow_private = true`` are allowed, except metadata addresses
    (the spider lists them in ``allowed_private_hosts``). Verdicts are cached per host.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        if not host:
            return
        if host not in self._verdicts:
            allowed: frozenset[str] = getattr(
                self.crawler.spider, "allowed_private_hosts", frozenset()
            )
            self._verdicts[host] = private_address(host, allow_private=host in allowed)
        address = self._verdicts[host]
        if address is not None:
            raise PrivateAddressBlocked(
                f"{request.url}: host {host} is the private or metadata address {address}; "
                "refused. Set allow_private = true on the source if this is a local test site "
                "(metadata addresses are refused even then)"
            )


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's DNS resolver, refusing names that resolve to addresses we must not reach.

    Installed through ``TWISTED_DNS_RESOLVER``; names in ``REPWATCH_PRIVATE_HOSTS`` may
    resolve to private addresses (never to metadata ones).
    """

    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        hosts = crawler.settings.getlist(PRIVATE_HOSTS_SETTING)
        resolver.allowed = frozenset(h.lower() for h in hosts)
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:
        allowed = name.lower() in self.allowed

        def check(address: str) -> str:
            refused = refused_address([ipaddress.ip_address(address)], allow_private=allowed)
            if refused is not None:
                REFUSED_NAMES[name.lower()] = refused
                log.warning("refused to connect to %s: it resolves to %s", name, refused)
                raise DNSLookupError(f"{name} resolves to the private address {refused}; refused")
            return address

        return super().getHostByName(name, timeout).addCallback(check)
