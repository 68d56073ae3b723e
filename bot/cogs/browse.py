"""/agency, /topics, /sources and /about: looking around the table rather than asking one question."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.who import (
    NO_MENTIONS,
    OpenTopicSelect,
    SharedView,
    deliver_public,
    in_server,
    reply,
    router_of,
    turned_away,
)
from bot.core.knowledge import Agency, Knowledge
from bot.discord_text import echo, lang_for, say, shorten
from bot.embeds import (
    SELECT_LABEL_LIMIT,
    SELECT_OPTION_LIMIT,
    about_embed,
    agency_embed,
    agency_topics,
    source_pages,
    topic_pages,
)

if TYPE_CHECKING:
    from bot.client import WhoHandlesBot

log = logging.getLogger("who_handles.discord")

BROWSE_TIMEOUT_SECONDS = 600.0
MENU_ROWS = 5                 # Discord: five action rows a message, one select menu each
AGENCY_MAX_LENGTH = 100


def agency_label(agency: Agency) -> str:
    return shorten(agency.name if agency.short in agency.name else f"{agency.short} — {agency.name}",
                   SELECT_LABEL_LIMIT)


def find_agency(knowledge: Knowledge, text: str) -> str | None:
    """The agency id for what was picked or typed: an id, a short name ("HSI") or a full name, any case; or one
    agency whose names contain the text. None when nothing or several fit."""
    key = " ".join(text.split()).casefold()
    if not key:
        return None
    for agency in knowledge.agencies.values():
        if key in {agency.id, agency.short.casefold(), agency.name.casefold(), (agency.es_name or "").casefold()}:
            return agency.id
    containing = [agency.id for agency in knowledge.agencies.values()
                  if any(key in name.casefold() for name in (agency.short, agency.name, agency.es_name or ""))]
    return containing[0] if len(containing) == 1 else None


def suggest_agencies(knowledge: Knowledge, text: str, limit: int = SELECT_OPTION_LIMIT) -> list[Agency]:
    """Agencies for autocomplete: names starting with the text first, then names containing it."""
    key = " ".join(text.split()).casefold()
    agencies = list(knowledge.agencies.values())
    if not key:
        return agencies[:limit]

    def names(agency: Agency) -> list[str]:
        return [agency.id, agency.short.casefold(), agency.name.casefold(), (agency.es_name or "").casefold()]

    starting = [a for a in agencies if any(name.startswith(key) for name in names(a))]
    containing = [a for a in agencies if a not in starting and any(key in name for name in names(a))]
    return (starting + containing)[:limit]


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


class Browse(commands.Cog):
    def __init__(self, bot: WhoHandlesBot):
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        self.bot.check_rate(interaction)
        return True

    @app_commands.command(name="agency", description="What an agency or office handles, with its topics")
    @app_commands.describe(name="An agency or office, e.g. HSI, CBP, USCIS",
                           private="Answer only you (default: everyone in the channel sees the answer)")
    async def agency(self, interaction: discord.Interaction,
                     name: app_commands.Range[str, 1, AGENCY_MAX_LENGTH], private: bool = False) -> None:
        knowledge = router_of(interaction).knowledge
        lang = lang_for(interaction.locale)
        agency_id = find_agency(knowledge, name)
        if agency_id is None:
            self.bot.count_answer("agency", "none", interaction)
            await reply(interaction, say(lang, "unknown_agency", name=echo(name)), ephemeral=True)
            return
        self.bot.count_answer("agency", "match", interaction)
        embed = agency_embed(knowledge, agency_id, lang)
        topics = agency_topics(knowledge, agency_id)
        options = [(shorten(knowledge.topics[t].localized(lang).title, SELECT_LABEL_LIMIT), t) for t in topics]
        view = topic_menus(agency_id, options, lang) if options else None
        if private or not in_server(interaction):
            await reply(interaction, ephemeral=private, embed=embed, view=view)
            return
        await deliver_public(interaction, lang, key=("agency", agency_id), embed=embed, view=view)

    @agency.autocomplete("name")
    async def agency_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        self.bot.count_autocomplete("agency")
        knowledge = router_of(interaction).knowledge
        return [app_commands.Choice(name=agency_label(agency), value=agency.id)
                for agency in suggest_agencies(knowledge, current[:AGENCY_MAX_LENGTH])]

    @app_commands.command(name="topics", description="Browse every topic the bot knows")
    async def topics(self, interaction: discord.Interaction) -> None:
        self.bot.count_answer("topics", "match", interaction)
        await send_pages(interaction, topic_pages(router_of(interaction).knowledge, lang_for(interaction.locale)))

    @app_commands.command(name="sources", description="The official sources the bot cites")
    async def sources(self, interaction: discord.Interaction) -> None:
        self.bot.count_answer("sources", "match", interaction)
        await send_pages(interaction, source_pages(router_of(interaction).knowledge, lang_for(interaction.locale)))

    @app_commands.command(name="about", description="Version, knowledge date and what this bot is (and is not)")
    async def about(self, interaction: discord.Interaction) -> None:
        self.bot.count_answer("about", "match", interaction)
        embed = about_embed(router_of(interaction).knowledge, self.bot.version, lang_for(interaction.locale))
        await reply(interaction, ephemeral=True, embed=embed)


async def setup(bot: WhoHandlesBot) -> None:
    await bot.add_cog(Browse(bot))
