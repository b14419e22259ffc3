"""Mastodon, Reddit and Hacker News: real crawls of local stand-ins for their APIs.

Two crawls share one database. Between them, new posts appear (phase 2) and the
scripted failures of the first crawl (401, 429, malformed JSON, 500) are gone, so the
second crawl shows what resuming from the stored cursors asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from repwatch.config import Config
from tests.conftest import write_config
from tests.social_server import (
    LUMIERE,
    Reply,
    Services,
    Stored,
    run_crawl,
    running_services,
    source_tables,
    stored,
)

TOKEN = "s3cret-token"
B = 110000000000000100  # status ids of tests/fixtures/api/mastodon/statuses.json
T = 1780000000.0  # created_utc of tests/fixtures/api/reddit/listings.json
C = 1780100000  # created_at_i of tests/fixtures/api/hn/hits.json


@dataclass
class TwoCrawls:
    services: Services
    config: Config
    first: dict[str, Any]
    second: dict[str, Any]
    after_first: Stored
    after_second: Stored
    first_requests: list[str]
    second_requests: list[str]


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoCrawls]:
    directory = tmp_path_factory.mktemp("social")
    db_url = f"sqlite:///{directory / 'repwatch.db'}"
    with running_services() as services:
        config = write_config(directory, extra=LUMIERE + source_tables(services.base))
        services.token = TOKEN
        services.script = [
            (
                ("/reddit/r/homegoods/new.json",),
                Reply(
                    429, b'{"message": "Too Many Requests", "error": 429}', (("Retry-After", "1"),)
                ),
            ),
            (
                ("/reddit/r/homegoods/comments.json",),
                Reply(200, b'{"kind": "Listing", "data": {"chi'),
            ),
            (("/hn/search_by_date", "query=Kestrel&", "page=1"), Reply(500, b"{}", times=None)),
        ]
        first = run_crawl(config.path, db_url)
        after_first = stored(db_url)
        first_requests = list(services.requests)

        services.forget_requests()
        services.script = []
        services.phase = 2
        for hit in services.hits:  # the story got more points since
            if hit["objectID"] == "40000001":
                hit["points"] = 150
        second = run_crawl(config.path, db_url, env={"REPWATCH_MASTODON_TOKEN": TOKEN})
        yield TwoCrawls(
            services,
            config,
            first,
            second,
            after_first,
            stored(db_url),
            first_requests,
            list(services.requests),
        )


def _query(path: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}


def _of(found: Stored, prefix: str) -> dict[str, Any]:
    return {k: m for k, m in found.mentions.items() if m.url.startswith(prefix)}


# -- Mastodon ----------------------------------------------------------------------------


@pytest.mark.slow
def test_mastodon_statuses_with_reach_and_metrics(crawls: TwoCrawls) -> None:
    first = crawls.after_first.mentions
    sofa = first[f"kestrel:{B + 1}"]
    assert sofa.text == (
        "My #Kestrel sofa arrived with a broken leg. Third time I've called Kestrel Home "
        "support this week."
    )
    assert sofa.author == "anna@127.0.0.1"  # local accounts get the instance's host
    assert sofa.author_reach == 1520
    assert sofa.metrics == {"boosts": 12, "favourites": 30, "replies": 4}
    assert sofa.language == "en"
    assert sofa.published_at == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert sofa.url == "https://mastodon.example/@anna/110000000000000101"
    assert first[f"kestrel:{B + 2}"].author == "jonas@social.example.de"
    languages = {first[f"kestrel:{B + n}"].language for n in range(1, 7)}
    assert languages == {"en", "de", "fr", "es", "sv", "ru"}
    # Private statuses, boosts and posts naming no brand are not stored.
    masto_ids = {k for k in first if k.split(":")[1].startswith("1100")}
    assert masto_ids == {f"kestrel:{B + n}" for n in (1, 2, 3, 4, 5, 6, 9)}


@pytest.mark.slow
def test_mastodon_search_without_token_is_an_auth_error(crawls: TwoCrawls) -> None:
    errors = crawls.after_first.errors_of("masto", "auth")
    assert len(errors) == 2  # one per query, after which the crawl went on
    url, reason = errors[0]
    assert "/api/v2/search?" in url
    assert "set REPWATCH_MASTODON_TOKEN to an access token" in reason
    assert crawls.after_first.errors_of("masto") == errors


@pytest.mark.slow
def test_mastodon_paginates_then_resumes_from_min_id(crawls: TwoCrawls) -> None:
    tag_first = [r for r in crawls.first_requests if "/timelines/tag/kestrel" in r]
    # 8 statuses, 3 a page (the stand-in's cap), then an empty page: Link rel="next" (max_id).
    assert [_query(r).get("max_id") for r in tag_first] == [
        None,
        str(B + 6),
        str(B + 3),
        str(B + 1),
    ]
    assert crawls.after_first.states["masto"] == {
        "mastodon": {"tag:kestrel": str(B + 8), "account:kestrelhome": str(B + 10)}
    }
    tag_second = [r for r in crawls.second_requests if "/timelines/tag/kestrel" in r]
    assert [_query(r).get("min_id") for r in tag_second] == [str(B + 8), str(B + 22)]
    account = [r for r in crawls.second_requests if "/accounts/1003/statuses" in r]
    assert _query(account[0])["min_id"] == str(B + 10)
    # The failed searches kept no cursor: the second crawl backfills them, with the token.
    search = [_query(r) for r in crawls.second_requests if "/api/v2/search" in r]
    assert all("min_id" not in q for q in search)
    assert crawls.after_second.states["masto"]["mastodon"] == {
        "tag:kestrel": str(B + 22),
        "account:kestrelhome": str(B + 23),
        "search:nimbus": str(B + 24),
        "search:ルミエール": str(B + 12),
    }
    second = crawls.after_second.mentions
    assert second[f"kestrel:{B + 21}"].text.startswith("Update: @kestrelhome replaced the sofa")
    assert second[f"lumiere:{B + 12}"].language == "ja"
    assert second[f"nimbus:{B + 14}"].title == "Shopping rant"  # the content warning
    assert f"nimbus:{B + 13}" not in second  # "Nimbuswolken" is another word


# -- Reddit ------------------------------------------------------------------------------


@pytest.mark.slow
def test_reddit_posts_and_comments(crawls: TwoCrawls) -> None:
    found = crawls.after_second.mentions
    post = found["kestrel:t3_1a7q01"]
    assert post.title == "Kestrel Home delivery took 6 weeks"
    assert post.text.startswith("Kestrel Home delivery took 6 weeks Ordered a couch")
    assert post.url == "https://www.reddit.com/r/homegoods/comments/1a7q01/kestrel_home_deliver/"
    assert post.metrics == {"score": 152, "comments": 48}
    assert post.author == "sofa_sad"
    assert post.author_reach is None
    assert post.published_at == datetime.fromtimestamp(T + 600, UTC)
    assert found["nimbus:t3_1a7q05"].text.startswith("Nimbus Direct — отзывы")
    removed = found["kestrel:t3_1a7q07"]
    assert (removed.text, removed.author) == ("Kestrel Home scam?", None)
    comment = found["kestrel:t1_k1c001"]
    assert comment.title == "Kestrel Home delivery took 6 weeks"
    assert comment.metrics == {"score": 41}
    assert "kestrel:t1_k1c002" not in found  # only its thread's title names the brand
    assert "kestrel:t3_1a7q04" not in found
    assert "lumiere:t3_1b0s01" not in found  # "lumière du jour" is excluded
    assert found["lumiere:t3_1b0s02"].title == "Lumière lamp review"


@pytest.mark.slow
def test_reddit_rate_limit_malformed_json_and_resume(crawls: TwoCrawls) -> None:
    new_first = [r for r in crawls.first_requests if r.startswith("/reddit/r/homegoods/new")]
    # The 429 was retried after its Retry-After, then 3 pages were read through "after".
    assert [_query(r).get("after") for r in new_first] == [None, None, "t3_1a7q03", "t3_1a7q06"]
    times = crawls.services.requested_at("/reddit/r/homegoods/new")  # second crawl only
    assert len(times) == 1
    json_errors = crawls.after_first.errors_of("reddit", "json")
    assert len(json_errors) == 1
    assert "not JSON (application/json" in json_errors[0][1]
    assert crawls.after_first.states["reddit"]["reddit"] == {
        "r/homegoods/new": T + 600,
        "search:lumière": T + 900,
    }
    # Resumed: "new" stopped at the first page reaching the stored time; comments, whose
    # first crawl failed, were read in full.
    new_second = [r for r in crawls.second_requests if r.startswith("/reddit/r/homegoods/new")]
    assert len(new_second) == 1
    assert "kestrel:t3_1a7q20" in crawls.after_second.mentions
    assert crawls.after_second.states["reddit"]["reddit"]["r/homegoods/comments"] == T + 700


# -- Hacker News -------------------------------------------------------------------------


@pytest.mark.slow
def test_hackernews_stories_and_comments(crawls: TwoCrawls) -> None:
    found = crawls.after_first.mentions
    story = found["kestrel:40000001"]
    assert story.url == "https://news.ycombinator.com/item?id=40000001"
    assert story.title == "Show HN: Kestrel Home open-sources its inventory system"
    assert story.text.endswith("we run the warehouses behind Kestrel Home. Code is on GitHub.")
    assert story.metrics == {"points": 120, "comments": 45}
    comment = found["kestrel:40000002"]
    assert comment.text == (
        "I worked at Kestrel Home for 3 years — the inventory system was the best part."
    )
    assert found["nimbus:40000003"].text.startswith("Nimbus Direct's API is a mess")
    assert {"kestrel:40000005", "nimbus:40000005"} <= found.keys()  # two brands, two mentions
    assert "kestrel:40000004" not in found  # only the story title names the brand
    assert "lumiere:40000007" not in found  # "frères Lumière" is excluded


@pytest.mark.slow
def test_hackernews_default_queries_errors_and_resume(crawls: TwoCrawls) -> None:
    first_pages = [_query(r) for r in crawls.first_requests if r.startswith("/hn/")]
    queries = {q["query"] for q in first_pages if q["page"] == "0"}
    assert queries == {
        "Kestrel Home", "Kestrel", "Nimbus Direct", "Nimbus", "Lumière", "Люмьер", "ルミエール"
    }  # fmt: skip
    assert all(q["tags"] == "(story,comment)" for q in first_pages)
    assert crawls.after_first.errors_of("hn") == [
        (crawls.after_first.errors_of("hn", "http")[0][0], "HTTP 500; check the URL, or "
         "whether the site is down")
    ]  # fmt: skip
    cursors = crawls.after_first.states["hn"]["hackernews"]
    assert "query:kestrel" not in cursors  # its page 2 failed
    assert cursors["query:kestrel home"] == C + 60
    second = {_query(r)["query"]: _query(r) for r in crawls.second_requests if "page=0" in r}
    assert second["Kestrel Home"]["numericFilters"] == f"created_at_i>{C + 60}"
    assert "numericFilters" not in second["Kestrel"]
    assert crawls.after_second.mentions["kestrel:40000010"].published_at == datetime.fromtimestamp(
        C + 5000, UTC
    )


@pytest.mark.slow
def test_second_crawl_adds_only_new_posts_and_refreshes_metrics(crawls: TwoCrawls) -> None:
    first, second = crawls.after_first.mentions, crawls.after_second.mentions
    assert set(first) <= set(second)
    new = set(second) - set(first)
    assert crawls.second["new"] == len(new)
    assert crawls.second["updated"] == 0
    # New likes are stored without counting the story as edited.
    assert second["kestrel:40000001"].metrics == {"points": 150, "comments": 45}
    assert second["kestrel:40000001"].updated_at == first["kestrel:40000001"].updated_at
    assert crawls.first["new"] == len(first) == 7 + 7 + 6
    assert new == {
        f"kestrel:{B + 21}", f"kestrel:{B + 22}", f"kestrel:{B + 23}", f"nimbus:{B + 11}",
        f"nimbus:{B + 14}", f"nimbus:{B + 24}", f"lumiere:{B + 12}",
        "kestrel:t3_1a7q20", "kestrel:t1_k1c001", "kestrel:40000010",
    }  # fmt: skip
