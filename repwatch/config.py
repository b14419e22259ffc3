"""``repwatch.toml``: the one human-edited configuration file, validated with exact messages.

Errors name the file, the line, the table and what is expected, for example::

    repwatch.toml:14 [brands.acme]: unknown key 'alias'; expected name, aliases, competitor
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from repwatch.errors import ConfigError
from repwatch.service.cron import CronError, parse_cron, parse_timezone

CONFIG_FILENAME = "repwatch.toml"
DEFAULT_DATABASE_FILENAME = "repwatch.db"
DATABASE_URL_ENV = "REPWATCH_DATABASE_URL"
REDIS_URL_ENV = "REPWATCH_REDIS_URL"
# "bundled": the offline classifier shipped in sentiment/bundled (six languages, no download).
DEFAULT_MODEL = "bundled"
# The recommended hub model for servers with internet access (Apache-2.0), one line away.
RECOMMENDED_HUB_MODEL = "lxyuan/distilbert-base-multilingual-cased-sentiments-student"
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Role = Literal["viewer", "agent", "admin"]
SourceKind = Literal["reviews", "sitemap", "feed", "mastodon", "reddit", "hackernews"]


class Brand(_Section):
    """A brand to watch: the team's own, or a competitor."""

    name: str = Field(min_length=1)
    aliases: list[str] = []
    competitor: bool = False
    # Phrases that make a match on the name not a mention of this brand ("acme looney tunes").
    exclude: list[str] = []


# Keys each source kind understands, besides the ones every kind has.
COMMON_SOURCE_KEYS = ("kind", "brand", "url", "max_pages", "allow_private", "download_delay",
                      "concurrency", "schedule")  # fmt: skip
SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "reviews": ("page_param", "incremental_depth"),
    "sitemap": ("url_pattern", "incremental_depth"),
    "feed": (),
    "mastodon": ("hashtags", "accounts", "queries"),
    "reddit": ("subreddits", "queries"),
    "hackernews": ("queries",),
}
# Kinds whose mentions belong to one brand (the others are matched against every brand).
BRAND_REQUIRED = ("reviews", "sitemap")
URL_REQUIRED = ("reviews", "sitemap", "feed", "mastodon")
DEFAULT_API_URLS = {
    "reddit": "https://www.reddit.com",
    "hackernews": "https://hn.algolia.com/api/v1",
}


class Source(_Section):
    """A place to crawl; ``kind`` says what it is and which other keys apply."""

    kind: SourceKind = "reviews"
    brand: str | None = None
    url: str | None = None
    max_pages: int = Field(default=50, ge=1)
    allow_private: bool = False
    download_delay: float | None = Field(default=None, ge=0)
    concurrency: int | None = Field(default=None, ge=1, le=64)
    page_param: str | None = None
    incremental_depth: int = Field(default=1, ge=1)
    url_pattern: str | None = None
    hashtags: list[str] = []
    accounts: list[str] = []
    subreddits: list[str] = []
    queries: list[str] = []
    schedule: str | None = None  # cron: crawl this source on its own schedule

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _valid_cron("schedule", value)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL; expected e.g. https://example.com/reviews"
            )
        return value

    @field_validator("url_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
        return value

    @property
    def base_url(self) -> str:
        """The URL to start from: the configured one or the service's public API."""
        url = self.url or DEFAULT_API_URLS.get(self.kind)
        if url is None:  # _cross_check makes this unreachable for a loaded config
            raise ConfigError(f"source of kind {self.kind!r} needs a url")
        return url


class ModelSettings(_Section):
    """The sentiment model: "bundled", a Hugging Face id, or a local directory."""

    name: str = DEFAULT_MODEL
    revision: str | None = None
    dir: str = "models"
    batch_size: int = Field(default=32, ge=1, le=1024)
    # Languages to detect (ISO 639-1); anything else is stored as "unknown".
    languages: list[str] = ["en", "fr", "sv", "ru", "de", "es"]


class Flagging(_Section):
    """When a mention becomes a triage item."""

    negative_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    max_stars: int = Field(default=2, ge=1, le=4)


class Deadlines(_Section):
    """Hours to answer, by priority band."""

    urgent_hours: int = Field(default=4, ge=1)
    high_hours: int = Field(default=24, ge=1)
    normal_hours: int = Field(default=72, ge=1)
    urgent_priority: float = Field(default=75.0, ge=0, le=100)
    high_priority: float = Field(default=50.0, ge=0, le=100)


class Crawl(_Section):
    """Politeness and safety settings shared by every source."""

    user_agent: str = "repwatch/0.1"
    contact_url: str = "https://github.com/repwatch/repwatch"
    download_delay: float = Field(default=0.5, ge=0)
    concurrency_per_domain: int = Field(default=4, ge=1, le=64)
    obey_robots_txt: bool = True
    autothrottle: bool = True
    retry_times: int = Field(default=3, ge=0, le=20)
    timeout_seconds: float = Field(default=30, gt=0)
    max_response_mb: float = Field(default=10, gt=0)
    state_dir: str = "crawl-state"
    # Distributed crawling: processes with the same config share one crawl through Redis.
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="repwatch", min_length=1)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"{value!r} is not a Redis URL; expected e.g. redis://127.0.0.1:6379/0"
            )
        return value


class Oidc(_Section):
    """Single sign-on through OpenID Connect (Streamlit's st.login)."""

    enabled: bool = False
    provider_name: str = "single sign-on"
    server_metadata_url: str | None = None
    client_id: str | None = None
    client_secret_env: str = "REPWATCH_OIDC_CLIENT_SECRET"
    redirect_uri: str = "http://localhost:8501/oauth2callback"
    role_claim: str | None = None
    role_map: dict[str, Role] = {}
    default_role: Role | None = None


class Auth(_Section):
    """Dashboard sign-in."""

    max_failed_sign_ins: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    oidc: Oidc = Oidc()


class Alerts(_Section):
    """Where and when to alert: new serious items and spikes of negative mentions."""

    targets: list[str] = []  # Apprise URLs; ${VAR} is taken from the environment
    min_priority: float = Field(default=75.0, ge=0, le=100)
    spike_window_hours: int = Field(default=6, ge=1, le=168)
    spike_baseline_weeks: int = Field(default=4, ge=1, le=52)
    spike_factor: float = Field(default=3.0, gt=1)
    spike_min_count: int = Field(default=5, ge=1)
    max_per_hour: int = Field(default=6, ge=1)


def _valid_cron(key: str, value: str) -> str:
    try:
        parse_cron(value)
    except CronError as exc:
        raise ValueError(f"{key} {exc}") from exc
    return value


DigestFormat = Literal["html", "pdf", "csv", "md"]


class CrawlGroup(_Section):
    """Sources crawled together on their own schedule, as one job of ``repwatch run``."""

    sources: list[str] = Field(min_length=1)
    crawl: str | None = None  # cron; default: [schedule] crawl

    @field_validator("crawl")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _valid_cron("crawl", value)


class Schedule(_Section):
    """What ``repwatch run`` does when: crawls (then score, flag, alert) and the digest."""

    timezone: str = "UTC"
    crawl: str = "0 */2 * * *"  # every source not in a group and without its own schedule
    digest: str = "0 7 * * mon"
    digest_dir: str = "digests"
    digest_formats: list[DigestFormat] = Field(default=["html", "pdf", "csv"], min_length=1)
    groups: dict[str, CrawlGroup] = {}

    @field_validator("crawl", "digest")
    @classmethod
    def _cron(cls, value: str, info: ValidationInfo) -> str:
        return _valid_cron(str(info.field_name), value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            parse_timezone(value)
        except CronError as exc:
            raise ValueError(str(exc)) from exc
        return value


class TopicTable(_Section):
    """``[topics.<key>]``: a team's own topic, or more examples for a built-in one."""

    name: str | None = None  # required for a topic that is not built in
    description: str = ""
    examples: list[str] = []  # a handful of sentences about the topic, in any language
    keywords: list[str] = []  # words that signal it; "refund*" also matches "refunded"


class Topics(_Section):
    """Customer-service topics: the built-in taxonomy, switched off or extended per team.

    Options are keys of ``[topics]``; every other key is a ``[topics.<key>]`` table.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, TopicTable] = Field(init=False)  # type: ignore[assignment]

    enabled: bool = True
    min_score: float = Field(default=0.6, ge=0.0, le=1.0)
    disable: list[str] = []  # built-in topic keys to switch off
    corpus: bool = True  # also learn from the labelled corpus shipped with repwatch

    @property
    def tables(self) -> dict[str, TopicTable]:
        """The ``[topics.<key>]`` tables, by key."""
        return dict(self.model_extra or {})


class Settings(_Section):
    """The whole file."""

    database: str | None = None
    brands: dict[str, Brand] = Field(min_length=1)
    sources: dict[str, Source] = {}
    model: ModelSettings = ModelSettings()
    flagging: Flagging = Flagging()
    deadlines: Deadlines = Deadlines()
    crawl: Crawl = Crawl()
    auth: Auth = Auth()
    alerts: Alerts = Alerts()
    topics: Topics = Topics()
    schedule: Schedule = Schedule()


class Config:
    """A validated configuration and the file it came from."""

    def __init__(self, settings: Settings, path: Path) -> None:
        self.settings = settings
        self.path = path

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def database_url(self) -> str:
        """``REPWATCH_DATABASE_URL``, else ``database`` from the file, else SQLite beside it."""
        env = os.environ.get(DATABASE_URL_ENV)
        if env:
            return env
        if self.settings.database:
            return self.settings.database
        return f"sqlite:///{(self.directory / DEFAULT_DATABASE_FILENAME).resolve()}"

    def _beside(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.directory / path

    @property
    def model_dir(self) -> Path:
        """Where downloaded models live (relative paths are relative to the config file)."""
        return self._beside(self.settings.model.dir)

    @property
    def crawl_state_dir(self) -> Path:
        """Where interrupted crawls keep their state to resume (one folder per source)."""
        return self._beside(self.settings.crawl.state_dir)

    @property
    def redis_url(self) -> str | None:
        """``REPWATCH_REDIS_URL``, else ``[crawl] redis_url``: set, crawls are distributed."""
        return os.environ.get(REDIS_URL_ENV) or self.settings.crawl.redis_url


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a ``repwatch.toml``; raise ``ConfigError`` with the exact problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"No config file at {path}. Create one with: repwatch init --dir {path.parent}"
        )
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(data, text, path)


def parse_config(data: dict[str, Any], text: str, path: Path) -> Config:
    """Validate parsed TOML; the raw ``text`` is used to point at the offending line."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            "\n".join(_describe(err, data, text, path) for err in exc.errors())
        ) from exc
    problems = _cross_check(settings)
    if problems:
        raise ConfigError("\n".join(f"{_where(loc, text, path)}: {msg}" for loc, msg in problems))
    return Config(settings, path)


def _cross_check(settings: Settings) -> list[tuple[tuple[str, ...], str]]:
    """Checks across keys that pydantic cannot express: kinds, brand references, OIDC."""
    problems: list[tuple[tuple[str, ...], str]] = []
    brand_keys = sorted(settings.brands)
    for table, keys in (("brands", brand_keys), ("sources", sorted(settings.sources))):
        problems += [
            ((table, key), f"key {key!r} must be lower case letters, digits, '-' or '_'")
            for key in keys
            if not re.match(KEY_PATTERN, key)
        ]
    for key, source in settings.sources.items():
        problems += _check_source(key, source, brand_keys)
    problems += _check_topics(settings.topics)
    problems += _check_schedule(settings)
    oidc = settings.auth.oidc
    if oidc.enabled:
        problems += [
            (("auth", "oidc"), f"missing key {name!r} (required when enabled = true)")
            for name in ("server_metadata_url", "client_id")
            if getattr(oidc, name) is None
        ]
    return problems


def _check_source(
    key: str, source: Source, brand_keys: list[str]
) -> list[tuple[tuple[str, ...], str]]:
    problems: list[tuple[tuple[str, ...], str]] = []
    allowed = COMMON_SOURCE_KEYS + SOURCE_KEYS[source.kind]
    problems += [
        (
            ("sources", key, name),
            f"key {name!r} does not apply to kind {source.kind!r}; expected {', '.join(allowed)}",
        )
        for name in sorted(source.model_fields_set - set(allowed))
    ]
    if source.kind in URL_REQUIRED and source.url is None:
        problems.append(
            (("sources", key), f"missing key 'url' (required for kind {source.kind!r})")
        )
    if source.brand is None:
        if source.kind in BRAND_REQUIRED:
            problems.append(
                (("sources", key), f"missing key 'brand' (required for kind {source.kind!r})")
            )
    elif source.brand not in brand_keys:
        problems.append(
            (
                ("sources", key, "brand"),
                f"unknown brand {source.brand!r}; expected one of {', '.join(brand_keys)} "
                f"(add it as [brands.{source.brand}])",
            )
        )
    return problems


def _check_schedule(settings: Settings) -> list[tuple[tuple[str, ...], str]]:
    """Each source in at most one crawl job: one group, or its own schedule."""
    problems: list[tuple[tuple[str, ...], str]] = []
    known = sorted(settings.sources)
    owner: dict[str, str] = {}
    for name, group in settings.schedule.groups.items():
        where = ("schedule", "groups", name)
        at = (*where, "sources")
        if not re.match(KEY_PATTERN, name):
            problems.append((where, f"key {name!r} must be lower case letters, digits, '-' or '_'"))
        for key in group.sources:
            if key not in settings.sources:
                expected = ", ".join(known) or "nothing (no [sources] configured)"
                problems.append((at, f"unknown source {key!r}; expected one of {expected}"))
            elif key in owner:
                problems.append(
                    (
                        at,
                        f"source {key!r} is already in [schedule.groups.{owner[key]}]; "
                        "a source belongs to at most one group",
                    )
                )
            elif settings.sources[key].schedule is not None:
                problems.append(
                    (
                        at,
                        f"source {key!r} has its own schedule in [sources.{key}]; "
                        "remove it there or leave the source out of the group",
                    )
                )
            owner.setdefault(key, name)
    return problems


def _check_topics(topics: Topics) -> list[tuple[tuple[str, ...], str]]:
    """Topic keys, names of new topics, and which built-in topics ``disable`` names."""
    from sentiment.taxonomy import BUILTIN_KEYS  # data only: no model is loaded

    problems: list[tuple[tuple[str, ...], str]] = []
    for name in topics.disable:
        if name not in BUILTIN_KEYS:
            problems.append(
                (
                    ("topics", "disable"),
                    f"unknown topic {name!r}; expected built-in topics among "
                    f"{', '.join(BUILTIN_KEYS)}",
                )
            )
    for key, table in topics.tables.items():
        where = ("topics", key)
        if not re.match(r"^[a-z0-9][a-z0-9_]*$", key):
            problems.append((where, f"key {key!r} must be lower case letters, digits or '_'"))
        if key in BUILTIN_KEYS:
            continue
        if table.name is None:
            problems.append(
                ((*where, "name"), "missing key 'name' (required for a topic of your own)")
            )
        if not table.examples and not table.keywords:
            problems.append(
                (
                    (*where, "examples"),
                    "a topic of your own needs examples (a few sentences) or keywords",
                )
            )
    return problems


def _describe(err: Any, data: dict[str, Any], text: str, path: Path) -> str:
    loc = tuple(str(part) for part in err["loc"])
    kind = err["type"]
    if loc[:1] == ("topics",) and len(loc) == 2 and kind == "model_type":
        expected = ", ".join(Topics.model_fields)
        return (
            f"{_where(loc, text, path)}: unknown key {loc[1]!r}; expected {expected}, "
            "or a [topics.<key>] table"
        )
    if kind == "extra_forbidden":
        table, key = loc[:-1], loc[-1]
        expected = ", ".join(_fields_at(table)) or "nothing"
        return f"{_where(loc, text, path)}: unknown key {key!r}; expected {expected}"
    if kind == "missing":
        return f"{_where(loc[:-1], text, path)}: missing key {loc[-1]!r}"
    if kind == "too_short" and loc == ("brands",):
        return f'{path}: no brands configured; add at least one, e.g.\n[brands.acme]\nname = "Acme"'
    message = str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{message}, got {type(got).__name__} {got!r}"
    return f"{_where(loc, text, path)}: {message}"


def _fields_at(table: tuple[str, ...]) -> list[str]:
    """Names of the keys allowed in the table at ``table`` (a pydantic location)."""
    model: type[BaseModel] = Settings
    i = 0
    while i < len(table):
        info = model.model_fields.get(table[i])
        if info is None and model is Topics:  # [topics.<key>] tables are extra keys
            model, i = TopicTable, i + 1
            continue
        if info is None:
            return []
        annotation = info.annotation
        origin = getattr(annotation, "__origin__", None)
        if origin is dict:
            model = annotation.__args__[1]  # type: ignore[union-attr]
            i += 2  # skip the table's own key, e.g. brands.<key>
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        i += 1
    return list(model.model_fields)


def _where(loc: tuple[str, ...], text: str, path: Path) -> str:
    """``file:line [table]`` for a location, finding the line in the raw TOML text."""
    table_parts, key = _split_table_key(loc)
    line = _find_line(text, table_parts, key)
    table = f" [{'.'.join(table_parts)}]" if table_parts else ""
    prefix = f"{path.name}:{line}" if line else path.name
    suffix = f" key {key!r}" if key and line is None else ""
    return f"{prefix}{table}{suffix}"


def _split_table_key(loc: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """Split a location into its TOML table and the key inside it, following the models."""
    model: type[BaseModel] | None = Settings
    table: list[str] = []
    i = 0
    while i < len(loc) and model is not None:
        info = model.model_fields.get(loc[i])
        if info is None and model is Topics and i + 1 < len(loc):  # a [topics.<key>] table
            table.append(loc[i])
            model, i = TopicTable, i + 1
            continue
        if info is None:
            break
        annotation = info.annotation
        if getattr(annotation, "__origin__", None) is dict:
            value_type = annotation.__args__[1]  # type: ignore[union-attr]
            if not (isinstance(value_type, type) and issubclass(value_type, BaseModel)):
                break  # a dict of scalars, like role_map, is a key of its table
            table += loc[i : i + 2]
            model, i = value_type, i + 2
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            table.append(loc[i])
            model, i = annotation, i + 1
        else:
            break
    rest = loc[len(table) :]
    return tuple(table), (rest[0] if rest else None)


def _find_line(text: str, table: tuple[str, ...], key: str | None) -> int | None:
    """1-based line of ``key`` inside ``[table]`` (or of the table header itself)."""
    header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    current: tuple[str, ...] = ()
    header_line: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        match = header.match(raw)
        if match:
            current = tuple(p.strip().strip('"') for p in match.group(1).split("."))
            if current == table:
                header_line = number
            continue
        if current == table and key is not None and re.match(rf'^\s*"?{re.escape(key)}"?\s*=', raw):
            return number
    return header_line
