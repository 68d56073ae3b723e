"""What a server adds of its own: moderators' help notes and aliases, checked before they are stored, and the
separate, clearly marked field that shows notes under an answer (never mixed with the table's cited text).

Every check returns a clear reason to refuse, or None; nothing a moderator types is stored unchecked.
"""

from __future__ import annotations

import re
import unicodedata

import discord

from bot.discord.embeds import FIELD_VALUE_LIMIT, TOTAL_LIMIT

NOTE_LIMIT = 300            # characters of one note: short, and ten of them still fit a field or two
NOTES_PER_SERVER = 25
NOTE_LINES = 4
ALIAS_LIMIT = 60
ALIASES_PER_SERVER = 200
LOCAL_HEADING = {"en": "📣 From this server's moderators (not checked by who-handles)",
                 "es": "📣 De los moderadores de este servidor (who-handles no lo ha verificado)"}

_URL = re.compile(r"\b([a-z][a-z0-9+.-]*):/+\S*", re.IGNORECASE)
_BARE = re.compile(r"(?<![/\w.])www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"@(everyone|here)\b|<(@[!&]?|#)\d+>|<:\w+:\d+>", re.IGNORECASE)
_MASKED_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")
_MARKDOWN = re.compile(r"`|\*|~~|\|\||__|^\s*(#{1,3}\s|-#\s|>)", re.MULTILINE)
_ALIAS = re.compile(r"^[\w' .,-]+$")


def _unsafe_character(text: str) -> str | None:
    for char in text:
        category = unicodedata.category(char)
        if char != "\n" and category in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def check_note(text: str) -> str | None:
    """Why a help note is refused, or None. https links only, no mentions, no markdown, Discord-safe unicode."""
    body = text.strip()
    if not body:
        return "The note is empty."
    if len(body) > NOTE_LIMIT:
        return f"A note may have at most {NOTE_LIMIT} characters; this one has {len(body)}."
    if body.count("\n") >= NOTE_LINES:
        return f"A note may have at most {NOTE_LINES} lines."
    bad = _unsafe_character(body)
    if bad:
        return f"The note contains an invisible or control character ({bad}); type it again as plain text."
    if _MENTION.search(body):
        return "Notes cannot mention anyone, a role or a channel (no @everyone, @here, <@…>, <#…>)."
    if _MASKED_LINK.search(body):
        return "Write links in full (https://…), not as [text](link): members must see where a link goes."
    for match in _URL.finditer(body):
        if match.group(1).lower() != "https":
            return f"Only https:// links are allowed; found a {match.group(1)[:20]}: link."
    if _BARE.search(body):
        return "Write links in full, starting with https://."
    if _MARKDOWN.search(body):
        return "Notes are plain text: no markdown (`, *, ~~, ||, __, headings or quotes)."
    return None


def check_alias(text: str) -> str | None:
    words = " ".join(text.split())
    if not words:
        return "The alias is empty."
    if len(words) > ALIAS_LIMIT:
        return f"An alias may have at most {ALIAS_LIMIT} characters; this one has {len(words)}."
    bad = _unsafe_character(words)
    if bad:
        return f"The alias contains an invisible or control character ({bad})."
    if _MENTION.search(words) or "@" in words:
        return "An alias cannot mention anyone."
    if _URL.search(words) or _BARE.search(words):
        return "An alias is words people type, not a link."
    if not _ALIAS.match(words):
        return "An alias may contain letters, digits, spaces, apostrophes, dots, commas and hyphens only."
    return None


def note_lines(notes: list[tuple[int, str]]) -> str:
    """`number. text` a line: moderator text, already checked, shown as plain text."""
    return "\n".join(f"{number}. {body}" for number, body in notes)


def with_local_help(embed: discord.Embed, notes: list[str], lang: str) -> discord.Embed:
    """A copy of `embed` with the server's notes in one separate field after the cited text; notes that would pass
    Discord's limits (1024 a field, 6000 an embed) are left out rather than cut."""
    if not notes:
        return embed
    heading = LOCAL_HEADING.get(lang, LOCAL_HEADING["en"])
    room = min(FIELD_VALUE_LIMIT, TOTAL_LIMIT - len(embed) - len(heading))
    kept: list[str] = []
    for note in notes:
        line = "• " + note
        if len("\n".join([*kept, line])) > room:
            break
        kept.append(line)
    if not kept:
        return embed
    copy = embed.copy()
    copy.add_field(name=heading, value="\n".join(kept), inline=False)
    return copy
