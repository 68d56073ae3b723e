"""Owner-only maintenance: reload the knowledge table without a restart.

/reload lives in the operator's own server (DEV_GUILD_ID) only: synced globally, every server's admins saw a command
that only ever told them no. Without DEV_GUILD_ID there is no /reload; SIGHUP reloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.deadline import defer, respond
from bot.discord.text import lang_for, say

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot


class Admin(commands.Cog):
    def __init__(self, bot: WhoHandlesBot):
        self.bot = bot

    @app_commands.command(name="reload", description="Reload the knowledge table (bot owner only).")
    @app_commands.default_permissions(administrator=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        lang = lang_for(interaction.locale)
        if not await self.bot.is_owner(interaction.user):
            await respond(interaction, content=say(lang, "reload_owner_only"), ephemeral=True)
            return
        await defer(interaction, ephemeral=True)
        problems = await self.bot.reload_knowledge()
        if problems:
            text = say(lang, "reload_refused", count=len(problems), first=problems[0][-300:])
        else:
            text = say(lang, "reload_done", version=self.bot.router.knowledge.version)
        await interaction.followup.send(text, ephemeral=True)


async def setup(bot: WhoHandlesBot) -> None:
    if bot.dev_guild_id is not None:
        await bot.add_cog(Admin(bot), guild=discord.Object(id=bot.dev_guild_id))
