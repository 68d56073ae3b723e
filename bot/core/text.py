"""Text normalisation shared by the loader (alias uniqueness) and the matcher (queries)."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")
# An apostrophe inside a word joins it ("can't", "ICE's") instead of leaving a stray letter that means nothing.
_APOSTROPHE = re.compile(r"(?<=[a-z])['’](?=[a-z])")
_LETTER_THEN_NUMBER = re.compile(r"\b([a-z]) ([0-9]+)\b")
_NUMBER_THEN_LETTER = re.compile(r"\b([0-9]+) ([a-z])\b")
_LETTER_VISA = re.compile(r"\b([a-z]) (visa|visas)\b")
_E_VERIFY = re.compile(r"\be (verify|verificar)\b")
# "check in" is one thing (an ICE check-in) but two words that mean little apart: "in" is filler, "check" generic.
_CHECK_IN = re.compile(r"\bcheck ins?\b")

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

    "Trata de Personas!" → "trata de personas"; "I-9" → "i 9"; "ＩＣＥ" → "ice"; "can't" → "cant".
    """
    folded = _APOSTROPHE.sub("", fold(text[: MAX_QUERY_CHARS * 2]))
    return " ".join(_NOT_WORD.sub(" ", folded).split())[:MAX_QUERY_CHARS].strip()


def squash(normalised: str) -> str:
    """Spaces removed, so "287 g", "287g" and "287(g)" meet: "287g"."""
    return normalised.replace(" ", "")


def join_codes(normalised: str) -> str:
    """Codes written with a space or hyphen are joined: "i 9" → "i9", "287 g" → "287g", "t visa" → "tvisa", so that
    "I-9", "i9" and "I 9" are one word, and no stray single letter is left to match anything."""
    joined = _E_VERIFY.sub(r"e\1", _NUMBER_THEN_LETTER.sub(r"\1\2", _LETTER_THEN_NUMBER.sub(r"\1\2", normalised)))
    return _CHECK_IN.sub("checkin", _LETTER_VISA.sub(r"\1\2", joined))
