"""/who and /ice, and the "Pin answer" context menu.

The cog only wires Discord to the core: the Router decides what an answer says, bot/discord/embeds.py how it looks,
bot/discord/views.py how it is sent and what sits under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.answers import Answer
from bot.core.knowledge import ICE_ASPECTS
from bot.core.router import Router
from bot.discord.embeds import SELECT_OPTION_LIMIT, option_label
from bot.discord.text import lang_for, say
from bot.discord.views import deliver, deliver_reply, pin_answer, reply, router_of
from bot.store.models import normalise_alias

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot

TOPIC_MAX_LENGTH = 100        # characters of a /who topic; the matcher reads 300 at most anyway
PIN_PERMISSION = (discord.Permissions(pin_messages=True) if hasattr(discord.Permissions, "pin_messages")
                  else discord.Permissions(manage_messages=True))

ASPECT_NAMES = {
    "mission": "Mission",
    "history": "History",
    "hsi": "HSI — Homeland Security Investigations",
    "ero": "ERO — Enforcement and Removal Operations",
    "opla": "OPLA — Office of the Principal Legal Advisor",
    "sevp": "SEVP — Student and Exchange Visitor Program",
    "activities": "Activities",
    "ecosystem": "Ecosystem — who ICE works alongside",
    "priorities": "Priorities",
    "oversight": "Oversight",
    "partnerships": "Partnerships",
    "summary": "Summary",
}
ASPECT_CHOICES = [app_commands.Choice(name=ASPECT_NAMES.get(aspect, aspect), value=aspect) for aspect in ICE_ASPECTS]


# --- commands ------------------------------------------------------------------------------------------------------

def resolve_topic(router: Router, value: str, lang: str) -> Answer:
    """A picked autocomplete choice is a topic id; anything else typed is a question for the matcher."""
    value = value.strip()
    return router.topic(value, lang) or router.ask(value, lang)


class TopicQuery(app_commands.Transformer):
    """The /who topic option: autocompleted from the table, turned into an Answer before the command runs."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return TOPIC_MAX_LENGTH

    async def autocomplete(self, interaction: discord.Interaction, value: str, /) -> list[app_commands.Choice[str]]:
        router = router_of(interaction)
        interaction.client.count_autocomplete("who")  # type: ignore[attr-defined]
        refs = router.suggest_refs(value[:TOPIC_MAX_LENGTH], lang_for(interaction.locale), SELECT_OPTION_LIMIT)
        return [app_commands.Choice(name=option_label(ref), value=ref.id) for ref in refs]

    async def transform(self, interaction: discord.Interaction, value: str, /) -> Answer:
        router, lang = router_of(interaction), lang_for(interaction.locale)
        if interaction.guild_id is not None:    # the server's own words first (/server alias)
            aliases = await interaction.client.store.aliases(interaction.guild_id)  # type: ignore[attr-defined]
            topic_id = aliases.get(normalise_alias(value))
            if topic_id is not None and (answer := router.topic(topic_id, lang)) is not None:
                return answer
        return resolve_topic(router, value, lang)


class Who(commands.Cog):
    def __init__(self, bot: WhoHandlesBot):
        self.bot = bot
        self.pin_menu = app_commands.ContextMenu(name="Pin answer", callback=self.pin_context)
        self.pin_menu.guild_only = True
        self.pin_menu.default_permissions = PIN_PERMISSION   # shown to those who may pin; servers can change it
        # A helper right-clicks a member's question: the message arrives with the interaction (no message-content
        # intent), and the bot replies to it with the best topic.
        self.answer_menu = app_commands.ContextMenu(name="Answer this message", callback=self.answer_context)
        self.answer_menu.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.pin_menu)
        self.bot.tree.add_command(self.answer_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.pin_menu.name, type=self.pin_menu.type)
        self.bot.tree.remove_command(self.answer_menu.name, type=self.answer_menu.type)

    async def answer_context(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await self.bot.check_rate(interaction)
        text = " ".join(message.content.split())[:TOPIC_MAX_LENGTH * 3]
        if not text:
            await reply(interaction, say(lang_for(interaction.locale), "answer_no_text"), ephemeral=True)
            return
        answer = self.bot.router.ask(text, lang_for(interaction.locale))
        if answer.status != "match":
            await deliver(interaction, answer, private=True, command="answer-message")
            return
        await deliver_reply(interaction, answer, message)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        await self.bot.check_rate(interaction)
        return True

    @app_commands.command(name="who", description="Who handles this? US immigration, customs and cross-border crime")
    @app_commands.describe(topic="A topic or a question, e.g. trafficking",
                           private="Answer only you (default: everyone in the channel sees the answer)")
    async def who(self, interaction: discord.Interaction,
                  topic: app_commands.Transform[Answer, TopicQuery], private: bool | None = None) -> None:
        await deliver(interaction, topic, private=private, command="who")

    @app_commands.command(name="ice", description="One aspect of U.S. Immigration and Customs Enforcement (ICE)")
    @app_commands.describe(aspect="Which aspect of ICE", private="Answer only you (default: everyone sees it)")
    @app_commands.choices(aspect=ASPECT_CHOICES)
    async def ice(self, interaction: discord.Interaction, aspect: app_commands.Choice[str],
                  private: bool | None = None) -> None:
        answer = self.bot.router.ice(aspect.value, lang_for(interaction.locale))
        await deliver(interaction, answer, private=private, command="ice")

    async def pin_context(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await pin_answer(interaction, message, via="menu")


async def setup(bot: WhoHandlesBot) -> None:
    await bot.add_cog(Who(bot))
