"""``bench/quality.py`` on a small labelled file written here, with predictions made by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.quality import main, metrics

ROOT = Path(__file__).resolve().parent.parent
# (id, lang, gold, predicted). Worked out by hand below.
EXAMPLES = [
    ("e1", "en", "negative", "negative"),
    ("e2", "en", "negative", "negative"),
    ("e3", "en", "negative", "positive"),
    ("e4", "en", "positive", "positive"),
    ("e5", "en", "positive", "negative"),
    ("e6", "en", "neutral", "neutral"),
    ("f1", "fr", "negative", "negative"),
    ("f2", "fr", "negative", "negative"),
    ("f3", "fr", "positive", "positive"),
    ("f4", "fr", "positive", "positive"),
]
# en: 4 of 6 right. negative: 2 of 3 found, 2 of 3 predicted right -> P = R = F1 = 2/3;
#     positive: P = R = F1 = 1/2; neutral: 1. Macro-F1 = (2/3 + 1/2 + 1) / 3 = 0.7222.
# fr: all right; macro-F1 over negative and positive (no neutral anywhere) = 1.
# all: 8 of 10. negative: 4 of 5 found, 4 of 5 predicted -> 0.8; positive: 3 of 4 either
#     way -> 0.75; neutral 1. Macro-F1 = (0.8 + 0.75 + 1) / 3 = 0.85.
TABLE = """\
| lang | n | accuracy | macro-F1 | neg recall | neg precision | targets |
|---|---:|---:|---:|---:|---:|---|
| en | 6 | 0.667 | 0.722 | 0.667 | 0.667 | FAIL (negative recall, negative precision, macro-F1) |
| fr | 4 | 1.000 | 1.000 | 1.000 | 1.000 | PASS |
| all | 10 | 0.800 | 0.850 | 0.800 | 0.800 | FAIL (negative recall) |
targets in every language: negative recall >= 0.90, negative precision >= 0.75, macro-F1 >= \
0.80: FAIL in en
"""


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    data = _write(
        tmp_path / "data.jsonl",
        [
            {"id": i, "lang": lang, "text": f"review {i}", "label": gold,
             "aspects": [{"category": "SERVICE#GENERAL", "polarity": gold}] if lang == "fr" else []}
            for i, lang, gold, _ in EXAMPLES
        ],
    )  # fmt: skip
    predictions = _write(
        tmp_path / "predictions.jsonl", [{"id": i, "label": p} for i, _, _, p in reversed(EXAMPLES)]
    )
    return data, predictions


def test_the_script_prints_the_metrics_worked_out_by_hand(files):
    data, predictions = files
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "quality.py"), str(data), "--predictions",
         str(predictions)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"predictions {predictions}: 10 texts\n{TABLE}"


def test_metrics_match_the_hand_computation():
    en = [e for e in EXAMPLES if e[1] == "en"]
    m = metrics([e[2] for e in en], [e[3] for e in en])
    assert m.n == 6
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert (m.neg_recall, m.neg_precision) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    never_negative = metrics(["negative", "positive"], ["positive", "positive"])
    assert never_negative.neg_recall == 0.0
    assert never_negative.neg_precision is None  # nothing predicted negative
    assert never_negative.misses() == ["negative recall", "negative precision", "macro-F1"]


def test_check_fails_when_a_language_misses_a_target(files, capsys):
    data, predictions = files
    assert main([str(data), "--predictions", str(predictions), "--check"]) == 1
    good = _write(data.parent / "good.jsonl", [{"id": i, "label": g} for i, _, g, _ in EXAMPLES])
    assert main([str(data), "--predictions", str(good), "--check"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("macro-F1 >= 0.80: PASS")


def test_aspects_are_counted_per_category_and_polarity(files, capsys):
    data, predictions = files
    assert main([str(data), "--predictions", str(predictions), "--aspects"]) == 0
    assert capsys.readouterr().out.endswith(
        "| lang | aspect category | n | negative | neutral | positive |\n"
        "|---|---|---:|---:|---:|---:|\n"
        "| fr | SERVICE#GENERAL | 4 | 2 | 0 | 2 |\n"
    )


@pytest.mark.parametrize(
    ("data_lines", "prediction_lines", "error"),
    [
        (None, [], "error: {data}: no such file"),
        (['{"lang": "en", "text": "ok", "label": "positive"}', "{oops"], [],
         "error: {data}:2: not valid JSON (Expecting property name enclosed in double quotes: "
         "line 1 column 2 (char 1))"),
        (['{"lang": "en", "label": "positive"}'], [],
         "error: {data}:1: no text; every line needs the strings lang, text and label"),
        (['{"lang": "en", "text": "ok", "label": "good"}'], [],
         "error: {data}:1: label 'good' is not negative, neutral or positive"),
        (["", "  "], [], "error: {data}: no examples in it"),
        (['{"id": "a", "lang": "en", "text": "ok", "label": "neutral"}',
          '{"id": "b", "lang": "en", "text": "ok", "label": "neutral"}'],
         ['{"id": "a", "label": "neutral"}'],
         "error: {predictions}: no prediction for 1 of 2 examples (first: 'b')"),
        (['{"id": "a", "lang": "en", "text": "ok", "label": "neutral"}'],
         ['{"id": "a", "label": "NEG"}'],
         "error: {predictions}:1: label 'NEG' is not negative, neutral or positive"),
        (['{"id": "a", "lang": "en", "text": "ok", "label": "neutral"}'], None,
         "error: {predictions}: no such file"),
    ],
)  # fmt: skip
def test_unusable_files_give_one_clear_line(tmp_path, capsys, data_lines, prediction_lines, error):
    data, predictions = tmp_path / "data.jsonl", tmp_path / "predictions.jsonl"
    if data_lines is not None:
        data.write_text("\n".join(data_lines) + "\n", "utf-8")
    if prediction_lines is not None:
        predictions.write_text("\n".join(prediction_lines) + "\n", "utf-8")
    assert main([str(data), "--predictions", str(predictions)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == error.format(data=data, predictions=predictions) + "\n"
