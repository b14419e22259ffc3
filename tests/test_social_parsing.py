"""Social parsers on arbitrary input, and what the store keeps for social mentions.

Property tests: Mastodon, Reddit and Algolia items and responses of any shape never crash
the spiders, and every unreadable response is reported. Store tests (SQLite and
PostgreSQL): engagement counts refresh without counting an edit; cursors per source kind.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler
from sqlalchemy import Engine, select

from crawler.context import CrawlContext
from crawler.reporting import source_errors
from crawler.social import SocialSpider, html_to_text
from crawler.spiders.hackernews import HackerNewsSpider, hit_post
from crawler.spiders.mastodon import MastodonSpider, link_targets, status_post, tokens_by_host
from crawler.spiders.reddit import RedditSpider, child_post
from repwatch.config import Config
from repwatch.errors import NotFoundError
from repwatch.records import MentionRecord, UpsertResult
from repwatch.store import session_scope
from repwatch.store.queries import ensure_source, upsert_mentions
from repwatch.store.schema import MentionRow
from repwatch.store.source_state import get_state, set_state
from tests.conftest import write_config
from tests.social_server import LUMIERE, source_tables

# -- parsers on arbitrary input ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=5)
    ),
    max_leaves=20,
)
status_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["1", "42", "x", ""]) | st.text(max_size=5)},
    optional={
        "content": st.text(max_size=40) | json_values,
        "account": json_values | st.fixed_dictionaries({"acct": st.text(max_size=8)}),
        "visibility": st.sampled_from(["public", "private", "direct"]) | json_values,
        "reblogs_count": json_values,
        "created_at": st.text(max_size=30),
        "reblog": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, status_like))
def test_item_parsers_never_crash(value: Any) -> None:
    for result in (status_post(value, "host"), child_post(value), hit_post(value)):
        assert result is None or result.text
    child = {"kind": "t3", "data": value} if isinstance(value, dict) else value
    assert child_post(child) is None or child_post(child).native_id  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_html_to_text_never_crashes(html: str) -> None:
    assert "<p>" not in html_to_text(html + "<p>")


@pytest.fixture(scope="module")
def offline_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return write_config(
        tmp_path_factory.mktemp("offline"), extra=LUMIERE + source_tables("http://api.example")
    )


SPIDERS: list[tuple[type[SocialSpider], str, dict[str, Any]]] = [
    (MastodonSpider, "masto", {"step": "timeline"}),
    (MastodonSpider, "masto", {"step": "search", "query": "Nimbus"}),
    (MastodonSpider, "masto", {"step": "lookup"}),
    (RedditSpider, "reddit", {"listing_url": "http://api.example/reddit/r/x/new.json?"}),
    (HackerNewsSpider, "hn", {"base": "http://api.example/hn", "query": "Kestrel"}),
]


@pytest.fixture(scope="module")
def spiders(offline_config: Config) -> list[tuple[SocialSpider, str, dict[str, Any]]]:
    out = []
    context = CrawlContext(offline_config, tuple(offline_config.settings.sources.items()))
    for cls, key, extra in SPIDERS:
        spider = cls.from_crawler(get_crawler(cls), context=context)
        spider.book.begin(key, "l", None)
        out.append((spider, key, extra))
    return out


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_api_responses_never_crash_and_failures_are_reported(
    spiders: list[tuple[SocialSpider, str, dict[str, Any]]], body: bytes
) -> None:
    try:
        json.loads(body)
        valid = True
    except ValueError:
        valid = False
    for spider, key, extra in spiders:
        before = source_errors(spider.crawler, key).get("json", 0)
        url = "http://api.example/x"
        response = Response(url, body=body, request=Request(url))
        out = list(spider.parse(response, source_key=key, listing="l", page=1, **extra))
        failed = source_errors(spider.crawler, key).get("json", 0) - before
        if not valid:
            assert failed == 1
        assert all(isinstance(o, MentionRecord | Request) for o in out)
    link = link_targets(body)
    assert isinstance(link, dict)


# -- what the store keeps: engagement and cursors (SQLite and PostgreSQL) --------------------


def _record(**changes: Any) -> MentionRecord:
    fields: dict[str, Any] = {
        "source": "masto",
        "brand": "kestrel",
        "url": "https://mastodon.example/@anna/1",
        "external_id": "kestrel:1",
        "text": "Kestrel Home sofa",
        "author_reach": 10,
        "metrics": {"boosts": 1, "favourites": 2},
    }
    return MentionRecord(**{**fields, **changes})


def test_new_engagement_is_stored_without_counting_an_edit(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_source(session, key="masto", kind="mastodon", brand="", url="https://m.example")
        assert upsert_mentions(session, [_record()]) == UpsertResult(new=1)
    with session_scope(engine) as session:
        result = upsert_mentions(session, [_record(author_reach=12, metrics={"boosts": 5})])
        assert result == UpsertResult(unchanged=1)
        # A record without engagement leaves the stored counts alone.
        assert upsert_mentions(session, [_record(author_reach=None, metrics=None)]) == (
            UpsertResult(unchanged=1)
        )
    with session_scope(engine) as session:
        row = session.scalars(select(MentionRow)).one()
        assert (row.author_reach, row.metrics) == (12, {"boosts": 5})
        edited = _record(text="Kestrel Home sofa, edited", metrics={"boosts": 6})
        assert upsert_mentions(session, [edited]) == UpsertResult(updated=1)
    with session_scope(engine) as session:
        row = session.scalars(select(MentionRow)).one()
        assert (row.text, row.metrics) == ("Kestrel Home sofa, edited", {"boosts": 6})


def test_cursors_are_kept_per_source_kind(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert get_state(session, "masto") == {}  # not stored yet
        ensure_source(session, key="masto", kind="mastodon", brand="", url="https://m.example")
        set_state(session, "masto", {"tag:kestrel": "5", "search:kestrel": "7"})
    with session_scope(engine) as session:
        set_state(session, "masto", {"tag:kestrel": "9"})  # merged, the search cursor stays
        assert get_state(session, "masto") == {"tag:kestrel": "9", "search:kestrel": "7"}
    with session_scope(engine) as session:
        # The source now points at another kind of service: its cursors do not apply.
        ensure_source(session, key="masto", kind="reddit", brand="", url="https://r.example")
        assert get_state(session, "masto") == {}
        set_state(session, "masto", {"r/x/new": 1.5})
        ensure_source(session, key="masto", kind="mastodon", brand="", url="https://m.example")
        assert get_state(session, "masto") == {"tag:kestrel": "9", "search:kestrel": "7"}
    with session_scope(engine) as session, pytest.raises(NotFoundError, match="ensure_source"):
        set_state(session, "nope", {})


def test_a_mastodon_token_goes_only_to_its_instance() -> None:
    one = {"mastodon.example"}
    assert tokens_by_host("abc", one) == {"mastodon.example": "abc"}
    assert tokens_by_host(" ", one) == {}
    # One bare token and two instances: which one is it for? Sent to none.
    assert tokens_by_host("abc", {"a.example", "b.example"}) == {}
    pairs = "A.example=t1, b.example=t2,c.example="
    assert tokens_by_host(pairs, {"a.example", "b.example"}) == {
        "a.example": "t1",
        "b.example": "t2",
    }
