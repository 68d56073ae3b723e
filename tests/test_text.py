"""Normalisation: what people type in many shapes meets the same key."""

import pytest

from bot.core.text import MAX_QUERY_CHARS, join_codes, normalise, squash


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Trata de Personas!", "trata de personas"),
        ("DEPORTACIÓN", "deportacion"),
        ("ＩＣＥ  ｍｉｓｓｉｏｎ", "ice mission"),                 # full-width letters
        ("traf\u200bficking", "trafficking"),                     # zero-width space inside a word
        ("\u202easylum\u202c", "asylum"),                         # right-to-left override marks
        ("**287(g)** _agreements_", "287 g agreements"),          # markdown and punctuation
        ("  who\thandles\n\nI-9?  ", "who handles i 9"),
        ("", ""),
        ("@everyone", "everyone"),
        ("ñandú Straße", "nandu strasse"),
        ("can't leave, ICE’s agents", "cant leave ices agents"),
    ],
)
def test_normalise(typed: str, key: str):
    assert normalise(typed) == key


def test_normalise_bounds_huge_input():
    assert len(normalise("trafficking " * 5000)) <= MAX_QUERY_CHARS


def test_squash_and_join_codes():
    assert squash(normalise("287 (g)")) == "287g"
    assert join_codes(normalise("I-9 form, F-1 visa, 287 (g)")) == "i9 form f1 visa 287g"
    assert join_codes("a file") == "a file"
    assert join_codes("apply for a t visa") == "apply for a tvisa"
