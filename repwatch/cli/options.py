"""Options and error handling shared by every command."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from repwatch.config import CONFIG_FILENAME
from repwatch.errors import RepwatchError

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_ENV = "REPWATCH_CONFIG"


def friendly(func: F) -> F:
    """Turn ``RepwatchError`` into a one-line message and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RepwatchError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get(CONFIG_ENV, CONFIG_FILENAME),
    show_default=f"${CONFIG_ENV} or ./{CONFIG_FILENAME}",
    help="The repwatch.toml to use.",
)
