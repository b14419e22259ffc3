"""Keep the crawler away from private and loopback addresses unless a source allows them.

A review URL in ``repwatch.toml`` should never make the crawler fetch from the machine it
runs on or its private network (``allow_private = true`` is meant for local test sites).
The check runs on every request, so redirects and ``next`` links are covered as well.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class PrivateAddressBlocked(IgnoreRequest):
    """A request was dropped because its host is a private or loopback address."""


def private_address(host: str) -> str | None:
    """The first non-public address ``host`` is or resolves to, else ``None``.

    Resolution failures return ``None``: the download then fails with Scrapy's own error.
    """
    host = host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None
        addresses = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
    for address in addresses:
        if not address.is_global:
            return str(address)
    return None


class PrivateAddressMiddleware:
    """Downloader middleware: drop requests to non-public hosts not explicitly allowed.

    Hosts of sources with ``allow_private = true`` are allowed (the spider lists them in
    ``allowed_private_hosts``). Lookups are cached per host for the crawl.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        allowed: frozenset[str] = getattr(self.crawler.spider, "allowed_private_hosts", frozenset())
        if not host or host in allowed:
            return
        if host not in self._verdicts:
            self._verdicts[host] = private_address(host)
        address = self._verdicts[host]
        if address is not None:
            raise PrivateAddressBlocked(
                f"{request.url}: host {host} is the private address {address}; set "
                "allow_private = true on the source if this is a local test site"
            )
