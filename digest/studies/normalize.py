"""Titles, author names, journals and years as dedupe compares them. Pure and cached.

Two records of one work rarely spell their title the same way: markup, entities, accents,
Greek letters, Unicode dashes and British/American spelling all differ between PubMed,
Europe PMC, feeds and a clinic's library. These functions map the variants onto one key.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

_WORD_WITH_DIGIT = re.compile(r"\b\w*\d\w*\b")
_YEAR = re.compile(r"(1[89]\d\d|2\d\d\d)")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:_-]*(?:\s[^<>]*)?/?>")
_COMBINING = re.compile(r"[\u0300-\u036f]")
_NON_WORD = re.compile(r"[\W_]+")
_ET_AL = re.compile(r"^(?:et\.? ?al\.?|and others|others)$", re.IGNORECASE)
_COLLECTIVE = re.compile(
    r"\b(?:group|consortium|investigators|collaborat\w*|committee|network|society|"
    r"association|trialists|team|council|panel|writing|task force|study)\b",
    re.IGNORECASE,
)
_GREEK = str.maketrans(
    {
        "α": " alpha ", "β": " beta ", "γ": " gamma ", "δ": " delta ", "ε": " epsilon ",
        "κ": " kappa ", "λ": " lambda ", "μ": " mu ", "ω": " omega ", "τ": " tau ",
    }
)  # fmt: skip
# words a title is not matched on (they say nothing about which work it is)
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "of",
        "on", "or", "the", "to", "vs", "versus", "with", "within", "without", "among",
        "after", "before", "during", "its", "their", "than", "via",
    }
)  # fmt: skip
_ROMAN = frozenset({"ii", "iii", "iv", "vi", "vii", "viii", "ix", "xi", "xii"})
_ROMAN_ONE_AFTER = frozenset({"part", "phase", "type", "stage", "grade", "class", "study"})
_JOURNAL_STOPWORDS = frozenset({"the", "of", "and", "for", "in", "on", "de", "la", "official"})


def normalize_title(title: str | None) -> str:
    """Title -> lower-case words separated by one space.

    Markup and entities go (Europe PMC sends escaped JATS), accents and Unicode
    dashes/quotes/brackets go with the rest of the punctuation, Greek letters are
    spelled out, so "[Acupuncture – a <i>review</i>]." and "Acupuncture - a review" agree.
    """
    if not title:
        return ""
    text = html.unescape(html.unescape(title)) if "&" in title else title
    text = _TAG.sub("", text).casefold().translate(_GREEK)
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return " ".join(_NON_WORD.sub(" ", text).split())


@lru_cache(maxsize=1 << 18)
def spelling_key(word: str) -> str:
    """British and American spellings of a word share a key (randomised/randomized).

    Cached and interned: titles repeat words, so each key is computed and stored once."""
    if len(word) < 4 or not word.isalpha():
        return sys.intern(word)
    key = word.replace("ae", "e").replace("oe", "e").replace("z", "s").replace("ll", "l")
    key = key.replace("our", "or")
    return sys.intern(key[:-2] + "er" if key.endswith("tre") and len(key) > 4 else key)


_NO_NUMBERS: frozenset[str] = frozenset()


def title_numbers(title: str, words: Sequence[str]) -> frozenset[str]:
    """Numbers that tell works of a series apart: digits, roman numerals, "part i"."""
    found = set(_WORD_WITH_DIGIT.findall(title))
    found.update(_ROMAN.intersection(words))
    if " i" in title:
        found.update(w for prev, w in pairwise(words) if w == "i" and prev in _ROMAN_ONE_AFTER)
    return frozenset(found) if found else _NO_NUMBERS


def _author_key(author: str) -> str | None:
    """'Schoenfeld JD', 'John D. Schoenfeld', 'Schoenfeld, J.' -> 'schoenfeld'."""
    text = author.strip().rstrip(".").strip()
    if not text or _ET_AL.match(text):
        return None
    if _COLLECTIVE.search(text) or len(text.split()) > 5:
        return "group:" + " ".join(_name_words(text))
    if "," in text:
        family = text.split(",", 1)[0]
    else:
        parts = text.split()
        # "Smith JD" has its initials last; "J.D. Smith" and "D. BU" have them first.
        dotted_first = parts[0].endswith(".") and "." not in parts[-1]
        initials_last = len(parts) >= 2 and _is_initials(parts[-1]) and not dotted_first
        family = " ".join(parts[:-1]) if initials_last else parts[-1]
    words = _name_words(family)
    return words[-1] if words else None


def _name_words(name: str) -> list[str]:
    """A name's words, lower-case and without accents ('Rodríguez-Perea' -> rodriguez, perea)."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", name.casefold()))
    return [w for w in _NON_WORD.split(text) if w]


def _is_initials(token: str) -> bool:
    """'JD', 'J.D.', 'Á', 'J-P': one to three capital letters, dots and hyphens aside."""
    letters = token.replace(".", "").replace("-", "")
    return 1 <= len(letters) <= 3 and letters.isalpha() and letters.isupper()


@lru_cache(maxsize=1 << 16)
def _cached_author_key(author: str) -> str | None:
    key = _author_key(author)
    return sys.intern(key) if key else None  # one string per surname, not per record


def author_keys(authors: Sequence[str]) -> tuple[str, ...]:
    """The authors' surname keys, in order, without repeats (et al. dropped)."""
    keys = (_cached_author_key(a) for a in authors)
    return tuple(dict.fromkeys(k for k in keys if k))


@lru_cache(maxsize=1 << 14)
def journal_words(journal: str | None) -> tuple[str, ...]:
    """Journal title words; cached, so records of one journal share one tuple."""
    return tuple(w for w in normalize_title(journal).split() if w not in _JOURNAL_STOPWORDS)


def journals_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    """Equal, or one is an abbreviation of the other ('N Engl J Med' ~ 'New England J...')."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    position = 0
    for word in short:
        while position < len(long) and not long[position].startswith(word):
            position += 1
        if position == len(long):
            return False
        position += 1
    return True


def year_of(published: str | None) -> int | None:
    """The year of a published date in any of the sources' formats ('2021 Mar', '2021-03-04')."""
    match = _YEAR.search(published or "")
    return int(match.group(1)) if match else None
