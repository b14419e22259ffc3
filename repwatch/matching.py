"""Which brands a post mentions: names and aliases as whole words, in any script.

``BrandMatcher`` is built from the ``[brands]`` of repwatch.toml. Matching semantics:

- **Folding**: text and names are compared after Unicode compatibility decomposition
  (NFKD), case folding and removal of accents on Latin, Greek and Cyrillic letters, so
  "CAFÉ NERO", "Café Nero" and "cafe nero" are the same, as are "СБЕРБАНК" and "Сбербанк".
  Marks that carry meaning in other scripts (Japanese voicing marks, Indic vowel signs)
  are kept.
- **Whole words**: a name must not be glued to letters or digits of a script written
  with spaces: "Apple" is found in "Apple's", "@apple", "#Apple", "apple.com" and
  "apple_store", but not in "Pineapple" or "Apples". Inflected forms are not found
  ("Сбербанка" is not "Сбербанк"): list them as aliases when they matter.
- **Scripts without spaces** (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar): next
  to their characters a name needs no boundary, so "索尼" is found in "我买了索尼耳机" and
  "Apple" in "Appleの新製品".
- **Separators**: spaces and hyphens inside a name match any run of spaces, hyphens or
  underscores ("Coca-Cola" = "coca cola"); after "@" or "#", and before a domain ending
  such as ".com", they may be left out ("#KestrelHome", "kestrelhome.com").
- **Exclusions**: an occurrence of a name inside one of the brand's ``exclude`` phrases
  does not count ("apple pie" for the brand "Apple"); other occurrences in the same text do.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from repwatch.config import Brand

__all__ = ["BrandMatcher", "fold"]

log = logging.getLogger(__name__)

# Scripts written without spaces between words; next to them no word boundary is needed.
_UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u3005\u3006"  # ideographic iteration and closing marks
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f"  # Bopomofo
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_UNSPACED_CHAR = re.compile(f"[{_UNSPACED}]")
_SEPARATOR = re.compile(r"[\s\-\u2010-\u2015_]+")
_TEXT_SEPARATOR = r"[\s\-\u2010-\u2015_]+"
_DOMAIN_END = r"(?=\.[^\W\d_]{2,})"
_ACCENTED_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})


@lru_cache(maxsize=4096)
def _drops_marks(base: str) -> bool:
    """Whether accents on ``base`` are decoration (Latin, Greek, Cyrillic letters)."""
    return unicodedata.name(base, "").split(" ", 1)[0] in _ACCENTED_SCRIPTS


def fold(text: str) -> str:
    """``text`` as matching compares it: NFKD, case-folded, Latin/Greek/Cyrillic accents off."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    out: list[str] = []
    strip = False
    for char in decomposed:
        if unicodedata.combining(char):
            if strip:
                continue
        else:
            strip = _drops_marks(char)
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _mark_ranges() -> str:
    """A character class body for the combining marks of scripts written with spaces."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x20000):
        char = chr(code)
        if unicodedata.category(char).startswith("M") and not _UNSPACED_CHAR.match(char):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


# A letter, digit or combining mark of a script written with spaces ("_" is a separator).
# Marks count because they belong to the letter before them (Devanagari vowel signs).
_SPACED_WORD = f"(?:[^\\W_{_UNSPACED}]|[{_mark_ranges()}])"
_SPACED_WORD_CHAR = re.compile(_SPACED_WORD)


def _is_spaced_word_char(char: str) -> bool:
    return _SPACED_WORD_CHAR.match(char) is not None


def _name_pattern(name: str) -> str | None:
    """A regular expression for a folded name, or ``None`` when it holds no letter or digit."""
    parts = [part for part in _SEPARATOR.split(name) if part]
    if not any(char.isalnum() for part in parts for char in part):
        return None
    words = _TEXT_SEPARATOR.join(re.escape(part) for part in parts)
    before = f"(?<!{_SPACED_WORD})" if _is_spaced_word_char(parts[0][0]) else ""
    after = f"(?!{_SPACED_WORD})" if _is_spaced_word_char(parts[-1][-1]) else ""
    variants = [f"{before}{words}{after}"]
    if len(parts) > 1:
        # "#KestrelHome", "@kestrel_home" and "kestrelhome.com" for "Kestrel Home".
        squashed = "".join(re.escape(part) for part in parts)
        variants.append(f"(?<=[@#]){squashed}{after}")
        variants.append(f"{before}{squashed}{_DOMAIN_END}")
    return "|".join(variants)


@dataclass(frozen=True, slots=True)
class _BrandPatterns:
    key: str
    names: re.Pattern[str]
    exclusions: re.Pattern[str] | None


def _compile(names: Iterable[str]) -> re.Pattern[str] | None:
    patterns = []
    # Longest first, so an alias that extends another one claims the longer span.
    for name in sorted({fold(n).strip() for n in names}, key=len, reverse=True):
        pattern = _name_pattern(name) if name else None
        if pattern is None:
            log.warning("brand name or phrase %r has no letters or digits; ignored", name)
            continue
        patterns.append(pattern)
    if not patterns:
        return None
    # A lookahead with a group finds overlapping occurrences too.
    return re.compile("(?=(" + "|".join(f"(?:{p})" for p in patterns) + "))")


class BrandMatcher:
    """Find which configured brands a text mentions (see the module docstring for the rules).

    >>> matcher = BrandMatcher.from_brands({"apple": Brand(name="Apple", exclude=["apple pie"])})
    >>> matcher.match("Apple's new phone")
    ['apple']
    >>> matcher.match("grandma's apple pie")
    []
    """

    def __init__(self, brands: Iterable[_BrandPatterns]) -> None:
        self._brands = tuple(brands)

    @classmethod
    def from_brands(cls, brands: Mapping[str, Brand]) -> BrandMatcher:
        """A matcher for the ``[brands]`` of a config: name and aliases, minus exclusions."""
        compiled = []
        for key, brand in brands.items():
            names = _compile([brand.name, *brand.aliases])
            if names is None:
                log.warning("brand %s has no usable name or alias; it will never match", key)
                continue
            compiled.append(_BrandPatterns(key, names, _compile(brand.exclude)))
        return cls(compiled)

    @property
    def brand_keys(self) -> tuple[str, ...]:
        """The keys of the brands this matcher can report, in config order."""
        return tuple(brand.key for brand in self._brands)

    def match(self, text: str) -> list[str]:
        """Keys of the brands ``text`` mentions, in config order (empty when none)."""
        if not text:
            return []
        folded = fold(text)
        return [brand.key for brand in self._brands if _mentions(brand, folded)]


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(1), m.end(1)) for m in pattern.finditer(text) if m.end(1) > m.start(1)]


def _mentions(brand: _BrandPatterns, folded: str) -> bool:
    found = _spans(brand.names, folded)
    if not found or brand.exclusions is None:
        return bool(found)
    excluded = _spans(brand.exclusions, folded)
    return any(
        not any(start >= x_start and end <= x_end for x_start, x_end in excluded)
        for start, end in found
    )
