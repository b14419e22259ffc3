"""The commented ``repwatch.toml`` that ``repwatch init`` and ``repwatch demo`` write.

Every setting of ``repwatch.config`` appears here with a comment; a test checks that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from repwatch.config import DEFAULT_MODEL


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
            "",
        ]
    out.append("# Places to crawl: one table per source, [sources.<key>].")
    for source in sources:
        out += [
            f"[sources.{source.key}]",
            'kind = "reviews"  # pages carrying schema.org Review items (JSON-LD)',
            f"brand = {_toml(source.brand)}  # required: a key of [brands]",
            f"url = {_toml(source.url)}  # required: first page of the reviews",
            f"max_pages = {source.max_pages}  # stop following 'next' links after this many pages",
            f"allow_private = {_toml(source.allow_private)}  "
            "# allow private/loopback addresses (local test sites only)",
            "",
        ]
    out += [
        "# The sentiment model: a Hugging Face model id or a local directory.",
        "[model]",
        f"name = {_toml(DEFAULT_MODEL)}",
        '# revision = "main"  # pin a model revision (branch, tag or commit)',
        'dir = "models"  # where `repwatch models pull` stores models (relative to this file)',
        "batch_size = 32  # mentions scored at once",
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
        "# Politeness towards the sites crawled.",
        "[crawl]",
        'user_agent = "repwatch/0.1 (+https://github.com/repwatch/repwatch)"  # say who you are',
        f"download_delay = {download_delay}  # seconds between requests to one site",
        "concurrency_per_domain = 4",
        "obey_robots_txt = true",
        "",
    ]
    return "\n".join(out)
