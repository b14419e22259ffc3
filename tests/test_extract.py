"""JSON-LD review extraction: nesting, @graph, ratings, dates, ids, broken blocks, garbage."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, Response

from crawler.extract import (
    PageLinks,
    PageProblem,
    extract_page,
    next_page_url,
    page_links,
    parse_block,
    reviews_from_html,
    reviews_from_jsonld,
)
from crawler.fields import (
    _canonical_simple,
    _canonical_urllib,
    canonical_url,
    clean_text,
    identity_url,
    normalise_rating,
    parse_published,
)
from crawler.markup import detect_markups
from crawler.pages import read_page
from crawler.pipelines import normalise_text

SITE = Path(__file__).resolve().parent / "fixtures" / "sites" / "reviews"
PAGE = "https://shop.example/reviews?page=2"


def _page(*blocks: Any, raw: str = "") -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks
    )
    return f"<html><head>{scripts}{raw}</head><body><p>hi</p></body></html>"


def _review(**fields: Any) -> dict[str, Any]:
    return {"@type": "Review", "reviewBody": "Good.", **fields}


def test_reviews_nested_in_a_business_product_and_organization():
    doc = [
        {"@type": "LocalBusiness", "review": [_review(**{"@id": "/r/1"}), _review(url="/r/2")]},
        {"@type": "Product", "review": _review(**{"@id": "/r/3"})},
        {"@type": "Organization", "reviews": [_review(**{"@id": "/r/4"})]},
    ]
    ids = [r.external_id for r in reviews_from_jsonld(doc, PAGE)]
    assert ids == [f"https://shop.example/r/{n}" for n in (1, 2, 3, 4)]


def test_reviews_in_a_graph_with_types_as_lists_and_iris():
    doc = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "@id": "#org"},
            _review(**{"@id": "urn:review:1", "@type": ["Review"]}),
            _review(**{"@id": "urn:review:2", "@type": "https://schema.org/Review"}),
            _review(**{"@id": "urn:review:3", "@type": "schema:UserReview"}),
            _review(**{"@id": "urn:review:4", "@type": "ClaimReview"}),
        ],
    }
    ids = [r.external_id for r in reviews_from_jsonld(doc, PAGE)]
    assert ids == ["urn:review:1", "urn:review:2", "urn:review:3"]


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ({"ratingValue": 8, "bestRating": 10}, 7 / 9),
        ({"ratingValue": "8", "bestRating": "10", "worstRating": "0"}, 0.8),
        ({"ratingValue": 1}, 0.0),
        ({"ratingValue": 5}, 1.0),
        ({"ratingValue": "4,5"}, 0.875),
        ({"ratingValue": 7}, 1.0),  # above bestRating: clamped
        ({"ratingValue": 0}, 0.0),
        ({"ratingValue": 3, "bestRating": 1, "worstRating": 5}, None),  # inverted scale
        ({"ratingValue": "five"}, None),
        ({"ratingValue": True}, None),
        ({"ratingValue": "NaN"}, None),
        ({}, None),
        (None, None),
        (4, 0.75),
    ],
)
def test_rating_is_normalised_to_zero_one(rating, expected):
    result = normalise_rating(rating)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T09:30:00+01:00", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("last tuesday", None),
        ("2026-02-30", None),
        (20260301, None),
        (None, None),
    ],
)
def test_date_published_becomes_aware_utc(value, expected):
    assert parse_published(value) == expected


def test_review_fields():
    review = reviews_from_jsonld(
        _review(
            reviewBody="  Slow\n\n   delivery. ",
            name="Meh",
            author=[{"@type": "Person", "name": "Ana"}],
            inLanguage={"@type": "Language", "name": "German", "alternateName": "de"},
            datePublished="2026-01-02",
            reviewRating={"@type": "Rating", "ratingValue": "2"},
            url="/r/9?utm_source=x&fbclid=y&colour=red#top",
        ),
        PAGE,
    )[0]
    assert review.url == "https://shop.example/r/9?colour=red"
    assert review.external_id == "https://shop.example/r/9?colour=red#top"
    assert (review.text, review.title, review.author, review.language) == (
        "Slow delivery.",
        "Meh",
        "Ana",
        "de",
    )
    assert (review.rating, review.published_at) == (0.25, datetime(2026, 1, 2, tzinfo=UTC))


def test_author_as_plain_string():
    assert reviews_from_jsonld(_review(author=" Bo "), PAGE)[0].author == "Bo"


def test_review_without_id_gets_a_content_hash_that_ignores_the_page():
    doc = _review(author="Bo", datePublished="2026-01-02", reviewBody="Fine.")
    here = reviews_from_jsonld(doc, PAGE)[0]
    there = reviews_from_jsonld(doc, "https://mirror.example/other")[0]
    assert here.external_id == there.external_id
    assert here.external_id.startswith("sha256:")
    assert here.url == PAGE
    assert reviews_from_jsonld({**doc, "reviewBody": "Fine!"}, PAGE)[0].external_id != (
        here.external_id
    )


def test_fragment_ids_are_page_local_so_the_content_hash_is_used():
    review = reviews_from_jsonld(_review(**{"@id": "#review-3"}), PAGE)[0]
    assert review.external_id.startswith("sha256:")
    assert review.url == PAGE


def test_very_long_ids_are_hashed_to_fit_the_column():
    review = reviews_from_jsonld(_review(url="/r/" + "x" * 400), PAGE)[0]
    assert review.external_id.startswith("sha256:")
    assert len(review.external_id) <= 255


def test_reviews_without_text_are_skipped():
    page = extract_page(_page([_review(reviewBody="  "), _review(reviewBody=None)]), PAGE)
    assert (page.reviews, page.skipped_empty) == ((), 2)


def test_broken_block_is_reported_and_the_others_still_read():
    broken = '<script type="application/ld+json">{"@type": "Review",</script>'
    html = broken + _page(_review(**{"@id": "/r/1"}))
    page = extract_page(html, PAGE)
    assert [r.external_id for r in page.reviews] == ["https://shop.example/r/1"]
    assert page.problems == (
        PageProblem(
            "jsonld",
            "JSON-LD block 1 of 2: not valid JSON: Expecting property name enclosed in double "
            "quotes (line 1, column 20)",
        ),
    )


def test_comment_wrapped_block_is_read():
    data, problem = parse_block("\n<!--\n" + json.dumps(_review()) + "\n-->\n")
    assert problem is None
    assert data["@type"] == "Review"


def test_text_that_a_database_cannot_store_is_cleaned():
    html = (
        '<script type="application/ld+json">{"@type": "Review", "reviewBody": "a\\ud800\\u0000b"}'
    )
    assert [r.text for r in reviews_from_html(html + "</script>", PAGE)] == ["a?b"]
    assert extract_page("\ud800 ld+json", PAGE).problems == (
        PageProblem("html", "page is not parseable HTML"),
    )


def test_deeply_nested_json_is_a_problem_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    page = extract_page(f'<script type="application/ld+json">{deep}</script>', PAGE)
    assert page.reviews == ()
    assert page.problems == (PageProblem("jsonld", "JSON-LD block 1 of 1: nested too deeply"),)


def test_page_without_jsonld_is_not_parsed():
    assert extract_page("<html><body>" + "<p>x</p>" * 1000 + "</body></html>", PAGE).blocks == 0


def test_fixture_pages():
    html = (SITE / "kestrel" / "page3.html").read_text(encoding="utf-8")
    reviews = reviews_from_html(html, "http://127.0.0.1:1/kestrel/page3.html")
    assert [(r.language, r.rating) for r in reviews] == [("es", 0.25), ("nl", 0.75)]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<link rel="next" href="/p/3">', "https://shop.example/p/3"),
        ('<LINK REL="Next prefetch" HREF="p3.html">', "https://shop.example/p3.html"),
        ('<a rel="nofollow next" href="?page=3">more</a>', "https://shop.example/reviews?page=3"),
        ('<a rel="prev" href="/p/1">back</a>', None),
        ('<a rel="next" href="javascript:more()">more</a>', None),
        ("", None),
    ],
)
def test_next_page_url(head, expected):
    response = HtmlResponse(PAGE, body=f"<html><head>{head}</head></html>", encoding="utf-8")
    assert next_page_url(response) == expected


def test_canonical_url_drops_tracking_and_fragment():
    url = "HTTPS://Shop.Example/r/1?utm_campaign=a&id=3&gclid=x#frag"
    assert canonical_url(url, PAGE) == "https://shop.example/r/1?id=3"
    assert canonical_url("mailto:a@b.c", PAGE) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example:443/r?b=2&a=1", "https://shop.example/r?a=1&b=2"),
        ("http://shop.example:80/r", "http://shop.example/r"),
        ("http://shop.example:8080/r", "http://shop.example:8080/r"),
        (
            "https://shop.example/r?ref=mail&ref_src=tw&mc_cid=1&mc_eid=2&fbclid=f",
            "https://shop.example/r",
        ),
        ("https://shop.example/r?UTM_Source=x&page=2", "https://shop.example/r?page=2"),
        ("https://user:pw@shop.example/r", "https://shop.example/r"),
        ("https://[::1]:8443/r", "https://[::1]:8443/r"),
        ("https://shop.example", "https://shop.example/"),
        ("https://[::1/r", None),
    ],
)
def test_canonical_url_rules(url, expected):
    assert canonical_url(url, PAGE) == expected


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.shop.example/r/1?b=2&a=1#r",
        "https://m.shop.example/r/1?a=1&b=2&utm_medium=x#r",
        "https://mobile.shop.example/r/1?a=1&b=2#r",
        "https://shop.example/r/1?a=1&b=2&gclid=z#r",
    ],
)
def test_identity_url_folds_www_and_mobile_hosts_and_keeps_the_fragment(variant):
    assert identity_url(variant, PAGE) == "https://shop.example/r/1?a=1&b=2#r"
    assert canonical_url(variant, PAGE) != identity_url(variant, PAGE)  # links keep their host


def test_identity_url_keeps_a_bare_two_label_host():
    assert identity_url("https://m.example/r", PAGE) == "https://m.example/r"


MICRODATA_PAGE = """<html><body>
<div itemscope itemtype="https://schema.org/LocalBusiness"><span itemprop="name">Kestrel</span>
 <div itemprop="aggregateRating" itemscope itemtype="https://schema.org/AggregateRating">
  <meta itemprop="ratingValue" content="4.1"><meta itemprop="reviewCount" content="12"></div>
 <div itemprop="review" itemscope itemtype="https://schema.org/Review" itemid="/r/m1">
  <span itemprop="author">Ana</span><meta itemprop="datePublished" content="2026-01-02">
  <div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">
   <meta itemprop="ratingValue" content="8"><meta itemprop="bestRating" content="10">
   <meta itemprop="worstRating" content="0"></div>
  <p itemprop="reviewBody">Quick and friendly.</p></div>
 <div itemprop="review" itemscope itemtype="https://schema.org/Review">
  <p itemprop="description">No id, so a content hash.</p></div>
</div>
<div itemscope itemtype="https://schema.org/Organization">
 <div itemprop="review" itemscope itemtype="http://schema.org/UserReview">
  <a itemprop="url" href="/r/m3?utm_source=feed">link</a>
  <span itemprop="reviewBody">Nested in an Organization.</span></div></div>
</body></html>"""

RDFA_PAGE = """<html><body>
<div vocab="https://schema.org/" typeof="Product"><span property="name">Sofa</span>
 <div property="aggregateRating" typeof="AggregateRating">
  <span property="ratingValue">4</span></div>
 <div property="review" typeof="Review" resource="/r/x1">
  <span property="author" typeof="Person"><span property="name">Bo</span></span>
  <div property="reviewRating" typeof="Rating"><span property="ratingValue">2</span></div>
  <span property="reviewBody">Wobbly legs.</span><meta property="inLanguage" content="en"></div>
</div>
<div prefix="s: http://schema.org/" typeof="s:Review" resource="https://shop.example/r/x2">
  <span property="s:reviewBody">Prefixed vocabulary.</span></div>
</body></html>"""


def test_microdata_reviews_nested_in_business_and_organization():
    page = extract_page(MICRODATA_PAGE, PAGE)
    assert page.markups == frozenset({"microdata"})
    by_text = {r.text: r for r in page.reviews}
    assert set(by_text) == {
        "Quick and friendly.",
        "No id, so a content hash.",
        "Nested in an Organization.",
    }
    m1 = by_text["Quick and friendly."]
    assert (m1.external_id, m1.author, m1.rating) == ("https://shop.example/r/m1", "Ana", 0.8)
    assert m1.published_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert by_text["No id, so a content hash."].external_id.startswith("sha256:")
    m3 = by_text["Nested in an Organization."]
    assert (m3.url, m3.external_id) == ("https://shop.example/r/m3", "https://shop.example/r/m3")


def test_rdfa_reviews_with_vocab_and_prefix():
    page = extract_page(RDFA_PAGE, PAGE)
    assert page.markups == frozenset({"rdfa"})
    by_id = {r.external_id: r for r in page.reviews}
    assert set(by_id) == {"https://shop.example/r/x1", "https://shop.example/r/x2"}
    x1 = by_id["https://shop.example/r/x1"]
    assert (x1.text, x1.author, x1.rating, x1.language) == ("Wobbly legs.", "Bo", 0.25, "en")
    assert by_id["https://shop.example/r/x2"].text == "Prefixed vocabulary."


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('<script type="application/ld+json">{}</script>', {"json-ld"}),
        ('<div itemscope itemtype="https://schema.org/Review">', {"microdata"}),
        ('<div ItemScope ItemType="https://schema.org/Product"><b>reviews</b>', {"microdata"}),
        ('<div itemscope itemtype="https://schema.org/Product">', set()),  # no review anywhere
        ('<div vocab="https://schema.org/" typeof="Review">', {"rdfa"}),
        ('<meta property="og:title" content="Reviews">', set()),  # OpenGraph is not worth it
        ("<p>nothing structured about reviews</p>", set()),
    ],
)
def test_markups_are_detected_from_bytes(page, expected):
    assert detect_markups(page.encode()) == frozenset(expected)


def test_extruct_failures_are_problems_not_crashes():
    nested = '<div itemscope itemtype="https://schema.org/Review" itemprop="review">' * 600
    page = extract_page(nested + _page(_review(**{"@id": "/r/kept"})), PAGE)
    assert page.problems == (
        PageProblem("microdata", "microdata: items nested more than 32 levels deep; not read"),
    )
    assert [r.external_id for r in page.reviews] == ["https://shop.example/r/kept"]


def test_page_links_next_and_canonical():
    selector = HtmlResponse(
        PAGE,
        body=b'<link rel="canonical" href="/reviews?page=2"><a rel="canonical" href="/x">'
        b'<link rel="next" href="?page=3">',
        encoding="utf-8",
    ).selector
    assert page_links(selector, PAGE) == PageLinks(
        "https://shop.example/reviews?page=3", "https://shop.example/reviews?page=2"
    )


def test_normalise_text_composes_and_collapses_whitespace():
    assert normalise_text("Cafe\u0301 \t\n ok ") == "Café ok"
    assert normalise_text(" \n ") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda kids: (
        st.lists(kids, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "@type",
                    "@id",
                    "url",
                    "review",
                    "reviews",
                    "@graph",
                    "reviewBody",
                    "author",
                    "reviewRating",
                    "ratingValue",
                    "bestRating",
                    "worstRating",
                    "datePublished",
                    "inLanguage",
                    "name",
                ]
            )
            | st.text(max_size=5),
            kids,
            max_size=6,
        )
    ),
    max_leaves=30,
)
review_shaped = st.fixed_dictionaries(
    {"@type": st.sampled_from(["Review", ["Review"], "UserReview"]), "reviewBody": st.text()},
    optional={
        "@id": json_values,
        "url": json_values,
        "author": json_values,
        "reviewRating": json_values,
        "datePublished": json_values,
        "inLanguage": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, review_shaped, st.lists(review_shaped, max_size=3)))
def test_jsonld_never_crashes(doc):
    for review in reviews_from_jsonld(doc, PAGE):
        assert review.text
        assert review.rating is None or 0.0 <= review.rating <= 1.0
        assert review.published_at is None or review.published_at.tzinfo == UTC
        assert len(review.external_id) <= 255


@settings(max_examples=200, deadline=None)
@given(
    st.text(),
    st.text(alphabet='<>{}[]":,/!-ascriptypelnd+jso \n'),
)
def test_garbage_html_never_crashes(noise, script):
    html = f'{noise}<script type="application/ld+json">{script}</script>{noise}'
    page = extract_page(html, PAGE)
    assert isinstance(page.reviews, tuple)
    assert reviews_from_html(noise, PAGE) == list(extract_page(noise, PAGE).reviews)


markup_soup = st.lists(
    st.sampled_from(
        [
            "<div itemscope",
            ' itemtype="https://schema.org/Review"',
            ' itemtype="Product"',
            ' itemprop="review"',
            ' itemprop="reviewBody"',
            ' itemprop="author"',
            " itemid=",
            ' itemref="x"',
            ' id="x"',
            ' typeof="Review"',
            ' vocab="https://schema.org/"',
            ' property="reviewBody"',
            ' property="review"',
            ' resource="#a"',
            ' about="_:b"',
            ' prefix="s: http://schema.org/"',
            ">",
            "</div>",
            "<span",
            "<meta content='3'",
            '"',
            "'",
            "<",
            "&amp;",
            "\x00",
            "é",
        ]
    )
    | st.text(max_size=8),
    max_size=40,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(markup_soup)
def test_microdata_and_rdfa_garbage_never_crashes(soup):
    page = extract_page(f"<html><body>{soup}review</body></html>", PAGE)
    assert all(isinstance(p, PageProblem) and p.reason for p in page.problems)
    for review in page.reviews:
        assert review.text
        assert review.rating is None or 0.0 <= review.rating <= 1.0
        assert len(review.external_id) <= 255


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from(
        [
            "text/html",
            "application/json",
            "text/html; charset=utf-8",
            "text/html; charset=iso-8859-1",
            "image/png",
            "",
        ]
    ),
)
def test_read_page_never_crashes_on_any_bytes(body, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    response = Response(PAGE, body=body, headers=headers)
    if ctype.startswith("text/html"):
        response = HtmlResponse(PAGE, body=body, headers=headers)
    read = read_page(response)
    assert all(isinstance(p, PageProblem) and p.kind for p in read.all_problems)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8")
        | st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000")
    )
)
def test_whitespace_is_collapsed_exactly_like_a_regex(value):
    nfc = unicodedata.normalize("NFC", value.replace("\x00", ""))
    expected = re.sub(r"\s+", " ", nfc).strip() or None
    assert clean_text(value) == expected  # NUL is dropped: PostgreSQL cannot store it
    assert normalise_text(value) == (
        re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip() or None
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["https://shop.example/a/b?x=1", "http://[::1]:8080/p", "https://u:p@h.example:8443/q#f"]
    ),
    st.sampled_from(
        [
            "/r/1",
            "/r/../r/2?b=1&a=2",
            "r/3",
            "//cdn.example/x",
            "?page=2",
            "#frag",
            "HTTPS://X.example/y",
            "/",
        ]
    )
    | st.text(st.characters(exclude_categories=("Cc", "Zs", "Zl", "Zp")), max_size=12),
)
def test_fast_url_joins_agree_with_urljoin(base, value):
    from urllib.parse import urljoin

    assert canonical_url(value, base) == canonical_url(urljoin(base, value.strip()), base)


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(
        r"(?i)https?://[a-z0-9.\-\[\]:@]{1,20}(:\d{1,6})?(/[a-z0-9/%.;=&?#@:~ \\-]{0,30})?",
        fullmatch=True,
    )
)
def test_the_fast_canonical_path_agrees_with_urllib(url):
    fast = _canonical_simple(url, keep_fragment=True)
    assert fast is None or fast == _canonical_urllib(url, keep_fragment=True)
    fast = _canonical_simple(url, keep_fragment=False)
    assert fast is None or fast == _canonical_urllib(url, keep_fragment=False)


@settings(max_examples=300, deadline=None)
@given(st.text() | st.text(alphabet="e\u0301\u00e9 \t\n\u00a0\u3000\ud800\x00ﬁ"))
def test_extracted_text_is_already_normalised(value):
    cleaned = clean_text(value)
    assert cleaned is None or normalise_text(cleaned) == cleaned
