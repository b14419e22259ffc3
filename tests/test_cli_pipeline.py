"""`repwatch score`, `flag` and `doctor` on a real database with a tiny model built here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from repwatch.cli import main
from repwatch.config import DEFAULT_MODEL, load_config
from repwatch.records import MentionRecord
from repwatch.store import open_database, queries, session_scope
from repwatch.store.schema import AnalysisRow, MentionRow
from tests.tiny_model import THREE_LABELS, build_tiny_model

MISSING = "nobody/no-such-sentiment-model"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny", THREE_LABELS)


def _config(tmp_path: Path, model: str | None = None) -> Path:
    """A fresh config with three mentions; ``model`` None keeps the default (bundled)."""
    CliRunner().invoke(main, ["init", "--dir", str(tmp_path)], catch_exceptions=False)
    path = tmp_path / "repwatch.toml"
    text = path.read_text(encoding="utf-8")
    name_line = f'name = "{DEFAULT_MODEL}"'
    assert name_line in text.splitlines()
    if model is not None:
        path.write_text(text.replace(name_line, f"name = {model!r}"), encoding="utf-8")
    config = load_config(path)
    engine = open_database(config.database_url)
    with session_scope(engine) as s:
        queries.ensure_source(
            s, key="acme-reviews", kind="reviews", brand="acme", url="https://x.example"
        )
        queries.upsert_mentions(
            s,
            [
                MentionRecord("acme-reviews", "acme", f"https://x.example/{n}", f"r{n}", text,
                              rating=rating, published_at=datetime(2026, 11, 1, tzinfo=UTC))
                for n, (text, rating) in enumerate(
                    [("Terrible service, rude staff.", 0.0), ("Great shop, fast delivery!", 1.0),
                     ("It was fine.", None)]
                )
            ],
        )  # fmt: skip
    engine.dispose()
    return path


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_score_then_flag_with_a_local_model(tmp_path, tiny_model):
    config = _config(tmp_path, str(tiny_model))
    first = _run("score", "--config", str(config))
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Scored 3 mentions (")
    again = _run("score", "--config", str(config))
    assert again.output.startswith("Scored 0 mentions")
    flagged = _run("flag", "--config", str(config))
    assert flagged.exit_code == 0
    assert int(flagged.output.split()[1]) >= 1  # at least the 1-star review
    engine = open_database(load_config(config).database_url)
    with session_scope(engine) as s:
        counts = queries.counts(s)
    engine.dispose()
    assert (counts.mentions, counts.analysed) == (3, 3)


def test_default_config_scores_offline_with_the_bundled_model(tmp_path):
    config = _config(tmp_path)
    first = _run("score", "--config", str(config))
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Scored 3 mentions (")
    assert _run("score", "--config", str(config)).output.startswith("Scored 0 mentions")
    engine = open_database(load_config(config).database_url)
    with session_scope(engine) as s:
        counts = queries.counts(s)
        labels = dict(
            s.execute(
                select(MentionRow.text, AnalysisRow.label).join(
                    AnalysisRow, AnalysisRow.mention_id == MentionRow.id
                )
            ).all()
        )
    engine.dispose()
    assert (counts.mentions, counts.analysed) == (3, 3)
    assert labels["Terrible service, rude staff."] == "negative"
    assert labels["Great shop, fast delivery!"] == "positive"
    doctor = _run("doctor", "--config", str(config))
    assert doctor.exit_code == 0, doctor.output
    assert "ok    model: bundled (revision 1." in doctor.output
    assert "bundled offline model)" in doctor.output


def test_score_without_the_model_names_it_and_both_ways_out(tmp_path):
    config = _config(tmp_path, MISSING)
    result = _run("score", "--config", str(config))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Model {MISSING!r} is not on this machine")
    assert result.output.rstrip().endswith(
        f"Pass --model PATH to a local copy, or run: repwatch models pull {MISSING}"
    )
    assert "Traceback" not in result.output


def test_doctor_says_what_to_fix_and_fails(tmp_path):
    config = _config(tmp_path, MISSING)
    result = _run("doctor", "--config", str(config))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"ok    config: {config} (2 brands, 1 sources)"
    assert lines[1].startswith("ok    database: sqlite:///")
    assert lines[1].endswith("(3 mentions, 0 open items)")
    assert lines[2].startswith(f"FAIL  model: Model {MISSING!r} is not on this machine")


@pytest.mark.slow
def test_doctor_passes_with_a_local_model(tmp_path, tiny_model):
    config = _config(tmp_path, str(tiny_model))
    result = _run("doctor", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "All checks passed."
