# ruff: noqa: RUF001, RUF002  (Cyrillic and typographic quotes are the point here)
"""Split a review into sentences, and sentences into clauses, in en/fr/sv/ru/de/es.

A small rule-based splitter rather than a library: pysbd (the usual choice) has no
Swedish rules and its regex cascade costs milliseconds per text, which scoring hundreds
of mentions a second cannot afford. The rules:

- a line break always ends a sentence;
- ``!``, ``?`` and ``…`` (with closing quotes or brackets) followed by a space end one;
- ``.`` followed by a space ends one unless the word before it is a known abbreviation
  of the language (``z.B.``, ``т.е.``, ``t.ex.``), a single letter (an initial), a
  number followed by a lower-case word (German ordinals, "3. Mai"), or the next word
  starts in lower case.

Clauses: a sentence is also cut before contrastive conjunctions ("but", "mais", "men",
"но", "aber", "pero", ...), at semicolons, and at commas, as long as each piece keeps
at least ``MIN_CLAUSE_WORDS`` words. "Great food, rude staff" becomes two clauses, so
each topic can take the sentiment of its own clause.
"""

from __future__ import annotations

import re

MIN_CLAUSE_WORDS = 2

_ABBREVIATIONS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "mr mrs ms dr st vs etc e.g i.e approx no nr jr sr inc ltd co",
        "fr": "m mme mlle mm dr st etc env p.ex cf av bd n°",
        "sv": "t.ex bl.a d.v.s dvs osv ca kl s.k m.m fr.o.m o.s.v resp st nr",
        "ru": "т.е т.д т.п т.к г гг руб ул др им см коп тыс млн пр д кв",
        "de": "z.b bzw usw ca dr nr str ggf evtl inkl u.a d.h z.t bspw hr fr abs mio mrd vgl",
        "es": "sr sra srta dr dra etc ud uds p.ej aprox núm pág av avda",
    }.items()
}
_ALL_ABBREVIATIONS = frozenset().union(*_ABBREVIATIONS.values())

# A terminator, any closing quotes or brackets, then whitespace.
_BOUNDARY = re.compile(r"([.!?…]+)[\"'»”’)\]]*\s+")
_CONTRAST = (
    "but|however|although|though|whereas|except"
    "|mais|cependant|pourtant|par contre|en revanche|alors que|sauf"
    "|men|dock|däremot|medan|utom"
    "|но|однако|зато|хотя|а"
    "|aber|jedoch|allerdings|dafür|sondern|obwohl|trotzdem"
    "|pero|sin embargo|aunque|sino|mientras que|excepto"
)
# Where a clause may be cut: before a contrastive conjunction (after a space or comma),
# after a semicolon, after a comma.
_CLAUSE_CUT = re.compile(rf"(?:,\s*|\s+)(?=(?:{_CONTRAST})\b)|;\s*|,\s+", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_MONTH = re.compile(r"(?:Jan|Feb|Mär|Apr|Mai|Jun|Jul|Aug|Sep|Okt|Nov|Dez)")  # "am 3. Mai"


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """The sentences of ``text``, stripped, in order (the whole text if it has one)."""
    abbreviations = _ABBREVIATIONS.get(lang or "", _ALL_ABBREVIATIONS)
    out: list[str] = []
    for line in text.splitlines():
        start = 0
        for match in _BOUNDARY.finditer(line):
            if match.group(1) == "." and not _ends_sentence(line, match, abbreviations):
                continue
            out.append(line[start : match.end()].strip())
            start = match.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def _ends_sentence(line: str, match: re.Match[str], abbreviations: frozenset[str]) -> bool:
    """Whether a full stop at ``match`` ends the sentence."""
    following = line[match.end() : match.end() + 1]
    if following and following.islower():
        return False  # "approx. two hours", "3. mai"
    before = line[: match.start()].rsplit(maxsplit=1)
    word = before[-1].lower().lstrip("(\"'«“") if before else ""
    if word in abbreviations or (len(word) == 1 and word.isalpha()):
        return False
    return not (word.isdigit() and len(word) <= 2 and _MONTH.match(line, match.end()))


def split_clauses(sentence: str) -> list[str]:
    """``sentence`` cut at contrastive conjunctions, semicolons and commas (see module doc)."""
    spans: list[tuple[int, int]] = []  # (start, end) of each piece in ``sentence``
    start = 0
    for match in _CLAUSE_CUT.finditer(sentence):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(sentence)))
    merged: list[tuple[int, int]] = []
    for begin, end in spans:
        if not sentence[begin:end].strip():
            continue
        short = _words(sentence[begin:end]) < MIN_CLAUSE_WORDS
        if merged and (short or _words(sentence[slice(*merged[-1])]) < MIN_CLAUSE_WORDS):
            merged[-1] = (merged[-1][0], end)  # too short to stand alone: join its neighbour
        else:
            merged.append((begin, end))
    return [sentence[begin:end].strip() for begin, end in merged]


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def segments(text: str, lang: str | None = None) -> list[str]:
    """The clauses of every sentence of ``text``: the units that aspect polarity reads."""
    return [c for s in split_sentences(text, lang) for c in split_clauses(s)]
