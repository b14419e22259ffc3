"""Detect the language of a mention offline, among the languages repwatch is set up for.

``LanguageDetector`` wraps lingua (``lingua-language-detector``, whose n-gram models ship
inside its wheel, so nothing is downloaded). It is restricted to the configured languages:
a Portuguese review is reported as the closest configured language or as ``"unknown"``,
never as ``"pt"``. Build one per process and reuse it; lingua shares its models between
instances, so a second one costs nothing.

A text is ``"unknown"`` when it has fewer than ``MIN_LETTERS`` letters once links and
@handles are removed, or when no language gets at least ``MIN_CONFIDENCE`` of the
probability. Lingua's probabilities are spread over the configured languages and sum to 1,
so 0.5 means "more likely than all the others together". On the reviews development set
(``bench/language_quality.py``) this leaves 2.4% of texts unknown, mostly English
sentences of two to five words, and 0.2% wrong; at 0.4 the wrong rate rises to 0.6%.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from lingua import ConfidenceValue, IsoCode639_1, Language, LanguageDetectorBuilder

from repwatch.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "fr", "sv", "ru", "de", "es")
UNKNOWN = "unknown"
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 3
# Links and @handles are not in any language, and a Russian tweet full of Latin URLs
# would otherwise be detected as English.
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|@\w+")


class Detection(NamedTuple):
    """A detected language (ISO 639-1 code, or ``"unknown"``) and how sure it is (0..1).

    For ``"unknown"`` the confidence is that of the best guess, below the threshold.
    """

    language: str
    confidence: float


def _lingua_language(code: str) -> Language:
    """The lingua language for an ISO 639-1 code; ``ConfigError`` if lingua has none."""
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code.strip().lower()))
    except ValueError:
        raise ConfigError(
            f"Language {code!r} is not one repwatch can detect: use ISO 639-1 codes such as "
            f"{', '.join(DEFAULT_LANGUAGES)} in [model] languages."
        ) from None


def detectable_text(text: str) -> str:
    """``text`` without links, e-mail addresses and @handles: what the detector reads."""
    return _NOISE.sub(" ", text)


class LanguageDetector:
    """Detects which of ``languages`` (ISO 639-1 codes) a text is in.

    By default lingua loads a language's models when a text first needs them (about 1 s and
    210 MB for the six default languages, once per process), so a run with nothing to
    detect costs nothing. ``preload=True`` loads them all now, for a long-running process
    whose first answer should be as fast as the rest.
    """

    def __init__(
        self,
        languages: Iterable[str] = DEFAULT_LANGUAGES,
        *,
        min_confidence: float = MIN_CONFIDENCE,
        preload: bool = False,
    ) -> None:
        wanted = list(dict.fromkeys(code.strip().lower() for code in languages))
        if not wanted:
            raise ConfigError(
                "No languages to detect: list at least one ISO 639-1 code in [model] languages."
            )
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, not {min_confidence}")
        self.languages: tuple[str, ...] = tuple(wanted)
        self.min_confidence = min_confidence
        builder = LanguageDetectorBuilder.from_languages(*(_lingua_language(c) for c in wanted))
        if preload:
            builder = builder.with_preloaded_language_models()
        self._lingua = builder.build()
        log.debug("language detector for %s ready", ", ".join(self.languages))

    def __repr__(self) -> str:
        return f"LanguageDetector({self.languages!r}, min_confidence={self.min_confidence})"

    def detect(self, text: str) -> Detection:
        """The language of ``text``, or ``"unknown"`` when it is too short or ambiguous."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[Detection]:
        """One detection per text, in order; lingua spreads the work over the CPU cores."""
        cleaned = [detectable_text(t) for t in texts]
        long_enough = [i for i, t in enumerate(cleaned) if _letters(t) >= MIN_LETTERS]
        found = [Detection(UNKNOWN, 0.0)] * len(texts)
        values = self._lingua.compute_language_confidence_values_in_parallel(
            [cleaned[i] for i in long_enough]
        )
        for i, ranked in zip(long_enough, values, strict=True):
            found[i] = self._pick(ranked)
        return found

    def _pick(self, ranked: Sequence[ConfidenceValue]) -> Detection:
        if not ranked:
            return Detection(UNKNOWN, 0.0)
        best = ranked[0]  # lingua sorts by confidence, best first
        confidence = round(float(best.value), 4)
        if confidence < self.min_confidence or confidence == 0.0:
            return Detection(UNKNOWN, confidence)
        return Detection(best.language.iso_code_639_1.name.lower(), confidence)


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())
