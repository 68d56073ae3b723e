"""Replies and the components under them: buttons and menus whose state lives in their custom_id.

Both cogs send answers through `deliver`; the persistent items (Pin, open a topic) are registered once by the client
so that they keep working after a restart.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import discord

from bot.core.answers import Answer
from bot.core.router import Router
from bot.discord.embeds import SELECT_OPTION_LIMIT, answer_embed, option_label, source_pages, topic_pages
from bot.discord.text import lang_for, say
from bot.observability import log_miss

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
    """Send as the response, or as a follow-up once responded; mentions always off. Returns the message id when
    Discord tells it."""
    kwargs: dict[str, Any] = {"content": content, "ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
    if embed is not None:
        kwargs["embed"] = embed
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        message = await interaction.followup.send(wait=True, **kwargs)
        interaction.client.reply_sent(interaction)  # type: ignore[attr-defined]
        return message.id
    response = await interaction.response.send_message(**kwargs)
    interaction.client.reply_sent(interaction)  # type: ignore[attr-defined]
    return response.message_id


async def turned_away(interaction: discord.Interaction) -> bool:
    """True while the bot shuts down (the member has been told): every component's interaction_check asks first,
    since buttons and menus do not pass through the command tree's check."""
    return await interaction.client.turned_away(interaction)  # type: ignore[attr-defined]


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
def answer_view(answer: Answer, public: bool) -> discord.ui.View | None:
    """The components under an answer: the persistent Pin button on public answers in a server, and a menu that
    opens a related topic. None when there is nothing to show. Kept per Answer like its embed (see SharedView)."""
    items: list[discord.ui.Item[Any]] = []
    if public and answer.topic_id:
        items.append(PinButton(answer.topic_id))
    if answer.related:
        items.append(OpenTopicSelect("related", [(option_label(ref), ref.id) for ref in answer.related],
                                     say(answer.lang, "open_topic")))
    return SharedView(items) if items else None


async def deliver(interaction: discord.Interaction, answer: Answer, *, private: bool, command: str) -> None:
    """Send one Answer the way the issue asks: a match publicly (unless private) once per channel per window; an
    ambiguous or missed question privately, with a menu of the candidates for the asker alone."""
    bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
    bot.count_answer(command, answer.status, interaction)
    if answer.status == "help":
        await reply(interaction, answer.help_text, ephemeral=True)
        return
    if answer.status != "match":
        if answer.status == "none":
            log_miss(answer.query)
        await reply(interaction, picker_text(answer, private=private or not in_server(interaction)),
                    ephemeral=True, view=picker_view(answer, interaction.user.id, private=private))
        return
    if private or not in_server(interaction):
        # In a DM with the bot the answer is private anyway: a plain message, without a Pin button.
        await reply(interaction, ephemeral=private, embed=answer_embed(answer), view=answer_view(answer, public=False))
        return
    await deliver_public(interaction, answer.lang, key=("topic", answer.topic_id),
                         embed=answer_embed(answer), view=answer_view(answer, public=True))


async def deliver_public(interaction: discord.Interaction, lang: str, *, key: tuple[str, Any], embed: discord.Embed,
                         view: discord.ui.View | None) -> None:
    """A public reply, unless the same thing (`key`) was answered in this channel within the repeat window: then a
    private pointer to that answer, in `lang`."""
    bot: WhoHandlesBot = interaction.client  # type: ignore[assignment]
    channel_id = interaction.channel_id
    assert channel_id is not None
    earlier = bot.recent.claim(channel_id, key)
    if earlier is not None:
        text = say(lang, "repeat", link=earlier.jump_url) if earlier.jump_url else say(lang, "repeat_pending")
        await reply(interaction, text, ephemeral=True)
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
        if await turned_away(interaction):
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


def pin_reason(user: discord.abc.User) -> str:
    return f"Pinned with the who-handles Pin button by {user} ({user.id})"[:PIN_REASON_LIMIT]


async def pin_answer(interaction: discord.Interaction, message: discord.Message) -> None:
    """Pin `message` for a member allowed to pin there; anyone else gets a private refusal and nothing happens."""
    lang = lang_for(interaction.locale)

    async def tell(key: str) -> None:
        await reply(interaction, say(lang, key), ephemeral=True)

    if interaction.guild_id is None:
        return await tell("pin_guild_only")
    if not can_pin(interaction.permissions):
        return await tell("pin_not_allowed")
    if message.pinned:
        return await tell("pin_already")
    if not can_pin(interaction.app_permissions):
        return await tell("pin_bot_lacks")
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        await message.pin(reason=pin_reason(interaction.user))
    except discord.Forbidden:
        return await tell("pin_bot_lacks")
    except discord.NotFound:
        return await tell("pin_gone")
    except discord.HTTPException as error:
        if error.code == 30003:   # Maximum number of pins reached for the channel
            return await tell("pin_limit")
        raise
    log.info("pinned an answer in guild %s", interaction.guild_id)
    await tell("pin_done")


class PinButton(discord.ui.DynamicItem[discord.ui.Button], template=r"who:pin:(?P<topic>[a-z0-9-]{1,92})"):
    """📌 under every public answer. The topic id rides in the custom_id, so the button works after a restart."""

    def __init__(self, topic_id: str):
        super().__init__(discord.ui.Button(label="Pin", emoji="📌", style=discord.ButtonStyle.secondary,
                                           custom_id=f"who:pin:{topic_id[:92]}"))
        self.topic_id = topic_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: Any, /) -> PinButton:
        return cls(match["topic"])

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return not await turned_away(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            assert interaction.message is not None  # a button press always comes with its message
            await pin_answer(interaction, interaction.message)
        except Exception as error:
            await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]


class OpenTopicSelect(discord.ui.DynamicItem[discord.ui.Select], template=r"who:open:(?P<scope>[a-z0-9-]{1,80})"):
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

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return not await turned_away(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            lang = lang_for(interaction.locale)
            answer = router_of(interaction).topic(self.item.values[0], lang)
            if answer is None:
                await reply(interaction, say(lang, "unknown_topic"), ephemeral=True)
                return
            await deliver(interaction, answer, private=True, command="open")
        except Exception as error:
            await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]


def topic_menus(scope: str, options: list[tuple[str, str]], lang: str) -> discord.ui.View:
    """Menus that open each of `options` (label, topic id): one per 25 topics, Discord's limit for a menu, so every
    topic of an agency is reachable (DHS has more than 50). The first keeps the custom_id who:open:<scope> of
    earlier answers; the others add -p2, -p3, ...; any of them works after a restart (see OpenTopicSelect)."""
    chunks = [options[start:start + SELECT_OPTION_LIMIT] for start in range(0, len(options), SELECT_OPTION_LIMIT)]
    if len(chunks) > MENU_ROWS:
        log.warning("%s has %d topics; the menus under /agency show the first %d", scope, len(options),
                    MENU_ROWS * SELECT_OPTION_LIMIT)
        chunks = chunks[:MENU_ROWS]
    menus: list[discord.ui.Item[Any]] = []
    for number, chunk in enumerate(chunks, start=1):
        first = (number - 1) * SELECT_OPTION_LIMIT + 1
        placeholder = (say(lang, "open_topic") if len(chunks) == 1 else
                       say(lang, "open_topic_range", first=first, last=first + len(chunk) - 1, total=len(options)))
        menus.append(OpenTopicSelect(scope if number == 1 else f"{scope[:76]}-p{number}", chunk, placeholder))
    return SharedView(menus)   # stopped, dispatched through the registered DynamicItem, like an answer's view


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


class PageButton(discord.ui.DynamicItem[discord.ui.Button],
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

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return not await turned_away(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            pages = pages_of(interaction, self.kind, self.lang)
            index = max(0, min(self.page, len(pages) - 1))   # the table may have shrunk since
            await interaction.response.edit_message(embed=pages[index],
                                                    view=pager_view(self.kind, self.lang, index, len(pages)),
                                                    allowed_mentions=NO_MENTIONS)
        except Exception as error:
            await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]


async def send_pages(interaction: discord.Interaction, kind: str) -> None:
    lang = lang_for(interaction.locale)
    pages = pages_of(interaction, kind, lang)
    await reply(interaction, ephemeral=True, embed=pages[0], view=pager_view(kind, lang, 0, len(pages)))
