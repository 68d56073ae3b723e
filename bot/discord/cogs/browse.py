"""/agency, /topics, /sources and /about: looking around the table rather than asking one question."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.knowledge import Agency, Knowledge
from bot.discord.embeds import (
    SELECT_LABEL_LIMIT,
    SELECT_OPTION_LIMIT,
    about_embed,
    agency_embed,
    agency_topics,
)
from bot.discord.text import echo, lang_for, say, shorten
from bot.discord.views import deliver_public, in_server, reply, router_of, send_pages, topic_menus

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot

log = logging.getLogger("who_handles.discord")

AGENCY_MAX_LENGTH = 100
LONG_AGENCY_TOPICS = 12   # an agency with more topics answers privately unless asked to post: a long read for one


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


class Browse(commands.Cog):
    def __init__(self, bot: WhoHandlesBot):
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        await self.bot.check_rate(interaction)
        return True

    @app_commands.command(name="agency", description="What an agency or office handles, with its topics")
    @app_commands.describe(name="An agency or office, e.g. HSI, CBP, USCIS",
                           private="Answer only you (default: only you for a long list, else the whole channel)")
    async def agency(self, interaction: discord.Interaction,
                     name: app_commands.Range[str, 1, AGENCY_MAX_LENGTH], private: bool | None = None) -> None:
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
        if private is None:
            private = len(topics) > LONG_AGENCY_TOPICS
        private_view = topic_menus(agency_id, options, lang)
        if private or not in_server(interaction):
            await reply(interaction, ephemeral=private, embed=embed, view=private_view)
            return
        await deliver_public(interaction, lang, key=("agency", agency_id), embed=embed,
                             view=topic_menus(agency_id, options, lang, pin=True), private_view=private_view)

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
        await send_pages(interaction, "topics")

    @app_commands.command(name="sources", description="The official sources the bot cites")
    async def sources(self, interaction: discord.Interaction) -> None:
        self.bot.count_answer("sources", "match", interaction)
        await send_pages(interaction, "sources")

    @app_commands.command(name="about", description="Version, knowledge date and what this bot is (and is not)")
    async def about(self, interaction: discord.Interaction) -> None:
        self.bot.count_answer("about", "match", interaction)
        embed = about_embed(router_of(interaction).knowledge, self.bot.version, lang_for(interaction.locale),
                            code_url=self.bot.code_url)
        await reply(interaction, ephemeral=True, embed=embed)


async def setup(bot: WhoHandlesBot) -> None:
    await bot.add_cog(Browse(bot))
