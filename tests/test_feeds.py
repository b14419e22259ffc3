"""Feeds: RSS 0.91/1.0/2.0 and Atom parsed safely, entries matched against the brands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.context import CrawlContext
from crawler.reporting import PageError, page_errors, source_errors
from crawler.social import Post
from crawler.spiders.feed import FeedSpider, entry_post, parse_feed
from repwatch.config import Config
from repwatch.records import MentionRecord
from tests.conftest import write_config
from tests.social_server import API, LUMIERE, Services, run_crawl, running_services, stored

FEEDS = API / "feeds"
FEED_SOURCES = ("news.rss", "blog.atom", "forum.rdf", "legacy.rss", "broken.rss", "billion.rss",
                "xxe.rss", "page.html", "missing.rss")  # fmt: skip


def _posts(name: str, content_type: str | None = None) -> list[Post]:
    """The posts of every entry of a fixture feed (all of them have text)."""
    url = f"http://feeds.example/{name}"
    parsed = parse_feed((FEEDS / name).read_bytes(), url, content_type)
    language = parsed.feed.get("language")
    posts = [entry_post(entry, url, language) for entry in parsed.entries]
    assert all(posts)
    return [post for post in posts if post is not None]


def test_entity_expansion_is_never_done_by_feedparser() -> None:
    """A billion-laughs feed parses at once, without expanding a single level of nesting."""
    parsed = parse_feed((FEEDS / "billion.rss").read_bytes(), "http://x.example/", None)
    assert parsed.bozo
    texts = [e.get("title", "") + e.get("summary", "") for e in parsed.entries]
    assert texts, "feedparser should still recover the entry"
    assert all("lollol" not in text and len(text) < 200 for text in texts)


def test_external_entities_are_never_fetched() -> None:
    parsed = parse_feed((FEEDS / "xxe.rss").read_bytes(), "http://x.example/", None)
    everything = repr(parsed)
    assert "root:" not in everything
    assert "/bin/" not in everything
    assert parsed.entries[0].title == "Kestrel Home &xxe;"  # left as it was written


def test_a_body_is_never_read_as_a_file_name() -> None:
    """Given bytes, feedparser would open a local file of that name; a stream it reads."""
    parsed = parse_feed(b"/etc/passwd", "http://x.example/", "application/rss+xml")
    assert "root:" not in repr(parsed)
    assert parsed.entries == []


def test_rss_091_with_netscape_doctype_and_latin1() -> None:
    posts = _posts("legacy.rss")
    assert [p.title for p in posts] == [
        "Ofertas de Nimbus Direct en España",
        "Noticias de la tienda",
    ]
    assert posts[0].text == "Nimbus Direct rebaja sus sillas de oficina. Envío gratis desde 50 €."
    assert posts[1].text == "Abrimos los domingos. Pequeño cambio de horario."
    assert posts[0].language == "es"
    assert posts[0].native_id == "http://oldshop.example.com/nimbus-espana.html"


def test_rss_10_rdf() -> None:
    posts = _posts("forum.rdf", "application/rdf+xml")
    assert posts[0].title == "Люмьер — лампы перегорают через месяц"
    assert posts[0].author == "Ирина"
    assert posts[0].published_at == datetime(2026, 6, 3, 15, 0, tzinfo=UTC)
    assert posts[0].language == "ru"
    assert posts[1].language == "sv"  # dc:language of the item beats the channel's


def test_rss_20_content_encoded_guid_and_tracking_parameters() -> None:
    posts = _posts("news.rss", "application/rss+xml")
    recall = posts[0]
    assert recall.native_id == "news-example-8812"
    assert recall.url == "https://news.example.com/2026/06/kestrel-recall"  # utm_* dropped
    assert recall.author == "Dana Whitfield"
    assert recall.text.startswith("Kestrel Home is recalling 4,000 units of its Fjord bookshelf")
    assert "<" not in recall.text
    assert recall.language == "en-us"
    assert posts[1].published_at == datetime(2026, 6, 3, 8, 30, tzinfo=UTC)
    assert posts[1].text == "The online retailer Nimbus Direct will employ 300 people in Leeds."


def test_atom_xhtml_content_and_xml_lang() -> None:
    (post,) = _posts("blog-2.atom", "application/atom+xml")
    assert post.text == "Compré dos lámparas Lumière y una ya no enciende."
    assert post.language == "es"
    assert post.author == "Lucía"


# -- the spider's page handling, without a crawl -------------------------------------------


@pytest.fixture(scope="module")
def feed_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    extra = LUMIERE + '\n[sources.news]\nkind = "feed"\nurl = "http://feeds.example/news.rss"\n'
    return write_config(tmp_path_factory.mktemp("feedcfg"), extra=extra)


def _spider(config: Config) -> FeedSpider:
    crawler = get_crawler(FeedSpider)
    context = CrawlContext(config, tuple(config.settings.sources.items()))
    return FeedSpider.from_crawler(crawler, context=context)


def _parse(
    config: Config, body: bytes, kind: str = "application/rss+xml", spider: FeedSpider | None = None
) -> tuple[list[MentionRecord], list[PageError]]:
    """The records and page errors of one feed response handled by the spider."""
    spider = spider or _spider(config)
    before = len(page_errors(spider.crawler))
    url = "http://feeds.example/news.rss"
    response = Response(url, body=body, headers={"Content-Type": kind}, request=Request(url))
    out = list(spider.parse(response, source_key="news", listing="feed", page=1))
    records = [r for r in out if isinstance(r, MentionRecord)]
    return records, page_errors(spider.crawler)[before:]


def _error_kinds(spider: FeedSpider) -> Counter[str]:
    return Counter(source_errors(spider.crawler, "news"))


def test_unsafe_xml_is_refused_before_parsing(feed_config: Config) -> None:
    for name in ("billion.rss", "xxe.rss"):
        records, errors = _parse(feed_config, (FEEDS / name).read_bytes())
        assert records == []
        assert [e.kind for e in errors] == ["unsafe-xml"]
        assert "declares XML entities" in errors[0].reason
    utf16 = (FEEDS / "xxe.rss").read_text().replace('<?xml version="1.0"?>', "")
    records, errors = _parse(feed_config, utf16.encode("utf-16"))
    assert [e.kind for e in errors] == ["unsafe-xml"]


def test_broken_feed_keeps_recovered_entries(feed_config: Config) -> None:
    records, errors = _parse(feed_config, (FEEDS / "broken.rss").read_bytes())
    assert [e.kind for e in errors] == ["feed"]
    assert "kept 2 readable entries" in errors[0].reason
    assert {(r.brand, r.url) for r in records} == {
        ("kestrel", "https://forum.example.com/t/1"),
        ("nimbus", "https://forum.example.com/t/1"),
        ("nimbus", "https://forum.example.com/t/2"),
    }


def test_html_page_is_reported_as_no_feed(feed_config: Config) -> None:
    records, errors = _parse(feed_config, (FEEDS / "page.html").read_bytes(), "text/html")
    assert records == []
    assert errors[0].kind == "feed"
    assert errors[0].reason.startswith("not an RSS or Atom feed (text/html)")


_SAMPLES = [(FEEDS / name).read_bytes() for name in ("news.rss", "blog.atom", "forum.rdf")]


@st.composite
def mangled_feeds(draw: st.DrawFn) -> bytes:
    body = draw(st.sampled_from(_SAMPLES))
    cut = draw(st.integers(0, len(body)))
    at = draw(st.integers(0, cut))
    noise = draw(st.binary(max_size=40) | st.sampled_from([b"<", b"&bad;", b"]]>", b"\xff\xfe"]))
    return body[:at] + noise + body[at:cut]


@pytest.fixture(scope="module")
def feed_spider(feed_config: Config) -> FeedSpider:
    return _spider(feed_config)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mangled_feeds() | st.binary(max_size=300))
def test_malformed_feeds_never_crash_and_are_reported(
    feed_config: Config, feed_spider: FeedSpider, body: bytes
) -> None:
    before = _error_kinds(feed_spider)
    records, _ = _parse(feed_config, body, spider=feed_spider)
    errors = _error_kinds(feed_spider) - before  # records stop at 1,000; counts do not
    parsed = parse_feed(body, "http://feeds.example/news.rss", "application/rss+xml")
    if parsed["bozo"] and not errors["unsafe-xml"]:
        assert errors in (Counter(feed=1), Counter(encoding=1))
    assert all(r.text and r.brand in feed_config.settings.brands for r in records)


def test_feedparser_failures_are_reported_not_raised(feed_config: Config) -> None:
    """feedparser itself raises on some bytes (found by the property test above)."""
    for body in (b'<?xml version="1.0" encoding="\x80UTF-8"?>', b"\x00<rss>\x00"):
        records, errors = _parse(feed_config, body)
        assert records == []
        assert [e.kind for e in errors] == ["feed"]


# -- a real crawl ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    with running_services() as server:
        yield server


def _feed_config(directory: Path, services: Services) -> Config:
    tables = [LUMIERE]
    for name in FEED_SOURCES:
        key = name.replace(".", "-")
        tables.append(
            f'[sources.{key}]\nkind = "feed"\nurl = "{services.base}/feeds/{name}"\n'
            "allow_private = true\n"
        )
    tables.append(  # robots.txt of the stand-in disallows /forbidden/
        f'[sources.forbidden]\nkind = "feed"\nurl = "{services.base}/forbidden/news.rss"\n'
        "allow_private = true\n"
    )
    return write_config(directory, extra="\n".join(tables))


@pytest.mark.slow
def test_feed_crawl_stores_mentions_and_reports_bad_feeds(
    tmp_path: Path, services: Services
) -> None:
    config = _feed_config(tmp_path, services)
    db_url = f"sqlite:///{tmp_path / 'repwatch.db'}"
    first = run_crawl(config.path, db_url)
    found = stored(db_url)
    by_id = found.mentions
    recall = by_id["kestrel:news-example-8812"]
    assert recall.title == "Kestrel Home recalls 4,000 bookshelves"
    assert recall.url == "https://news.example.com/2026/06/kestrel-recall"
    assert recall.language == "en-us"
    assert recall.published_at == datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    # An entry naming two brands is one mention per brand.
    both = "https://news.example.com/de/2026/06/preiskampf"
    assert {m.brand for m in by_id.values() if m.url == both} == {"kestrel", "nimbus"}
    # Atom paging followed (page 2 links back to page 1: not fetched twice).
    assert by_id["lumiere:urn:uuid:0d3a7b52-5c1e-4f37-9d0a-4a7a8c1e2b03"].language == "es"
    assert len(services.requested("/feeds/blog.atom")) == 1
    # RSS 1.0 in Cyrillic, RSS 0.91 in Spanish.
    assert by_id["lumiere:https://forum.example.ru/t/101"].author == "Ирина"
    assert by_id["nimbus:http://oldshop.example.com/nimbus-espana.html"].language == "es"
    # Entries naming no brand, and "lumière du jour", are not stored.
    texts = " ".join(m.text for m in by_id.values())
    assert "Interest rates" not in texts
    assert "ипотеку" not in texts
    assert "lumière du jour, même en hiver" not in texts
    assert len(by_id) == 12
    # Bad feeds are errors of their source; the crawl went on.
    assert [kind for source, kind, _, _ in found.errors if source == "billion-rss"] == [
        "unsafe-xml"
    ]
    assert found.errors_of("xxe-rss", "unsafe-xml")
    assert found.errors_of("broken-rss", "feed")
    assert found.errors_of("page-html", "feed")
    assert found.errors_of("missing-rss", "http")
    ((_, reason),) = found.errors_of("forbidden", "robots")
    assert "Set obey_robots_txt = false in [crawl] only if" in reason
    assert not services.requested("/forbidden/")
    assert first["new"] == 12

    again = run_crawl(config.path, db_url)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 12)
    assert len(stored(db_url).mentions) == 12
