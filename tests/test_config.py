"""repwatch.toml: the commented template loads, and every mistake gets an exact message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from repwatch.config import (
    DATABASE_URL_ENV,
    Alerts,
    Auth,
    Crawl,
    CrawlGroup,
    Deadlines,
    Flagging,
    ModelSettings,
    Oidc,
    Schedule,
    Settings,
    Source,
    load_config,
)
from repwatch.config_template import render_config
from repwatch.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "repwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    return str(info.value)


def test_template_loads_with_the_example_brands(tmp_path):
    config = load_config(_write(tmp_path, render_config()))
    assert config.settings.brands["acme"].name == "Acme"
    assert config.settings.brands["rival"].competitor is True
    assert config.settings.sources["acme-reviews"].brand == "acme"


@pytest.mark.parametrize(
    ("section", "model"),
    [
        ("", Settings),
        ("sources", Source),
        ("model", ModelSettings),
        ("flagging", Flagging),
        ("deadlines", Deadlines),
        ("crawl", Crawl),
        ("auth", Auth),
        ("auth.oidc", Oidc),
        ("alerts", Alerts),
        ("schedule", Schedule),
        ("schedule.groups", CrawlGroup),
    ],
)
def test_template_documents_every_setting(section, model):
    text = render_config()
    for name in model.model_fields:
        if name in (
            "brands",
            "sources",
            "model",
            "flagging",
            "deadlines",
            "crawl",
            "auth",
            "oidc",
            "alerts",
            "schedule",
            "groups",
            "topics",  # tests/test_topics.py checks [topics] and [topics.<key>]
        ):
            continue
        assert f"{name} =" in text, f"[{section}] {name} is missing from the template"


def test_unknown_key_names_file_line_table_and_expected_keys(tmp_path):
    text = render_config().replace('aliases = ["Acme Inc"', 'alias = ["Acme Inc"', 1)
    line = (
        text.splitlines().index(next(s for s in text.splitlines() if s.startswith("alias ="))) + 1
    )
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [brands.acme]: unknown key 'alias'; "
        "expected name, aliases, competitor, exclude"
    )


def test_bad_url_is_reported_at_its_line(tmp_path):
    text = render_config().replace("https://reviews.example.com/acme", "reviews.example.com")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("url ="))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [sources.acme-reviews]: 'reviews.example.com' is not an "
        "http(s) URL; expected e.g. https://example.com/reviews"
    )


def test_source_with_unknown_brand(tmp_path):
    text = render_config().replace('brand = "acme"', 'brand = "acmee"')
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith('brand = "acmee"'))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [sources.acme-reviews]: unknown brand 'acmee'; "
        "expected one of acme, rival (add it as [brands.acmee])"
    )


def test_missing_brands(tmp_path):
    assert _error(tmp_path, "[model]\nbatch_size = 8\n") == "repwatch.toml: missing key 'brands'"


def test_brand_without_name(tmp_path):
    text = "[brands.acme]\naliases = []\n"
    assert _error(tmp_path, text) == "repwatch.toml:1 [brands.acme]: missing key 'name'"


def test_wrong_type_says_what_it_got(tmp_path):
    text = render_config().replace("batch_size = 32", 'batch_size = "many"')
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("batch_size"))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [model]: Input should be a valid integer, "
        "unable to parse string as an integer, got str 'many'"
    )


def test_out_of_range_threshold(tmp_path):
    text = render_config().replace("negative_threshold = 0.6", "negative_threshold = 1.5")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("negative_thr"))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [flagging]: Input should be less than or equal to 1"
    )


def test_invalid_toml(tmp_path):
    message = _error(tmp_path, "[brands.acme\nname = 'x'\n")
    assert message.startswith(f"{tmp_path / 'repwatch.toml'}: not valid TOML:")


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope" / "repwatch.toml")
    assert str(info.value) == (
        f"No config file at {tmp_path / 'nope' / 'repwatch.toml'}. "
        f"Create one with: repwatch init --dir {tmp_path / 'nope'}"
    )


def test_database_url_defaults_to_sqlite_beside_the_config(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    config = load_config(_write(tmp_path, render_config()))
    assert config.database_url == f"sqlite:///{(tmp_path / 'repwatch.db').resolve()}"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg://x@localhost/y")
    assert config.database_url == "postgresql+psycopg://x@localhost/y"


def test_every_commented_example_is_valid_when_uncommented(tmp_path):
    lines = []
    for line in render_config().splitlines():
        body = line.removeprefix("# ")
        if re.match(r"^\[sources\.|^[a-z_]+ = ", body) and line.startswith("# "):
            line = body
        lines.append(line)
    config = load_config(_write(tmp_path, "\n".join(lines) + "\n"))
    assert {s.kind for s in config.settings.sources.values()} == {
        "reviews",
        "sitemap",
        "feed",
        "mastodon",
        "reddit",
        "hackernews",
    }
    assert config.settings.auth.oidc.role_map == {"pr-admins": "admin", "pr-team": "agent"}


def test_key_of_another_source_kind(tmp_path):
    text = render_config().replace('kind = "reviews"', 'kind = "reviews"\nhashtags = ["x"]', 1)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("hashtags"))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [sources.acme-reviews]: key 'hashtags' does not apply to kind "
        "'reviews'; expected kind, brand, url, max_pages, allow_private, download_delay, "
        "concurrency, schedule, page_param, incremental_depth"
    )


def test_oidc_needs_its_provider(tmp_path):
    text = render_config().replace("enabled = false", "enabled = true")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s == "[auth.oidc]")
    assert _error(tmp_path, text) == "\n".join(
        f"repwatch.toml:{line} [auth.oidc]: missing key {k!r} (required when enabled = true)"
        for k in ("server_metadata_url", "client_id")
    )


def test_bad_role_in_role_map(tmp_path):
    text = render_config().replace(
        '# role_map = { "pr-admins" = "admin", "pr-team" = "agent" }',
        'role_map = { "pr-admins" = "boss" }',
    )
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("role_map"))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{line} [auth.oidc]: Input should be 'viewer', 'agent' or 'admin'"
    )
