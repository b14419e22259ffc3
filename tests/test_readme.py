"""README.md stays true: CI runs its commands, and it documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from repwatch.config import (
    Alerts,
    Auth,
    Brand,
    Crawl,
    CrawlGroup,
    Deadlines,
    Flagging,
    ModelSettings,
    Oidc,
    Schedule,
    Settings,
    Source,
    Topics,
    TopicTable,
)
from repwatch.config_template import render_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _ci_var(name: str) -> str:
    match = re.search(rf'^{name}="(.+)"$', CI, re.MULTILINE)
    assert match, f"{name} not found in .ci/run"
    return match.group(1)


@pytest.mark.parametrize("name", ["SETUP_COMMAND", "TEST_COMMAND"])
def test_ci_runs_exactly_the_readme_commands(name):
    command = _ci_var(name)
    assert f"```sh\n{command}\n```" in README


@pytest.mark.parametrize(
    "model",
    [
        Settings,
        Brand,
        Source,
        ModelSettings,
        Flagging,
        Deadlines,
        Crawl,
        Auth,
        Oidc,
        Alerts,
        Schedule,
        CrawlGroup,
        Topics,
        TopicTable,
    ],
)
def test_every_setting_is_documented(model):
    tables = (
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
        "topics",
    )
    for name in model.model_fields:
        pattern = rf"`\[([a-z]+\.)?{name}[.\]]" if name in tables else f"`{name}`"
        assert re.search(pattern, README), f"{model.__name__}.{name} is not in README.md"
        if name not in tables:
            # The [topics.<key>] example is indented under its commented table header.
            prefix = r"#\s+" if model is TopicTable else "(# )?"
            assert re.search(rf"^{prefix}{name} =", render_config(), re.MULTILINE), name
