"""The commented ``repwatch.toml`` that ``repwatch init`` and ``repwatch demo`` write.

Every setting of ``repwatch.config`` appears here with a comment; a test checks that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from repwatch.config import DEFAULT_MODEL, RECOMMENDED_HUB_MODEL


@dataclass(frozen=True, slots=True)
class BrandEntry:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    competitor: bool = False


@dataclass(frozen=True, slots=True)
class SourceEntry:
    key: str
    brand: str
    url: str
    max_pages: int = 50
    allow_private: bool = False


EXAMPLE_BRANDS = (
    BrandEntry("acme", "Acme", ("Acme Inc", "acme.example")),
    BrandEntry("rival", "Rival Corp", ("Rival",), competitor=True),
)
EXAMPLE_SOURCES = (SourceEntry("acme-reviews", "acme", "https://reviews.example.com/acme"),)


SOURCE_EXAMPLES = [
    "# Other kinds of source (uncomment and adapt):",
    "# [sources.acme-sitemap]  # review pages found through a sitemap",
    '# kind = "sitemap"',
    '# brand = "acme"',
    '# url = "https://reviews.example.com/sitemap.xml"',
    '# url_pattern = "/reviews/"  # regular expression the review pages match',
    "#",
    "# [sources.acme-news]  # RSS or Atom feed; items are matched against every brand",
    '# kind = "feed"',
    '# url = "https://news.example.com/search.rss?q=acme"',
    "#",
    "# [sources.mastodon]",
    '# kind = "mastodon"',
    '# url = "https://mastodon.social"  # the instance',
    '# hashtags = ["acme"]',
    '# accounts = ["acme@mastodon.social"]',
    '# queries = ["Acme"]  # public search; default: brand names and aliases',
    "#",
    "# [sources.reddit]",
    '# kind = "reddit"',
    '# subreddits = ["acme"]',
    '# queries = ["Acme"]',
    "#",
    "# [sources.hn]",
    '# kind = "hackernews"  # stories and comments through the Algolia search API',
    '# queries = ["Acme"]',
    "",
]


def _toml(value: object) -> str:
    # JSON strings, numbers, booleans and lists of strings are valid TOML as well.
    return json.dumps(value, ensure_ascii=False)


def render_config(
    brands: tuple[BrandEntry, ...] = EXAMPLE_BRANDS,
    sources: tuple[SourceEntry, ...] = EXAMPLE_SOURCES,
    *,
    download_delay: float = 0.5,
) -> str:
    """A complete, commented configuration file for these brands and sources."""
    out = [
        "# repwatch configuration. Every key is optional unless marked required.",
        "# Reference: README.md, section 'Configuration'.",
        "",
        "# Database URL. Default: SQLite file repwatch.db beside this file.",
        "# The environment variable REPWATCH_DATABASE_URL overrides it, e.g.",
        "# postgresql+psycopg://repwatch@localhost/repwatch",
        '# database = "sqlite:///repwatch.db"',
        "",
        "# Brands to watch: one table per brand, [brands.<key>] (key: lower case, - or _).",
    ]
    for brand in brands:
        out += [
            f"[brands.{brand.key}]",
            f"name = {_toml(brand.name)}  # required: the name customers use",
            f"aliases = {_toml(list(brand.aliases))}  # other spellings, product names, domains",
            f"competitor = {_toml(brand.competitor)}  # true for a competitor, false for your own",
            "exclude = []  # phrases that mean the name is not about this brand",
            "",
        ]
    out.append("# Places to crawl: one table per source, [sources.<key>].")
    for source in sources:
        out += [
            f"[sources.{source.key}]",
            'kind = "reviews"  # pages carrying schema.org Review items',
            f"brand = {_toml(source.brand)}  # required for reviews and sitemap: a key of [brands]",
            f"url = {_toml(source.url)}  # required: first page of the reviews",
            f"max_pages = {source.max_pages}  # most pages per crawl (the first crawl backfills)",
            "incremental_depth = 1  # stop after this many pages holding only known reviews",
            '# page_param = "page"  # follow ?page=N when pages have no rel=next link',
            f"allow_private = {_toml(source.allow_private)}  "
            "# allow private/loopback addresses (local test sites only)",
            "# download_delay = 2.0  # override [crawl] download_delay for this source",
            "# concurrency = 1  # override [crawl] concurrency_per_domain for this source",
            '# schedule = "*/30 * * * *"  # cron: crawl this source on its own (see [schedule])',
            "",
        ]
    out += SOURCE_EXAMPLES
    out += [
        '# The sentiment model: "bundled" (offline, shipped with repwatch), a model trained',
        '# by `repwatch models train` ("bundled-corrections"), a Hugging Face id or a directory.',
        "[model]",
        f"name = {_toml(DEFAULT_MODEL)}",
        f"# Stronger, with a download (or `repwatch models pull`): {_toml(RECOMMENDED_HUB_MODEL)}",
        '# revision = "main"  # pin a model revision (branch, tag or commit)',
        'dir = "models"  # where `repwatch models pull` stores models (relative to this file)',
        "batch_size = 32  # mentions scored at once",
        'languages = ["en", "fr", "sv", "ru", "de", "es"]  # languages to detect (ISO 639-1)',
        "",
        "# When a mention becomes a triage item.",
        "[flagging]",
        "negative_threshold = 0.6  # flag when the model's negative probability is at least this",
        "max_stars = 2  # flag ratings of this many stars (out of 5) or fewer",
        "",
        "# Hours to answer a flagged item, by priority band (priority runs 0-100).",
        "[deadlines]",
        "urgent_hours = 4",
        "high_hours = 24",
        "normal_hours = 72",
        "urgent_priority = 75.0  # priority from which an item is urgent",
        "high_priority = 50.0  # priority from which an item is high",
        "",
        "# Politeness towards the sites crawled, and safety of the server crawling.",
        "[crawl]",
        'user_agent = "repwatch/0.1"  # sent with contact_url: say who you are',
        'contact_url = "https://github.com/repwatch/repwatch"  # where site owners reach you',
        f"download_delay = {download_delay}  # seconds between requests to one site",
        "concurrency_per_domain = 4",
        "obey_robots_txt = true",
        "autothrottle = true  # slow down when a site slows down",
        "retry_times = 3  # retries on 429 and 5xx, honouring Retry-After",
        "timeout_seconds = 30",
        "max_response_mb = 10  # larger responses (also once decompressed) are dropped",
        'state_dir = "crawl-state"  # where interrupted crawls resume from',
        "# Distributed crawling: every `repwatch crawl` with this config (and a shared",
        "# PostgreSQL database) joins one crawl through Redis. REPWATCH_REDIS_URL overrides.",
        '# redis_url = "redis://127.0.0.1:6379/0"',
        'redis_key_prefix = "repwatch"  # Redis keys of the crawls start with this',
        "",
        "# Alerts: new serious items and spikes of negative mentions, sent through Apprise.",
        "[alerts]",
        "# One Apprise URL per target; ${NAME} is replaced by the environment variable NAME.",
        "# e.g. mailtos://alerts:${SMTP_PASSWORD}@mail.example.com?to=pr@example.com,",
        "# slack://${SLACK_TOKEN}, or json://hooks.example.com/repwatch for any webhook.",
        '# targets = ["json://hooks.example.com/repwatch"]',
        "min_priority = 75.0  # alert on new items from this priority up",
        "spike_window_hours = 6  # a spike: negative mentions in this many recent hours...",
        "spike_baseline_weeks = 4  # ...against the same hours of the week in past weeks",
        "spike_factor = 3.0  # ...at least this many times the usual level",
        "spike_min_count = 5  # ...and at least this many mentions",
        "max_per_hour = 6  # at most this many alert messages an hour",
        "",
        "# `repwatch run`: crawl (then score, flag and alert) and write the digest on a schedule.",
        "# Cron: minute hour day month day-of-week (0 or 7 = Sunday, or sun-sat), @daily, or off.",
        "[schedule]",
        'timezone = "UTC"  # IANA time zone the cron expressions are read in',
        'crawl = "0 */2 * * *"  # sources not in a group and without their own schedule',
        'digest = "0 7 * * mon"  # the weekly digest of the last complete week',
        'digest_dir = "digests"  # where digests are written (relative to this file)',
        'digest_formats = ["html", "pdf", "csv"]  # also md; sent to [alerts] targets if any',
        "# Sources crawled together on their own schedule (a source is in at most one group):",
        '# groups.social = { sources = ["mastodon", "reddit", "hn"], crawl = "*/30 * * * *" }',
        "",
        "# Customer-service topics found in each mention (README, section 'Topics').",
        "[topics]",
        "enabled = true  # false: score sentiment only",
        "min_score = 0.6  # report a topic from this score (0-1) up",
        'disable = []  # built-in topics to switch off, e.g. ["privacy", "cleanliness"]',
        "corpus = true  # also learn from the labelled corpus shipped with repwatch",
        "# A topic of your own, or more examples for a built-in one (key: a-z, 0-9, _):",
        "# [topics.gift_cards]",
        '#   name = "Gift cards"  # required for a topic of your own',
        '#   description = "Buying, using and refunding gift cards."',
        '#   examples = ["My gift card was refused at the till.", "Le bon cadeau a expiré."]',
        '#   keywords = ["gift card*", "bon cadeau", "presentkort*"]  # * = any ending',
        "",
        "# Dashboard sign-in. Users: repwatch users add NAME --role viewer|agent|admin",
        "[auth]",
        "max_failed_sign_ins = 5  # then the account is locked for lockout_minutes",
        "lockout_minutes = 15",
        "",
        "# Optional single sign-on through OpenID Connect.",
        "[auth.oidc]",
        "enabled = false",
        'provider_name = "single sign-on"  # shown on the sign-in button',
        '# server_metadata_url = "https://id.example.com/.well-known/openid-configuration"',
        '# client_id = "repwatch"',
        'client_secret_env = "REPWATCH_OIDC_CLIENT_SECRET"  # environment variable with the secret',
        'redirect_uri = "http://localhost:8501/oauth2callback"',
        '# role_claim = "groups"  # claim whose values map to roles',
        '# role_map = { "pr-admins" = "admin", "pr-team" = "agent" }',
        '# default_role = "viewer"  # role of users no mapping matches (unset: an admin assigns)',
        "",
    ]
    return "\n".join(out)
