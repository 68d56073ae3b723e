"""What the Discord front end says in its own words (not the table's), in English and Spanish, and how it echoes
what people typed: escaped, so nobody can smuggle formatting or a mention through the bot, and short."""

from __future__ import annotations

import re

import discord

ECHO_LIMIT = 100          # characters of user input repeated back
SPANISH_LOCALES = frozenset({discord.Locale.spain_spanish, discord.Locale.latin_american_spanish})


def lang_for(locale: discord.Locale | str | None) -> str:
    """The answer language for a member's Discord locale: Spanish for es-ES and es-419, else English."""
    if locale is None:
        return "en"
    if isinstance(locale, str):
        return "es" if locale.lower().startswith("es") else "en"
    return "es" if locale in SPANISH_LOCALES else "en"


# Every character that starts or ends Discord syntax: markdown (* _ ~ | ` > # -), masked links [..](..), and the
# <..> forms (channel, slash-command, timestamp, custom emoji, bare-URL brackets); and the backslash itself. Escaped
# one by one: discord.utils.escape_markdown skips the inside of a [..](..) span, so nested brackets stayed live.
DISCORD_SYNTAX = re.compile(r"[\\*_~|`>#\-\[\]()<]")
# An invite renders as a card even without https:// in front; a zero-width space after "discord" breaks the match.
INVITE = re.compile(r"(discord)(?=(?:app)?\.com/invite/|\.gg/)", re.IGNORECASE)


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """User text made safe to show: one line, at most `limit` characters, with markdown, links, invites,
    mentions and every <..> form neutralised."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    escaped = INVITE.sub("\\1\u200b", DISCORD_SYNTAX.sub(r"\\\g<0>", flat))
    return discord.utils.escape_mentions(escaped)


def shorten(text: str, limit: int) -> str:
    """Our own (trusted) text cut to `limit` characters with an ellipsis; nothing is escaped."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "not_covered": "I could not find that topic. Try other words, or see every topic with /topics.",
        "pick_question": "Is this what you mean?",
        "pick_public": "Picking one posts its answer in this channel for everyone.",
        "pick_private": "Picking one shows its answer only to you.",
        "picked_public": "Posted in the channel.",
        "page_prev": "Previous",
        "page_next": "Next",
        "only_asker": "Only the person who asked can pick here. Ask your own question with /who.",
        "repeat": "This was answered in this channel a moment ago: {link}",
        "slow_down": "You are asking very fast. Please wait {seconds} s and try again.",
        "pin_button": "Pin",
        "pin_guild_only": "Pinning works in server channels only.",
        "pin_not_allowed": "Only members who may pin messages in this channel can pin answers.",
        "pin_bot_lacks": "I am not allowed to pin messages here. A moderator can give me the Pin Messages "
                         "permission in this channel.",
        "pin_limit": "This channel has reached Discord's limit of pinned messages. Unpin something first.",
        "pin_already": "This answer is already pinned.",
        "pin_done": "Pinned.",
        "pin_not_mine": "I can only pin my own answers.",
        "answer_no_text": "That message has no text I can read, so there is nothing to answer.",
        "pin_gone": "That message no longer exists.",
        "error": "Something went wrong on our side (error id `{error_id}`). Please try again; if it keeps "
                 "happening, tell the server's moderators and quote the id.",
        "bad_option": "I could not read that option. Please pick one of the offered choices.",
        "unknown_agency": "I do not know an agency called “{name}”. Start typing and pick one from the list.",
        "unknown_topic": "That topic is no longer in the table.",
        "open_topic": "Open a topic",
        "open_topic_range": "Open a topic ({first}–{last} of {total})",
        "page": "Page {page} of {pages}",
        "restarting": "The bot is restarting. Please ask again in a minute.",
        "reload_owner_only": "Only the bot's owner can reload the knowledge table.",
        "reload_done": "Reloaded the knowledge table: {version}.",
        "reload_refused": "The new table has {count} problem(s), so the old one keeps serving. First: {first}",
    },
    "es": {
        "not_covered": "No encontré ese tema. Pruebe con otras palabras, o vea todos los temas con /temas.",
        "pick_question": "¿Es esto lo que busca?",
        "pick_public": "Al elegir uno, su respuesta se publica en este canal para todos.",
        "pick_private": "Al elegir uno, su respuesta se muestra solo a usted.",
        "picked_public": "Publicado en el canal.",
        "page_prev": "Anterior",
        "page_next": "Siguiente",
        "only_asker": "Solo quien preguntó puede elegir aquí. Haga su propia pregunta con /who.",
        "repeat": "Esto se respondió en este canal hace un momento: {link}",
        "slow_down": "Está preguntando muy rápido. Espere {seconds} s y vuelva a intentarlo.",
        "pin_button": "Fijar",
        "pin_guild_only": "Fijar mensajes solo funciona en canales de un servidor.",
        "pin_not_allowed": "Solo los miembros que pueden fijar mensajes en este canal pueden fijar respuestas.",
        "pin_bot_lacks": "No tengo permiso para fijar mensajes aquí. Un moderador puede darme el permiso "
                         "Fijar mensajes en este canal.",
        "pin_limit": "Este canal llegó al límite de mensajes fijados de Discord. Quite uno primero.",
        "pin_already": "Esta respuesta ya está fijada.",
        "pin_done": "Fijado.",
        "pin_not_mine": "Solo puedo fijar mis propias respuestas.",
        "answer_no_text": "Ese mensaje no tiene texto que yo pueda leer; no hay nada que responder.",
        "pin_gone": "Ese mensaje ya no existe.",
        "error": "Algo falló de nuestro lado (id de error `{error_id}`). Inténtelo de nuevo; si sigue pasando, "
                 "avise a los moderadores del servidor con el id.",
        "bad_option": "No pude leer esa opción. Elija una de las opciones ofrecidas.",
        "unknown_agency": "No conozco una agencia llamada «{name}». Empiece a escribir y elija una de la lista.",
        "unknown_topic": "Ese tema ya no está en la tabla.",
        "open_topic": "Abrir un tema",
        "open_topic_range": "Abrir un tema ({first}–{last} de {total})",
        "page": "Página {page} de {pages}",
        "restarting": "El bot se está reiniciando. Vuelva a preguntar en un minuto.",
        "reload_owner_only": "Solo el dueño del bot puede recargar la tabla.",
        "reload_done": "Tabla recargada: {version}.",
        "reload_refused": "La tabla nueva tiene {count} problema(s); la anterior sigue en uso. Primero: {first}",
    },
}


def say(lang: str, key: str, **values: object) -> str:
    """One of our messages in `lang` (English when missing). Values are inserted as given: echo() user text first."""
    table = MESSAGES.get(lang, MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key]).format(**values)
