"""Sentiment scoring: load a Hugging Face model, map its labels, score stored mentions.

- ``sentiment.load.load_scorer(model, model_dir=...) -> Scorer`` finds and loads a model;
  ``Scorer.predict(texts) -> list[Prediction]``.
- ``sentiment.score.score_unscored(engine, scorer) -> ScoreSummary`` scores what is new.
- ``sentiment.pull.pull_model(model_id, model_dir)`` downloads a model for offline use.
- ``sentiment.labels.label_map(name, id2label)`` maps model labels to negative/neutral/positive.

Importing this package loads nothing heavy; ``sentiment.load`` imports torch and transformers.
"""
