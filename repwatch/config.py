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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from repwatch.errors import ConfigError

CONFIG_FILENAME = "repwatch.toml"
DEFAULT_DATABASE_FILENAME = "repwatch.db"
DATABASE_URL_ENV = "REPWATCH_DATABASE_URL"
DEFAULT_MODEL = "lxyuan/distilbert-base-multilingual-cased-sentiments-student"
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(_Section):
    """A brand to watch: the team's own, or a competitor."""

    name: str = Field(min_length=1)
    aliases: list[str] = []
    competitor: bool = False


class Source(_Section):
    """A place to crawl. ``kind = "reviews"``: pages carrying schema.org reviews."""

    kind: Literal["reviews"] = "reviews"
    brand: str
    url: str
    max_pages: int = Field(default=50, ge=1)
    allow_private: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL; expected e.g. https://example.com/reviews"
            )
        return value


class ModelSettings(_Section):
    """The sentiment model: a Hugging Face id, or a local directory."""

    name: str = DEFAULT_MODEL
    revision: str | None = None
    dir: str = "models"
    batch_size: int = Field(default=32, ge=1, le=1024)


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
    """Politeness settings shared by every source."""

    user_agent: str = "repwatch/0.1 (+https://github.com/repwatch/repwatch)"
    download_delay: float = Field(default=0.5, ge=0)
    concurrency_per_domain: int = Field(default=4, ge=1, le=64)
    obey_robots_txt: bool = True


class Settings(_Section):
    """The whole file."""

    database: str | None = None
    brands: dict[str, Brand] = Field(min_length=1)
    sources: dict[str, Source] = {}
    model: ModelSettings = ModelSettings()
    flagging: Flagging = Flagging()
    deadlines: Deadlines = Deadlines()
    crawl: Crawl = Crawl()


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

    @property
    def model_dir(self) -> Path:
        """Where downloaded models live (relative paths are relative to the config file)."""
        path = Path(self.settings.model.dir).expanduser()
        return path if path.is_absolute() else self.directory / path


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
    problems: list[tuple[tuple[str, ...], str]] = []
    brand_keys = sorted(settings.brands)
    for key in brand_keys:
        if not re.match(KEY_PATTERN, key):
            problems.append(
                (
                    ("brands", key),
                    f"brand key {key!r} must be lower case letters, digits, '-' or '_'",
                )
            )
    for key, source in settings.sources.items():
        if not re.match(KEY_PATTERN, key):
            problems.append(
                (
                    ("sources", key),
                    f"source key {key!r} must be lower case letters, digits, '-' or '_'",
                )
            )
        if source.brand not in settings.brands:
            problems.append(
                (
                    ("sources", key, "brand"),
                    f"unknown brand {source.brand!r}; expected one of {', '.join(brand_keys)} "
                    f"(add it as [brands.{source.brand}])",
                )
            )
    return problems


def _describe(err: Any, data: dict[str, Any], text: str, path: Path) -> str:
    loc = tuple(str(part) for part in err["loc"])
    kind = err["type"]
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
    """Split a location into its TOML table and the key inside it."""
    if not loc:
        return (), None
    if loc[0] in ("brands", "sources"):
        if len(loc) == 1:
            return (loc[0],), None
        return loc[:2], (loc[2] if len(loc) > 2 else None)
    if loc[0] in Settings.model_fields and loc[0] not in ("database",):
        return loc[:1], (loc[1] if len(loc) > 1 else None)
    return (), loc[0]


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
