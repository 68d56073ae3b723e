"""Replies and the components under them: buttons and menus whose state lives in their custom_id.

Both cogs send answers through `deliver`; the persistent items (Pin, open a topic) are registered once by the client
so that they keep working after a restart.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import discord

from bot.core.answers import Answer
from bot.core.router import Router
from bot.discord.deadline import defer, respond
from bot.discord.embeds import SELECT_OPTION_LIMIT, answer_embed, option_label, source_pages, topic_pages
from bot.discord.local import with_local_help
from bot.discord.text import lang_for, say
from bot.observability import log_miss
from bot.store import GuildSettings, Pin, SafeStore

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot

log = logging.getLogger("who_handles.discord")

NO_MENTIONS = discord.AllowedMentions.none()
PIN_REASON_LIMIT = 512        # Discord's limit on an audit-log reason
MENU_ROWS = 5                 # Discord: five action rows a message, one select menu each
PICK_CHOICES = 3              # the picker offers the best few; more is a list to read, not a question
BUTTON_LABEL_LIMIT = 80       # Discord's limit on a button label


# --- sending -------------------------------------------------------------------------------------------------------

def router_of(interaction: discord.Interaction) -> Router:
    return interaction.client.router  # type: ignore[attr-defined]


async def reply(interaction: discord.Interaction, content: str | None = None, *, ephemeral: bool,
                embed: discord.Embed | None = None, view: discord.ui.View | None = None) -> int | None:
    """Send as the first response (in time: see bot/discord/deadline.py), or as a follow-up once responded;
    mentions always off. Returns the message id when Discord tells it."""
    kwargs: dict[str, Any] = {"content": content, "ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
    if embed is not None:
        kwargs["embed"] = embed
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        message_id: int | None = (await interaction.followup.send(wait=True, **kwargs)).id
    else:
        message_id = await respond(interaction, **kwargs)   # within Discord's deadline
    interaction.client.reply_sent(interaction)  # type: ignore[attr-defined]
    return message_id


async def may_go_on(interaction: discord.Interaction) -> bool:
    """Every component's interaction_check, since buttons and menus do not pass through the command tree's check:
    notes when the press arrived (Discord's deadline counts from then) and, while the bot shuts down, tells the
    member and returns False."""
    return await interaction.client.admit(interaction)  # type: ignore[attr-defined]


class Persistent:
    """What every persistent button and menu does around its own `act`: it is turned away while the bot shuts down
    (may_go_on), and an error ends in the one private error message with an id, never in silence."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await may_go_on(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.act(interaction)
        except Exception as error:
            await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]

    async def act(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError


def in_server(interaction: discord.Interaction) -> bool:
    return interaction.guild_id is not None and interaction.channel_id is not None


def jump_url(interaction: discord.Interaction, message_id: int | None) -> str | None:
    if message_id is None or interaction.channel_id is None:
        return None
    return f"https://discord.com/channels/{interaction.guild_id or '@me'}/{interaction.channel_id}/{message_id}"


class SharedView(discord.ui.View):
    """The components under one answer, shared by every reply of that answer. It is stopped at once, so discord.py
    neither stores nor changes it (dispatch goes through the registered DynamicItems), and its JSON form, which
    discord.py asks for on every reply, is built once (again only after items are added or removed; change no item
    in place)."""

    def __init__(self, items: list[discord.ui.Item[Any]]):
        self._components: list[dict[str, Any]] | None = None
        super().__init__(timeout=None)
        for item in items:
            self.add_item(item)
        self.stop()

    def add_item(self, item: discord.ui.Item[Any]) -> SharedView:
        self._components = None
        return super().add_item(item)

    def remove_item(self, item: discord.ui.Item[Any]) -> SharedView:
        self._components = None
        return super().remove_item(item)

    def clear_items(self) -> SharedView:
        self._components = None
        return super().clear_items()

    def to_components(self) -> list[dict[str, Any]]:
        if self._components is None:
            self._components = super().to_components()
        return self._components


@lru_cache(maxsize=1024)
def answer_view(answer: Answer, public: bool, guild: bool = False) -> discord.ui.View | None:
    """The components under an answer: the persistent Pin button on public answers in a server, 🗑 for the asker
    of a public answer, "Share in channel" under a private one in a server, "Helpful? 👍 / 👎 / Report a problem"
    under any answer in a server, and a menu that opens a related topic. None when there is nothing to show. Kept
    per Answer like its embed (see SharedView): nothing in them depends on who asked."""
    items: list[discord.ui.Item[Any]] = []
    if public and answer.topic_id:
        items.append(PinButton(answer.topic_id, answer.lang))
    if guild and answer.topic_id and answer.level == "topic":
        items += [FeedbackButton(kind, answer.topic_id) for kind in FEEDBACK_BUTTONS]
        items.append(DeleteButton() if public else ShareButton(answer.topic_id, answer.lang))
    if answer.related:
        items.append(OpenTopicSelect("related", [(option_label(ref), ref.id) for ref in answer.related],
                                     say(answer.lang, "open_topic")))
    return SharedView(items) if items else None


async def deliver(interaction: discord.Interaction, answer: Answer, *, private: bool | None, command: str) -> None:
    """Send one Answer the way the issue asks: a match publicly (unless private) once per channel per window; an
    ambiguous or missed question privately, with a menu of the candidates for the asker alone. `private` None is the
    server's choice (/server private). A public answer is in the server's language when it set one, carries the
    server's own help notes in a separate field, and goes privately outside the channels the server chose."""
    bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
    server = await server_settings(interaction)
    private = server.private_default if private is None else private
    if not private and in_server(interaction):
        answer = in_language(interaction, answer, public_lang(interaction, server))
    bot.count_answer(command, answer.status, interaction)
    count_for_server(interaction, answer)
    if answer.status == "help":
        await reply(interaction, answer.help_text, ephemeral=True)
        return
    if answer.status != "match":
        if answer.status == "none":
            log_miss(answer.query)
        await reply(interaction, picker_text(answer, private=private or not in_server(interaction)),
                    ephemeral=True, view=picker_view(answer, interaction.user.id, private=private))
        return
    embed = await with_server_help(interaction, answer)
    outside = bool(server.channels) and interaction.channel_id not in server.channels
    if private or not in_server(interaction) or outside:
        # In a DM with the bot the answer is private anyway: a plain message, without a Pin button.
        content = say_server(answer.lang, "not_here") if outside and not private else None
        await reply(interaction, content, ephemeral=private or outside, embed=embed,
                    view=answer_view(answer, public=False, guild=in_server(interaction)))
        return
    await deliver_public(interaction, answer.lang, key=repeat_key(answer), embed=embed,
                         view=answer_view(answer, public=True, guild=True),
                         private_view=answer_view(answer, public=False, guild=True),
                         window=server.repeat_window_seconds)


def repeat_key(answer: Answer) -> tuple[str, str | None, str]:
    """What counts as "the same answer" in a channel's repeat window: the topic, or for an agency-level answer the
    office, in the asker's language (a Spanish reader is not pointed at an English answer)."""
    subject = answer.topic_id if answer.level == "topic" else (answer.handler.id if answer.handler else None)
    return (answer.level, subject, answer.lang)


async def deliver_public(interaction: discord.Interaction, lang: str, *, key: tuple[str, Any], embed: discord.Embed,
                         view: discord.ui.View | None, private_view: discord.ui.View | None,
                         window: float | None = None) -> None:
    """A public reply with `view`, unless the same thing (`key`) was answered in this channel within the repeat
    window (the server's `window`, else the bot's): then a private pointer to that answer, in `lang`. While that
    answer is still being sent, the member gets their own private copy (with `private_view`) instead: the one being
    sent may yet fail, and a pointer to it would then lead nowhere. A reply that fails frees its place in the
    window for the next member."""
    bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
    channel_id = interaction.channel_id
    assert channel_id is not None
    earlier = bot.recent.claim(channel_id, key, window)
    if earlier is not None and earlier.jump_url:
        await reply(interaction, say(lang, "repeat", link=earlier.jump_url), ephemeral=True)
        return
    if earlier is not None:
        await reply(interaction, ephemeral=True, embed=embed, view=private_view)
        return
    try:
        message_id = await reply(interaction, ephemeral=False, embed=embed, view=view)
    except BaseException:
        bot.recent.release(channel_id, key)
        raise
    bot.recent.record(channel_id, key, jump_url(interaction, message_id))


def picker_text(answer: Answer, *, private: bool) -> str:
    """The private message of a question that is not a confident match: for a miss, one plain sentence and what to
    do next; then, when there are choices, the question "Is this what you mean?" and where a pick will be shown."""
    lang = answer.lang
    lines = [say(lang, "not_covered")] if answer.status == "none" else []
    if answer.choices:
        lines.append(say(lang, "pick_question"))
        lines.append(say(lang, "pick_private" if private else "pick_public"))
    return "\n".join(lines)


def picker_view(answer: Answer, asker_id: int, *, private: bool) -> discord.ui.View | None:
    """The best few choices as buttons; everything a press needs rides in its custom_id (see PickButton)."""
    buttons = [PickButton(ref.id, asker_id, private, option_label(ref, BUTTON_LABEL_LIMIT),
                          agency=ref.level == "agency") for ref in answer.choices[:PICK_CHOICES]]
    return SharedView(buttons) if buttons else None   # type: ignore[arg-type]


class PickButton(discord.ui.DynamicItem[discord.ui.Button],
                 template=r"who:pick:(?:(?P<agency>a):)?(?P<topic>[a-z0-9-]{1,64}):(?P<asker>[0-9]{1,20}):(?P<where>[ps])"):
    """One choice of the picker. The topic, the asker and whether the answer goes to the channel ride in the
    custom_id, so a picker holds no memory while it waits and still works after a restart. Only the asker's press
    counts; the picker then turns into the answer (private) or steps aside for it (public). With `agency`, the
    choice is an office's agency-level answer ("a:" before its id)."""

    def __init__(self, topic_id: str, asker_id: int, private: bool, label: str = "?", *, agency: bool = False):
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.primary,
            custom_id=f"who:pick:{'a:' if agency else ''}{topic_id}:{asker_id}:{'p' if private else 's'}"))
        self.topic_id, self.asker_id, self.private, self.agency = topic_id, asker_id, private, agency

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> PickButton:
        return cls(match["topic"], int(match["asker"]), match["where"] == "p", item.label or "?",
                   agency=bool(match["agency"]))

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if not await may_go_on(interaction):
            return False
        if interaction.user.id == self.asker_id:
            return True
        await reply(interaction, say(lang_for(interaction.locale), "only_asker"), ephemeral=True)
        return False

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            lang = lang_for(interaction.locale)
            router = router_of(interaction)
            answer = router.agency(self.topic_id, lang) if self.agency else router.topic(self.topic_id, lang)
            if answer is None:
                await reply(interaction, say(lang, "unknown_topic"), ephemeral=True)
                return
            if self.private or not in_server(interaction):
                # The private picker becomes the answer itself.
                interaction.client.count_answer("pick", answer.status, interaction)  # type: ignore[attr-defined]
                await interaction.response.edit_message(content=None, embed=answer_embed(answer),
                                                        view=answer_view(answer, public=False),
                                                        allowed_mentions=NO_MENTIONS)
                interaction.client.reply_sent(interaction)  # type: ignore[attr-defined]
                return
            await interaction.response.edit_message(content=say(lang, "picked_public"), view=None,
                                                    allowed_mentions=NO_MENTIONS)
            await deliver(interaction, answer, private=False, command="pick")
        except Exception as error:
            await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]


# --- the persistent components -------------------------------------------------------------------------------------

def can_pin(permissions: discord.Permissions) -> bool:
    """Manage Messages, or Pin Messages where this discord.py knows it (2.7+; Discord split it off in 2025)."""
    return permissions.administrator or permissions.manage_messages or bool(getattr(permissions, "pin_messages", False))


PIN_WAYS = {"button": "Pin button", "menu": "Pin answer menu"}   # how a member pinned, for the audit log


def pin_reason(user: discord.abc.User, via: str) -> str:
    return f"Pinned with the who-handles {PIN_WAYS[via]} by {user} ({user.id})"[:PIN_REASON_LIMIT]


def pinned_topic(message: discord.Message) -> str | None:
    """The topic of one of our answers, read back from its Pin button's custom_id."""
    for row in message.components:
        for item in getattr(row, "children", []):
            match = PinButton.__discord_ui_compiled_template__.fullmatch(getattr(item, "custom_id", None) or "")
            if match:
                return match["topic"]
    return None


def answer_lang(interaction: discord.Interaction, message: discord.Message, topic_id: str) -> str:
    """Which language the pinned answer is in: the one whose title it shows."""
    title = message.embeds[0].title if message.embeds else None
    spanish = router_of(interaction).topic(topic_id, "es")
    return "es" if spanish is not None and spanish.lang == "es" and answer_embed(spanish).title == title else "en"


async def may_pin(interaction: discord.Interaction) -> bool:
    """Pin Messages (or Manage Messages), or the role this server chose (/server pin-role)."""
    if can_pin(interaction.permissions):
        return True
    server = await server_settings(interaction)
    if server.pin_role_id is None:
        return False
    # The member's role ids come with the interaction; Member.roles also needs the guild in the cache.
    role_ids = {role.id for role in getattr(interaction.user, "roles", [])}
    role_ids |= set(getattr(interaction.user, "_roles", ()))
    return server.pin_role_id in role_ids


async def pin_answer(interaction: discord.Interaction, message: discord.Message, *, via: str) -> None:
    """Pin `message`, one of the bot's own, for a member allowed to pin there; anything else gets a private
    refusal and nothing happens. Both ways in come through here: `via` is "button" or "menu". A pin is recorded
    (topic, language, table version, way) so that a reload can refresh it."""
    lang = lang_for(interaction.locale)

    async def tell(key: str) -> None:
        await reply(interaction, say(lang, key), ephemeral=True)

    me = interaction.client.user
    if me is None or message.author.id != me.id:
        return await tell("pin_not_mine")
    if interaction.guild_id is None:
        return await tell("pin_guild_only")
    if not await may_pin(interaction):
        return await tell("pin_not_allowed")
    if message.pinned:
        return await tell("pin_already")
    if not can_pin(interaction.app_permissions):
        return await tell("pin_bot_lacks")
    await defer(interaction, ephemeral=True)
    try:
        await message.pin(reason=pin_reason(interaction.user, via))
    except discord.Forbidden:
        return await tell("pin_bot_lacks")
    except discord.NotFound:
        return await tell("pin_gone")
    except discord.HTTPException as error:
        if error.code == 30003:   # Maximum number of pins reached for the channel
            return await tell("pin_limit")
        raise
    log.info("pinned an answer in guild %s", interaction.guild_id)
    topic_id = pinned_topic(message)
    if topic_id is not None:
        bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
        bot.write_later(bot.store.record_pin(Pin(
            message.id, interaction.guild_id, message.channel.id, topic_id, answer_lang(interaction, message, topic_id),
            bot.router.knowledge.version, via)))
    await tell("pin_done")


class PinButton(Persistent, discord.ui.DynamicItem[discord.ui.Button], template=r"who:pin:(?P<topic>[a-z0-9-]{1,92})"):
    """📌 under every public answer, labelled in the answer's language. The topic id rides in the custom_id, so the
    button works after a restart."""

    def __init__(self, topic_id: str, lang: str = "en"):
        super().__init__(discord.ui.Button(label=say(lang, "pin_button"), emoji="📌",
                                           style=discord.ButtonStyle.secondary, custom_id=f"who:pin:{topic_id[:92]}"))
        self.topic_id = topic_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> PinButton:
        return cls(match["topic"])

    async def act(self, interaction: discord.Interaction) -> None:
        assert interaction.message is not None  # a button press always comes with its message
        await pin_answer(interaction, interaction.message, via="button")


class OpenTopicSelect(Persistent, discord.ui.DynamicItem[discord.ui.Select],
                      template=r"who:open:(?P<scope>[a-z0-9-]{1,80})"):
    """A menu of topics (related ones under an answer, an agency's under /agency). Whoever picks gets that topic's
    answer privately. Works after a restart: the options are read back from the message."""

    def __init__(self, scope: str, options: list[tuple[str, str]] | list[discord.SelectOption],
                 placeholder: str | None = None):
        select_options = [option if isinstance(option, discord.SelectOption)
                          else discord.SelectOption(label=option[0], value=option[1])
                          for option in options[:SELECT_OPTION_LIMIT]]
        super().__init__(discord.ui.Select(custom_id=f"who:open:{scope[:80]}", placeholder=placeholder,
                                           options=select_options))
        self.scope = scope

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Select,
                             match: Any, /) -> OpenTopicSelect:
        return cls(match["scope"], list(item.options), item.placeholder)

    async def act(self, interaction: discord.Interaction) -> None:
        lang = lang_for(interaction.locale)
        answer = router_of(interaction).topic(self.item.values[0], lang)
        if answer is None:
            await reply(interaction, say(lang, "unknown_topic"), ephemeral=True)
            return
        await deliver(interaction, answer, private=True, command="open")


def topic_menus(scope: str, options: list[tuple[str, str]], lang: str, *, pin: bool = False) -> discord.ui.View | None:
    """Menus that open each of `options` (label, topic id): one per 25 topics, Discord's limit for a menu, so every
    topic of an agency is reachable (DHS has more than 100). The first keeps the custom_id who:open:<scope> of
    earlier answers; the others add -p2, -p3, ...; any of them works after a restart (see OpenTopicSelect). With
    `pin`, a Pin button goes above them, in the row the menus leave free (they come first: every topic stays
    reachable). None when there is nothing to show."""
    chunks = [options[start:start + SELECT_OPTION_LIMIT] for start in range(0, len(options), SELECT_OPTION_LIMIT)]
    if len(chunks) > MENU_ROWS:
        log.warning("%s has %d topics; the menus under /agency show the first %d", scope, len(options),
                    MENU_ROWS * SELECT_OPTION_LIMIT)
        chunks = chunks[:MENU_ROWS]
    items: list[discord.ui.Item[Any]] = [PinButton(scope, lang)] if pin and len(chunks) < MENU_ROWS else []
    for number, chunk in enumerate(chunks, start=1):
        first = (number - 1) * SELECT_OPTION_LIMIT + 1
        placeholder = (say(lang, "open_topic") if len(chunks) == 1 else
                       say(lang, "open_topic_range", first=first, last=first + len(chunk) - 1, total=len(options)))
        items.append(OpenTopicSelect(scope if number == 1 else f"{scope[:76]}-p{number}", chunk, placeholder))
    # stopped, dispatched through the registered DynamicItems, like an answer's view
    return SharedView(items) if items else None


PAGE_KINDS = ("topics", "sources")


def pages_of(interaction: discord.Interaction, kind: str, lang: str) -> list[discord.Embed]:
    knowledge = router_of(interaction).knowledge
    return topic_pages(knowledge, lang) if kind == "topics" else source_pages(knowledge, lang)


def pager_view(kind: str, lang: str, index: int, count: int) -> discord.ui.View | None:
    """◀ n/N ▶ under page `index` of `count`. Each arrow's custom_id names the list, the language and the page it
    opens, so a pager holds no memory, never times out and works after a restart."""
    if count <= 1:
        return None
    base = f"who:page:{kind}:{lang}"
    return SharedView([
        PageButton(kind, lang, index - 1, "prev", disabled=index <= 0),
        discord.ui.Button(label=f"{index + 1}/{count}", style=discord.ButtonStyle.secondary, disabled=True,
                          custom_id=f"{base}:{index}:at"),
        PageButton(kind, lang, index + 1, "next", disabled=index >= count - 1),
    ])


class PageButton(Persistent, discord.ui.DynamicItem[discord.ui.Button],
                 template=r"who:page:(?P<kind>topics|sources):(?P<lang>en|es):(?P<page>-?[0-9]{1,4}):(?P<way>prev|next)"):
    """◀ or ▶ of a /topics or /sources pager: opens the page its custom_id names (see pager_view)."""

    def __init__(self, kind: str, lang: str, page: int, way: str, *, disabled: bool = False):
        super().__init__(discord.ui.Button(
            emoji="◀" if way == "prev" else "▶", label=say(lang, "page_" + way), disabled=disabled,
            style=discord.ButtonStyle.secondary, custom_id=f"who:page:{kind}:{lang}:{page}:{way}"))
        self.kind, self.lang, self.page = kind, lang, page

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> PageButton:
        return cls(match["kind"], match["lang"], int(match["page"]), match["way"])

    async def act(self, interaction: discord.Interaction) -> None:
        pages = pages_of(interaction, self.kind, self.lang)
        index = max(0, min(self.page, len(pages) - 1))   # the table may have shrunk since
        await interaction.response.edit_message(embed=pages[index],
                                                view=pager_view(self.kind, self.lang, index, len(pages)),
                                                allowed_mentions=NO_MENTIONS)


async def send_pages(interaction: discord.Interaction, kind: str) -> None:
    lang = lang_for(interaction.locale)
    pages = pages_of(interaction, kind, lang)
    await reply(interaction, ephemeral=True, embed=pages[0], view=pager_view(kind, lang, 0, len(pages)))


# --- what each server owns: its settings, its notes, feedback, privacy -----------------------------------------------

SERVER_TEXT = {
    "en": {
        "not_here": "This server's moderators chose other channels for public answers, so this one is only for you.",
        "thanks": "Thank you: counted for this server's moderators (who asked is not recorded).",
        "already": "You already said so about this answer.",
        "reported": "Thank you. This server's moderators have been told (topic and link only, not who you are).",
        "reported_nowhere": "Thank you: counted. This server has no moderators' channel for reports yet.",
        "delete_not_yours": "Only the person who asked (or a moderator) can delete this answer.",
        "shared": "Shared in the channel.",
        "replied": "Answered: {link}",
        "reply_failed": "I may not post in this channel, so here is the answer for you alone.",
    },
    "es": {
        "not_here": "Los moderadores de este servidor eligieron otros canales para las respuestas públicas; "
                    "esta es solo para usted.",
        "thanks": "Gracias: contado para los moderadores de este servidor (no se guarda quién respondió).",
        "already": "Ya lo indicó sobre esta respuesta.",
        "reported": "Gracias. Se avisó a los moderadores de este servidor (solo el tema y el enlace, no quién es "
                    "usted).",
        "reported_nowhere": "Gracias: contado. Este servidor aún no tiene un canal de moderadores para avisos.",
        "delete_not_yours": "Solo quien preguntó (o un moderador) puede borrar esta respuesta.",
        "shared": "Compartida en el canal.",
        "replied": "Respondido: {link}",
        "reply_failed": "No puedo publicar en este canal; aquí tiene la respuesta solo para usted.",
    },
}
FEEDBACK_BUTTONS = ("helpful", "unhelpful", "report")
FEEDBACK_LOOK = {"helpful": ("Helpful", "👍"), "unhelpful": ("Not helpful", "👎"), "report": ("Report a problem", "⚠️")}
VOTES_REMEMBERED = 20_000   # (message, member) pairs kept in memory only, so one member counts once per answer


def say_server(lang: str, key: str) -> str:
    return SERVER_TEXT.get(lang, SERVER_TEXT["en"])[key]


async def server_settings(interaction: discord.Interaction) -> GuildSettings:
    """The settings of the interaction's server (defaults outside one), read once an interaction: the rate check
    and the answer both need them."""
    settings = interaction.extras.get("server_settings")
    if settings is None:
        if interaction.guild_id is None:
            settings = GuildSettings()
        else:
            settings = await interaction.client.store.guild_settings(interaction.guild_id)  # type: ignore[attr-defined]
        interaction.extras["server_settings"] = settings
    return settings


def public_lang(interaction: discord.Interaction, server: GuildSettings) -> str:
    """A public answer's language: the server's choice (en, es, or its Discord locale), else the asker's."""
    if server.language in ("en", "es"):
        return server.language
    if server.language == "server":
        return lang_for(interaction.guild_locale)
    return lang_for(interaction.locale)


def in_language(interaction: discord.Interaction, answer: Answer, lang: str) -> Answer:
    if answer.lang == lang or answer.status != "match" or not answer.topic_id or answer.level != "topic":
        return answer
    return router_of(interaction).topic(answer.topic_id, lang) or answer


def count_for_server(interaction: discord.Interaction, answer: Answer) -> None:
    """Count the answer for the server's statistics after the reply; the question's text goes to the store only
    for a miss, and the store keeps it only if the server turned that on."""
    if interaction.guild_id is None or answer.status == "help":
        return
    bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
    question = answer.query if answer.status == "none" else None
    bot.store.count_answer(interaction.guild_id, answer.topic_id, answer.status, question)


async def with_server_help(interaction: discord.Interaction, answer: Answer) -> discord.Embed:
    return await server_embed(interaction.client.store, interaction.guild_id, answer)  # type: ignore[attr-defined]


async def server_embed(store: SafeStore, guild_id: int | None, answer: Answer) -> discord.Embed:
    """An answer's embed as a server shows it: with the server's help notes on its topic."""
    embed = answer_embed(answer)
    if guild_id is None or not answer.topic_id:
        return embed
    notes = await store.help_notes(guild_id, answer.topic_id)
    return with_local_help(embed, [note.body for note in notes], answer.lang)


class Votes:
    """Who already pressed which feedback button under which answer: in memory only, bounded, never stored. One per
    bot process (the client holds it)."""

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[int, int, str], None] = OrderedDict()

    def first(self, message_id: int, user_id: int, kind: str) -> bool:
        key = (message_id, user_id, "vote" if kind != "report" else kind)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > VOTES_REMEMBERED:
            self._seen.popitem(last=False)
        return True


class FeedbackButton(Persistent, discord.ui.DynamicItem[discord.ui.Button],
                     template=r"who:fb:(?P<kind>helpful|unhelpful|report):(?P<topic>[a-z0-9-]{1,80})"):
    """👍 / 👎 / Report a problem under an answer. The kind and topic ride in the custom_id; the count goes to the
    store by server, topic and week, never with who pressed. A report is posted to the moderators' channel (the
    topic, the table version and a link to the answer) when the server set one."""

    def __init__(self, kind: str, topic_id: str):
        label, emoji = FEEDBACK_LOOK[kind]
        super().__init__(discord.ui.Button(
            label=None if kind != "report" else label, emoji=emoji, style=discord.ButtonStyle.secondary,
            custom_id=f"who:fb:{kind}:{topic_id[:80]}"))
        self.kind, self.topic_id = kind, topic_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> FeedbackButton:
        return cls(match["kind"], match["topic"])

    async def act(self, interaction: discord.Interaction) -> None:
        await self._feedback(interaction)

    async def _feedback(self, interaction: discord.Interaction) -> None:
        bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
        lang = lang_for(interaction.locale)
        guild_id, message = interaction.guild_id, interaction.message
        if guild_id is None or message is None:
            return
        if not bot.votes.first(message.id, interaction.user.id, self.kind):
            await reply(interaction, say_server(lang, "already"), ephemeral=True)
            return
        bot.write_later(bot.store.record_feedback(guild_id, self.topic_id, self.kind))
        if self.kind != "report":
            await reply(interaction, say_server(lang, "thanks"), ephemeral=True)
            return
        server = await bot.store.guild_settings(guild_id)
        if server.report_channel_id is None:
            await reply(interaction, say_server(lang, "reported_nowhere"), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        link = f"https://discord.com/channels/{guild_id}/{message.channel.id}/{message.id}"
        text = (f"⚠️ A member reported a problem with an answer: topic `{self.topic_id}`, table "
                f"{bot.router.knowledge.version}, {link}")
        try:
            await bot.get_partial_messageable(server.report_channel_id, guild_id=guild_id).send(
                text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning("could not post a report to the moderators' channel of guild %s: %s", guild_id,
                        type(error).__name__)
            await reply(interaction, say_server(lang, "reported_nowhere"), ephemeral=True)
            return
        await reply(interaction, say_server(lang, "reported"), ephemeral=True)


class DeleteButton(Persistent, discord.ui.DynamicItem[discord.ui.Button], template=r"who:del"):
    """🗑 under a public answer: the member who asked (Discord's message says who: its interaction metadata), or a
    moderator who may manage messages, deletes it. No id of ours is stored anywhere."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(emoji="🗑", style=discord.ButtonStyle.secondary, custom_id="who:del"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> DeleteButton:
        return cls()

    async def act(self, interaction: discord.Interaction) -> None:
        message = interaction.message
        assert message is not None
        meta = message.interaction_metadata
        asker = meta.user.id if meta is not None else None
        if interaction.user.id != asker and not interaction.permissions.manage_messages:
            await reply(interaction, say_server(lang_for(interaction.locale), "delete_not_yours"),
                        ephemeral=True)
            return
        await interaction.response.defer()            # the component's message is the "original" to delete
        await interaction.delete_original_response()
        log.info("an answer was deleted by its asker in guild %s", interaction.guild_id)


class ShareButton(Persistent, discord.ui.DynamicItem[discord.ui.Button],
                  template=r"who:share:(?P<lang>en|es):(?P<topic>[a-z0-9-]{1,80})"):
    """"Share in channel" under a private answer: the same answer, posted publicly by the member who chose to."""

    def __init__(self, topic_id: str, lang: str):
        super().__init__(discord.ui.Button(label="Share in channel" if lang != "es" else "Compartir en el canal",
                                           emoji="📢", style=discord.ButtonStyle.secondary,
                                           custom_id=f"who:share:{lang}:{topic_id[:80]}"))
        self.topic_id, self.lang = topic_id, lang

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> ShareButton:
        return cls(match["topic"], match["lang"])

    async def act(self, interaction: discord.Interaction) -> None:
        answer = router_of(interaction).topic(self.topic_id, self.lang)
        if answer is None:
            await reply(interaction, say(self.lang, "unknown_topic"), ephemeral=True)
            return
        await deliver(interaction, answer, private=False, command="share")


async def deliver_reply(interaction: discord.Interaction, answer: Answer, message: discord.Message) -> None:
    """"Answer this message": the answer goes out as a reply to the member's message (mentions off); where the bot
    may not post, the helper gets it privately instead."""
    bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
    bot.count_answer("answer-message", answer.status, interaction)
    count_for_server(interaction, answer)
    embed = await with_server_help(interaction, answer)
    view = answer_view(answer, public=True, guild=True)
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        sent = await message.reply(embed=embed, view=view, mention_author=False, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.info("could not reply to a message in guild %s: %s", interaction.guild_id, type(error).__name__)
        await interaction.followup.send(say_server(answer.lang, "reply_failed"), embed=embed, ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)
        return
    await interaction.followup.send(say_server(answer.lang, "replied").format(link=sent.jump_url), ephemeral=True,
                                    allowed_mentions=NO_MENTIONS)
