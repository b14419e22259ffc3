"""Crawl throughput: the full repwatch pipeline against a bare Scrapy spider; prints medians.

    python bench/crawl_throughput.py [--pages 2000] [--repeat 3] [--concurrency 16]

A local site of ``--pages`` review pages (about 25 KB of HTML each: navigation, OpenGraph
tags, the reviews as text, and the same reviews in JSON-LD; one page in ten carries its
reviews in microdata instead) and a sitemap listing them is served from memory by an
asyncio HTTP/1.1 server in its own process, so it does not compete with the crawler for
the interpreter. Each round runs, in subprocesses, with delays, AutoThrottle and
robots.txt off and the same concurrency:

- bare: Scrapy's ``SitemapSpider`` whose callback counts the reviews in each JSON-LD block
  (``json.loads``), nothing else;
- full: ``python -m crawler.run`` with one ``kind = "sitemap"`` source into a fresh SQLite
  database: markup detection, extraction (JSON-LD and microdata), normalisation, dedup,
  batched upserts, crawl-run records, JOBDIR.

Both time ``CrawlerProcess.start()`` (startup and imports excluded). Prints pages/s and
reviews/s of each (medians) and the ratio full/bare; the target is at least 0.90.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REVIEWS_PER_PAGE = 10
MICRODATA_REVIEWS = 5
SENTENCE = (
    "the sofa arrived late but the drivers were friendly and careful; refund took two weeks "
    "great price quick delivery broken leg support never answered fabric feels cheap"
)
WORDS = SENTENCE.split()


# --- the site ---------------------------------------------------------------------------


def _text(n: int, i: int) -> str:
    return " ".join(WORDS[(n * 7 + i * 3 + k) % len(WORDS)] for k in range(25 + (n + i) % 40))


def review_page(n: int) -> bytes:
    """Review page ``n``: boilerplate, the reviews as HTML, and JSON-LD or microdata."""
    nav = "".join(f'<li><a href="/c/{k}">Category {k}</a></li>' for k in range(60))
    visible = "".join(
        f'<article class="review"><h3>Review {i}</h3><p class="by">by Author {n}-{i}</p>'
        f"<p>{_text(n, i)}</p></article>"
        for i in range(REVIEWS_PER_PAGE)
    )
    footer = "".join(f"<p>Legal paragraph {k}: terms, privacy, cookies.</p>" for k in range(30))
    structured = ""
    if n % 10 == 0:
        items = "".join(
            f'<div itemprop="review" itemscope itemtype="https://schema.org/Review" '
            f'itemid="/r/{n}-{i}"><span itemprop="author">Author {n}-{i}</span>'
            f'<div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">'
            f'<meta itemprop="ratingValue" content="{1 + (n + i) % 5}"></div>'
            f'<p itemprop="reviewBody">{_text(n, i)}</p></div>'
            for i in range(MICRODATA_REVIEWS)
        )
        structured = (
            f'<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">'
            f"Sofa {n}</span>{items}</div>"
        )
    else:
        doc = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": f"Sofa {n}",
            "aggregateRating": {"@type": "AggregateRating", "ratingValue": 4.2, "reviewCount": 80},
            "review": [
                {
                    "@type": "Review",
                    "@id": f"/r/{n}-{i}",
                    "author": {"@type": "Person", "name": f"Author {n}-{i}"},
                    "datePublished": f"2026-01-{1 + i:02d}",
                    "inLanguage": "en",
                    "reviewRating": {"@type": "Rating", "ratingValue": 1 + (n + i) % 5},
                    "reviewBody": _text(n, i),
                }
                for i in range(REVIEWS_PER_PAGE)
            ],
        }
        structured = f'<script type="application/ld+json">{json.dumps(doc)}</script>'
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sofa {n}</title>'
        f'<meta property="og:title" content="Sofa {n} reviews">'
        f'<meta property="og:type" content="product"><link rel="stylesheet" href="/s.css">'
        f"</head><body><nav><ul>{nav}</ul></nav><main><h1>Sofa {n}</h1>{visible}"
        f"{structured}</main><footer>{footer}</footer></body></html>"
    ).encode()


def sitemap(base: str, pages: int) -> bytes:
    urls = "".join(f"<url><loc>{base}/p/{n}</loc></url>" for n in range(pages))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


async def _serve(pages: int) -> None:
    site: dict[str, bytes] = {f"/p/{n}": review_page(n) for n in range(pages)}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if path == "/cpu":
                    usage = resource.getrusage(resource.RUSAGE_SELF)
                    body, kind = f"{usage.ru_utime + usage.ru_stime}".encode(), b"text/plain"
                elif path == "/sitemap.xml":
                    body, kind = site["/sitemap.xml"], b"application/xml"
                else:
                    body, kind = site.get(path, b""), b"text/html; charset=utf-8"
                status = b"200 OK" if body else b"404 Not Found"
                writer.write(
                    b"HTTP/1.1 "
                    + status
                    + b"\r\nContent-Type: "
                    + kind
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    site["/sitemap.xml"] = sitemap(f"http://127.0.0.1:{port}", pages)
    print(port, flush=True)
    async with server:
        await server.serve_forever()


# --- the two crawlers -------------------------------------------------------------------


def crawl_settings(concurrency: int) -> dict[str, Any]:
    return {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "WARNING",
    }


def bare(base: str, concurrency: int) -> None:
    """The bare spider, in this process: prints pages, reviews and seconds as JSON."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.spiders import SitemapSpider

    counts = {"pages": 0, "reviews": 0}

    class BareSpider(SitemapSpider):
        name = "bare"

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.sitemap_urls = [f"{base}/sitemap.xml"]

        def parse(self, response: Any) -> None:
            counts["pages"] += 1
            for block in response.xpath('//script[@type="application/ld+json"]/text()').getall():
                counts["reviews"] += len(json.loads(block).get("review", []))

    process = CrawlerProcess({**crawl_settings(concurrency), "TELNETCONSOLE_ENABLED": False})
    process.crawl(BareSpider)
    started = time.monotonic()
    process.start()
    print(json.dumps({**counts, "seconds": time.monotonic() - started}))


def full(base: str, concurrency: int, workdir: Path) -> dict[str, Any]:
    """``python -m crawler.run`` over the site into a fresh SQLite database."""
    config = workdir / "repwatch.toml"
    config.write_text(
        f'database = "sqlite:///{workdir / "bench.db"}"\n'
        '[brands.acme]\nname = "Acme"\n'
        f'[sources.site]\nkind = "sitemap"\nbrand = "acme"\nurl = "{base}/sitemap.xml"\n'
        f"max_pages = 1000000\nallow_private = true\n"
        f"[crawl]\ndownload_delay = 0\nconcurrency_per_domain = {concurrency}\n"
        f'obey_robots_txt = false\nautothrottle = false\nstate_dir = "{workdir / "state"}"\n',
        encoding="utf-8",
    )
    sets = [f"{k}={v}" for k, v in crawl_settings(concurrency).items()]
    args = [arg for value in sets for arg in ("--set", value)]
    out = _run(
        [
            sys.executable,
            "-m",
            "crawler.run",
            "--config",
            str(config),
            "--log-level",
            "WARNING",
            *args,
        ]
    )
    return {"pages": out["pages"] - 1, "reviews": out["new"], "seconds": out["seconds"]}


def _run(command: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REPWATCH_DATABASE_URL", None)
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _server_cpu(base: str) -> float:
    from urllib.request import urlopen

    with urlopen(f"{base}/cpu") as answer:
        return float(answer.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    if args.bare:
        bare(args.bare, args.concurrency)
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.pages)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        results: dict[str, list[dict[str, Any]]] = {"bare": [], "full": []}
        for round_ in range(args.repeat):
            for name in ("bare", "full") if round_ % 2 == 0 else ("full", "bare"):
                cpu = _server_cpu(base)
                with tempfile.TemporaryDirectory() as tmp:
                    if name == "bare":
                        run = _run(
                            [
                                sys.executable,
                                __file__,
                                "--bare",
                                base,
                                "--concurrency",
                                str(args.concurrency),
                            ]
                        )
                    else:
                        run = full(base, args.concurrency, Path(tmp))
                run["server_cpu"] = (_server_cpu(base) - cpu) / run["seconds"]
                results[name].append(run)
                print(
                    f"round {round_ + 1} {name}: {run['pages']} pages, {run['reviews']} reviews "
                    f"in {run['seconds']:.2f}s (server busy {run['server_cpu']:.0%})",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait()
    rates = {}
    for name, runs in results.items():
        pages = statistics.median(r["pages"] / r["seconds"] for r in runs)
        reviews = statistics.median(r["reviews"] / r["seconds"] for r in runs)
        rates[name] = pages
        print(f"{name}: median {pages:.0f} pages/s, {reviews:.0f} reviews/s")
    print(f"full/bare: {rates['full'] / rates['bare']:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
