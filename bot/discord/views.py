"""Replies and the components under them: buttons and menus whose state lives in their custom_id.

Both cogs send answers through `deliver`; the persistent items (Pin, open a topic) are registered once by the client
so that they keep working after a restart.
"""

from __future__ import annotations

import contextlib
import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import discord

from bot.core.answers import Answer
from bot.core.router import Router
from bot.discord.embeds import SELECT_OPTION_LIMIT, answer_embed, choices_embed, option_label
from bot.discord.text import lang_for, say
from bot.observability import log_miss

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot

log = logging.getLogger("who_handles.discord")

NO_MENTIONS = discord.AllowedMentions.none()
PICK_TIMEOUT_SECONDS = 600.0  # a picker for an ambiguous or missed question stays usable this long
PIN_REASON_LIMIT = 512        # Discord's limit on an audit-log reason
BROWSE_TIMEOUT_SECONDS = 600.0
MENU_ROWS = 5                 # Discord: five action rows a message, one select menu each


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
        content = answer.not_covered if answer.status == "none" else None
        view = Picker(interaction, answer, private=private, command=command) if answer.choices else None
        await reply(interaction, content, ephemeral=True, embed=choices_embed(answer), view=view)
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


class Picker(discord.ui.View):
    """The candidates of an ambiguous or missed question, sent privately; only the asker may pick. The pick is
    answered as the question would have been (publicly unless `private`), and the picker goes away."""

    def __init__(self, origin: discord.Interaction, answer: Answer, *, private: bool, command: str):
        super().__init__(timeout=PICK_TIMEOUT_SECONDS)
        self.origin, self.owner_id, self.lang = origin, origin.user.id, answer.lang
        self.private, self.command = private, command
        self.select: discord.ui.Select = discord.ui.Select(
            placeholder=say(answer.lang, "pick_placeholder"),
            options=[discord.SelectOption(label=option_label(ref), value=ref.id)
                     for ref in answer.choices[:SELECT_OPTION_LIMIT]],
        )
        self.select.callback = self.picked
        self.add_item(self.select)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if await turned_away(interaction):
            return False
        if interaction.user.id == self.owner_id:
            return True
        await reply(interaction, say(lang_for(interaction.locale), "only_asker"), ephemeral=True)
        return False

    async def picked(self, interaction: discord.Interaction) -> None:
        self.stop()
        answer = router_of(interaction).topic(self.select.values[0], self.lang)
        if answer is None:
            await reply(interaction, say(self.lang, "unknown_topic"), ephemeral=True)
            return
        await deliver(interaction, answer, private=self.private, command=self.command)
        await self._remove()

    async def on_timeout(self) -> None:
        await self._remove()

    async def _remove(self) -> None:
        # Already gone, or the 15-minute token expired: nothing to tidy.
        with contextlib.suppress(discord.HTTPException):
            await self.origin.delete_original_response()

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
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


class Pages(discord.ui.View):
    """◀ / ▶ through a list of embeds, for the member who asked (the message is private to them anyway)."""

    def __init__(self, pages: list[discord.Embed], owner_id: int):
        super().__init__(timeout=BROWSE_TIMEOUT_SECONDS)
        self.pages, self.owner_id, self.index = pages, owner_id, 0
        self._refresh()

    def _refresh(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return not await turned_away(interaction) and interaction.user.id == self.owner_id

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._refresh()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(emoji="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def counter(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        pass  # a label, never enabled

    @discord.ui.button(emoji="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, self.index + 1)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]


async def send_pages(interaction: discord.Interaction, pages: list[discord.Embed]) -> None:
    view = Pages(pages, interaction.user.id) if len(pages) > 1 else None
    await reply(interaction, ephemeral=True, embed=pages[0], view=view)
