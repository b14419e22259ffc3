"""The command line: messages a user sees, exit codes, no tracebacks for mistakes."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from repwatch.cli import main
from repwatch.config import load_config


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_help_lists_every_command_and_loads_no_heavy_library():
    result = _run("--help")
    for command in ("init", "crawl", "score", "flag", "dashboard", "demo", "doctor", "models"):
        assert f"  {command} " in result.output
    code = (
        "import sys, repwatch.cli; "
        "print(sorted(m for m in ('torch', 'scrapy', 'streamlit', 'transformers') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_init_writes_a_valid_commented_config_and_database(tmp_path):
    result = _run("init", "--dir", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "site" / "repwatch.toml")
    assert "acme" in config.settings.brands
    assert (tmp_path / "site" / "repwatch.db").exists()
    assert result.output == (
        f"Wrote {tmp_path / 'site' / 'repwatch.toml'}. Edit the brands and sources in it, "
        "then run: repwatch crawl\n"
    )


def test_init_refuses_to_overwrite(tmp_path):
    _run("init", "--dir", str(tmp_path))
    (tmp_path / "repwatch.toml").write_text("# mine\n", encoding="utf-8")
    result = _run("init", "--dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path / 'repwatch.toml'} already exists. "
        "Use --force to overwrite it, or edit it.\n"
    )
    assert (tmp_path / "repwatch.toml").read_text(encoding="utf-8") == "# mine\n"


def test_config_mistake_is_one_clear_line_without_traceback(tmp_path):
    path = tmp_path / "repwatch.toml"
    path.write_text('[brands.acme]\nname = "Acme"\nalias = ["A"]\n', encoding="utf-8")
    result = _run("flag", "--config", str(path))
    assert result.exit_code == 1
    assert result.output == (
        "Error: repwatch.toml:3 [brands.acme]: unknown key 'alias'; "
        "expected name, aliases, competitor, exclude\n"
    )


def test_config_is_found_through_the_environment(tmp_path):
    _run("init", "--dir", str(tmp_path))
    result = _run("flag", env={"REPWATCH_CONFIG": str(tmp_path / "repwatch.toml")})
    assert result.exit_code == 0, result.output
    assert result.output == "Flagged 0 new items.\n"


def test_missing_config_says_how_to_create_one(tmp_path):
    result = _run("flag", "--config", str(tmp_path / "repwatch.toml"))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: No config file at {tmp_path / 'repwatch.toml'}. "
        f"Create one with: repwatch init --dir {tmp_path}\n"
    )


def test_bad_database_url_is_reported(tmp_path):
    _run("init", "--dir", str(tmp_path))
    env = {"REPWATCH_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = _run("flag", "--config", str(tmp_path / "repwatch.toml"), env=env)
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: Cannot open database postgresql+psycopg://nobody@127.0.0.1:1/none:"
    )
    assert "Traceback" not in result.output
