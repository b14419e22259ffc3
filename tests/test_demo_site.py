"""Tests for the bundled demo review site (data file and local HTTP server)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from repwatch.demo import BRANDS, DemoSite, load_demo_reviews
from repwatch.demo.site import DemoReview, brand_reviews, jsonld_script

PER_PAGE = 7
LANGS = ("en", "fr", "sv", "ru", "de", "es")
EXPECTED_FIRST = (
    "I waited on hold for 45 minutes, then the agent told me my sofa delivery was cancelled "
    "and nobody could tell me why. Three weeks later I still have no sofa and no refund."
)
JSONLD_RE = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(per_page=PER_PAGE) as running:
        yield running


def fetch(url: str) -> tuple[int, str, str]:
    """GET ``url``; return status, Content-Type and decoded body."""
    with urlopen(Request(url), timeout=10) as resp:
        body = resp.read()
        assert int(resp.headers["Content-Length"]) == len(body)
        return resp.status, resp.headers["Content-Type"], body.decode("utf-8")


def fetch_error(url: str) -> int:
    """GET ``url`` expecting an HTTP error; return its status code."""
    with pytest.raises(HTTPError) as info:
        fetch(url)
    info.value.close()
    return info.value.code


def jsonld(html: str) -> Any:
    blocks = JSONLD_RE.findall(html)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def walk(site: DemoSite, brand: str) -> list[str]:
    """Follow rel=next from page 1; return the review ids in order."""
    ids: list[str] = []
    path: str | None = f"/{brand}/reviews"
    pages = 0
    while path is not None:
        _, _, html = fetch(site.url + path)
        ids += [item["@id"].rsplit("/", 1)[1] for item in jsonld(html)["review"]]
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        path = nxt.group(1) if nxt else None
        pages += 1
        assert pages < 100
    return ids


# --- data file -------------------------------------------------------------------------


def test_data_file_sanity() -> None:
    reviews = load_demo_reviews()
    assert len(reviews) >= 190
    assert all(isinstance(r, DemoReview) for r in reviews)
    per_lang = Counter(r.lang for r in reviews)
    assert set(per_lang) == set(LANGS)
    assert all(per_lang[lang] >= 30 for lang in LANGS)
    brands = Counter(r.brand for r in reviews)
    assert set(brands) == set(BRANDS)
    assert 0.5 <= brands["kestrel"] / len(reviews) <= 0.7
    assert {r.rating for r in reviews} == {1, 2, 3, 4, 5}
    low = sum(r.rating <= 2 for r in reviews) / len(reviews)
    assert 0.30 <= low <= 0.45
    ids = [r.id for r in reviews]
    assert len(set(ids)) == len(ids)
    for r in reviews:
        assert re.fullmatch(rf"{r.brand}-{r.lang}-\d{{3}}", r.id)
        assert "2026-08-01" <= r.date <= "2026-11-20"
        assert r.title.strip()
        assert r.text.strip()
        assert r.author.strip()


def test_known_english_review() -> None:
    first = {r.id: r for r in load_demo_reviews()}["kestrel-en-001"]
    assert first.rating == 1
    assert first.lang == "en"
    assert first.brand == "kestrel"
    assert first.title == "Three weeks and still no sofa"
    assert first.text == EXPECTED_FIRST


def test_brand_reviews_newest_first() -> None:
    keys = [(r.date, r.id) for r in brand_reviews("nimbus")]
    assert keys == sorted(keys, reverse=True)


# --- JSON-LD embedding -----------------------------------------------------------------


class _ScriptCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._inside = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.scripts[-1] += data


def test_jsonld_script_cannot_break_out() -> None:
    evil = "Bad </script><script>alert(1)</script> <!-- x"
    html = jsonld_script({"reviewBody": evil, "name": "Ünïcødé"})
    assert html.count("</script>") == 1
    assert html.endswith("</script>")
    assert "<!--" not in html
    parser = _ScriptCollector()
    parser.feed(html)
    parser.close()
    assert len(parser.scripts) == 1
    assert json.loads(parser.scripts[0]) == {"reviewBody": evil, "name": "Ünïcødé"}


# --- server ----------------------------------------------------------------------------


def test_index_and_robots(site: DemoSite) -> None:
    status, ctype, html = fetch(site.url + "/")
    assert status == 200
    assert ctype == "text/html; charset=utf-8"
    assert 'href="/kestrel/reviews"' in html
    assert 'href="/nimbus/reviews"' in html
    status, ctype, text = fetch(site.url + "/robots.txt")
    assert ctype == "text/plain; charset=utf-8"
    assert text == "User-agent: *\nAllow: /\n"


def test_first_page(site: DemoSite) -> None:
    status, ctype, html = fetch(site.url + "/kestrel/reviews")
    assert status == 200
    assert ctype == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in html
    assert '<html lang="en">' in html
    assert html.count('<article class="review"') == PER_PAGE
    assert '<a rel="next" href="/kestrel/reviews?page=2">' in html
    assert '<link rel="next" href="/kestrel/reviews?page=2">' in html
    assert 'rel="prev"' not in html
    newest = brand_reviews("kestrel")[:PER_PAGE]
    for review in newest:
        assert f'id="{review.id}"' in html
        assert review.date in html
    data = jsonld(html)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "LocalBusiness"
    assert data["name"] == "Kestrel Home"
    assert data["url"] == site.url + "/kestrel"
    all_kestrel = brand_reviews("kestrel")
    agg = data["aggregateRating"]
    assert agg["@type"] == "AggregateRating"
    assert agg["reviewCount"] == len(all_kestrel)
    assert agg["ratingValue"] == round(sum(r.rating for r in all_kestrel) / len(all_kestrel), 1)
    assert (agg["bestRating"], agg["worstRating"]) == (5, 1)
    assert [item["@id"].rsplit("/", 1)[1] for item in data["review"]] == [r.id for r in newest]
    item, review = data["review"][0], newest[0]
    permalink = f"{site.url}/kestrel/reviews/{review.id}"
    assert item["@type"] == "Review"
    assert item["@id"] == item["url"] == permalink
    assert item["name"] == review.title
    assert item["reviewBody"] == review.text
    assert item["inLanguage"] == review.lang
    assert item["datePublished"] == review.date
    assert item["author"] == {"@type": "Person", "name": review.author}
    assert item["reviewRating"] == {
        "@type": "Rating",
        "ratingValue": review.rating,
        "bestRating": 5,
        "worstRating": 1,
    }


def test_review_text_is_visible_and_escaped(site: DemoSite) -> None:
    target = next(r for r in brand_reviews("nimbus") if "'" in r.text)
    page = brand_reviews("nimbus").index(target) // PER_PAGE + 1
    _, _, html = fetch(f"{site.url}/nimbus/reviews?page={page}")
    assert escape(target.text) in html
    assert escape(target.title) in html


def test_last_page_and_walk(site: DemoSite) -> None:
    seen: list[str] = []
    for brand in BRANDS:
        ids = walk(site, brand)
        assert ids == [r.id for r in brand_reviews(brand)]
        seen += ids
        last = -(-len(ids) // PER_PAGE)
        _, _, html = fetch(f"{site.url}/{brand}/reviews?page={last}")
        assert 'rel="next"' not in html
        assert f'<a rel="prev" href="/{brand}/reviews?page={last - 1}">' in html
    assert sorted(seen) == sorted(r.id for r in load_demo_reviews())


def test_permalink_page(site: DemoSite) -> None:
    status, _, html = fetch(site.url + "/kestrel/reviews/kestrel-en-001")
    assert status == 200
    assert "Three weeks and still no sofa" in html
    data = jsonld(html)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Review"
    assert data["@id"] == site.url + "/kestrel/reviews/kestrel-en-001"
    assert data["reviewBody"] == EXPECTED_FIRST
    assert data["reviewRating"]["ratingValue"] == 1
    assert data["itemReviewed"] == {"@type": "LocalBusiness", "name": "Kestrel Home"}


def test_absolute_urls_follow_host_header(site: DemoSite) -> None:
    req = Request(site.url + "/nimbus/reviews", headers={"Host": "reviews.example:8080"})
    with urlopen(req, timeout=10) as resp:
        data = jsonld(resp.read().decode("utf-8"))
    assert data["url"] == "http://reviews.example:8080/nimbus"
    assert data["review"][0]["url"].startswith("http://reviews.example:8080/nimbus/reviews/")


@pytest.mark.parametrize(
    "path",
    [
        "/kestrel/reviews?page=999",
        "/kestrel/reviews?page=0",
        "/kestrel/reviews?page=abc",
        "/acme/reviews",
        "/acme/reviews/acme-en-001",
        "/nimbus/reviews/kestrel-en-001",
        "/nope",
    ],
)
def test_not_found(site: DemoSite, path: str) -> None:
    assert fetch_error(site.url + path) == 404


def test_start_stop_lifecycle() -> None:
    demo = DemoSite(per_page=50)
    with pytest.raises(RuntimeError):
        _ = demo.url
    url = demo.start()
    try:
        assert demo.start() == url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert fetch(url + "/")[0] == 200
    finally:
        demo.stop()
    demo.stop()
    with pytest.raises(RuntimeError):
        _ = demo.url


def test_per_page_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_page"):
        DemoSite(per_page=0)
