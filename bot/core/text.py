"""Text normalisation shared by the loader (alias uniqueness) and the matcher (queries)."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")

# Queries longer than this are cut before any work: nobody asks "who handles this" in 20,000 characters, and
# matching time must not grow with whatever someone pastes.
MAX_QUERY_CHARS = 300


def fold(text: str) -> str:
    """Case, width and accents folded; invisible characters removed. Keeps punctuation."""
    if text.isascii():
        return text.casefold()
    # Zero-width characters and direction marks (category Cf) are dropped rather than turned into spaces, so
    # "traf\u200bficking" still reads as one word.
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(
        char for char in decomposed if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )


def normalise(text: str) -> str:
    """The comparable form of a query or alias: folded, punctuation as spaces, single-spaced.

    "Trata de Personas!" → "trata de personas"; "I-9" → "i 9"; "ＩＣＥ" → "ice".
    """
    return " ".join(_NOT_WORD.sub(" ", fold(text[: MAX_QUERY_CHARS * 2])).split())[:MAX_QUERY_CHARS].strip()


def squash(normalised: str) -> str:
    """Spaces removed, so "287 g", "287g" and "287(g)" meet: "287g"."""
    return normalised.replace(" ", "")


def split_letters_digits(normalised: str) -> str:
    """ "i9" → "i 9", so a glued abbreviation meets its spelled-out form."""
    return _LETTER_DIGIT.sub(" ", normalised)
