"""/server: what a server sets for itself (Manage Server only): language, privacy, channels, who may pin, limits,
the moderators' channel, its own help notes and aliases, and its statistics and pinned answers.

Every reply is private; every value a moderator types is checked (bot/discord/local.py) and refused with the
reason; nothing is stored about who set what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.embeds import SELECT_OPTION_LIMIT, option_label
from bot.discord.local import (
    ALIASES_PER_SERVER,
    NOTE_LIMIT,
    NOTES_PER_SERVER,
    check_alias,
    check_note,
)
from bot.discord.text import echo, lang_for, shorten
from bot.discord.views import NO_MENTIONS, router_of
from bot.store import EVERY_TOPIC

if TYPE_CHECKING:
    from bot.discord.client import WhoHandlesBot

UNAVAILABLE = "The database is unavailable right now, so nothing was changed. Try again in a minute."
EVERY = "all"      # what a moderator types or picks for "every answer"


async def tell(interaction: discord.Interaction, text: str, embed: discord.Embed | None = None) -> None:
    kwargs = {"embed": embed} if embed is not None else {}
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs)


def topic_choices(interaction: discord.Interaction, current: str, *, every: bool) -> list[app_commands.Choice[str]]:
    router = router_of(interaction)
    refs = router.suggest_refs(current[:100], lang_for(interaction.locale), SELECT_OPTION_LIMIT - 1)
    choices = [app_commands.Choice(name=option_label(ref), value=ref.id) for ref in refs]
    if every:
        choices.insert(0, app_commands.Choice(name="Every answer", value=EVERY))
    return choices[:SELECT_OPTION_LIMIT]


def known_topic(interaction: discord.Interaction, value: str) -> str | None:
    value = value.strip()
    return value if value in router_of(interaction).knowledge.topics else None


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Server(commands.GroupCog, group_name="server", group_description="This server's settings for who-handles"):
    help = app_commands.Group(name="help", description="This server's own notes under answers")
    alias = app_commands.Group(name="alias", description="This server's own words for topics")

    def __init__(self, bot: WhoHandlesBot):
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        # default_permissions hides the group; a server can change that on its Integrations page, so check again.
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            await tell(interaction, "Only members with Manage Server can change this server's settings.")
            return False
        return True

    @property
    def store(self):
        return self.bot.store

    # --- settings -------------------------------------------------------------------------------------------------

    @app_commands.command(name="show", description="This server's settings")
    async def show(self, interaction: discord.Interaction) -> None:
        s = await self.store.guild_settings(interaction.guild_id)
        lines = [
            f"Language of public answers: {s.language or 'each member’s own'}",
            f"Answer privately by default: {'yes' if s.private_default else 'no'}",
            "Public answers in: " + (", ".join(f"<#{c}>" for c in sorted(s.channels)) or "every channel"),
            f"Role that may pin: {f'<@&{s.pin_role_id}>' if s.pin_role_id else 'none (Pin Messages only)'}",
            f"Repeat window: {s.repeat_window_seconds if s.repeat_window_seconds is not None else 'default'} s; "
            f"rate: {s.rate_count or 'default'} answers in {s.rate_seconds or 'default'} s",
            f"Reports go to: {f'<#{s.report_channel_id}>' if s.report_channel_id else 'nowhere (only counted)'}",
            f"Keep the text of unanswered questions: {'yes' if s.keep_unanswered_text else 'no'}",
        ]
        if not self.store.available:
            lines.append("(The database is unavailable: these are the defaults.)")
        await tell(interaction, "\n".join(lines))

    async def _save(self, interaction: discord.Interaction, done: str, **changes: object) -> None:
        ok = await self.store.update_guild_settings(interaction.guild_id, **changes)
        await tell(interaction, done if ok else UNAVAILABLE)

    @app_commands.command(name="language", description="The language of public answers")
    @app_commands.describe(language="member: each asker's Discord language; server: this server's locale")
    async def language(self, interaction: discord.Interaction,
                       language: Literal["member", "server", "en", "es"]) -> None:
        await self._save(interaction, f"Public answers now follow: {language}.",
                         language=None if language == "member" else language)

    @app_commands.command(name="private", description="Answer privately unless the asker chooses otherwise")
    @app_commands.describe(private="True: private answers by default")
    async def private(self, interaction: discord.Interaction, private: bool) -> None:
        await self._save(interaction, f"Answers are now {'private' if private else 'public'} by default.",
                         private_default=private)

    @app_commands.command(name="channel", description="Choose the channels where the bot answers in public")
    @app_commands.describe(action="add or remove a channel; clear: every channel again", channel="The channel")
    async def channel(self, interaction: discord.Interaction, action: Literal["add", "remove", "clear"],
                      channel: discord.TextChannel | None = None) -> None:
        guild_id = interaction.guild_id
        if action == "clear":
            ok = await self.store.clear_answer_channels(guild_id)
            return await tell(interaction, "The bot answers in public in every channel again." if ok else UNAVAILABLE)
        if channel is None:
            return await tell(interaction, "Name the channel to add or remove.")
        ok = await self.store.set_answer_channel(guild_id, channel.id, action == "add")
        await tell(interaction, (f"{'Added' if action == 'add' else 'Removed'} {channel.mention}. Elsewhere, answers "
                                 "go privately to the asker.") if ok else UNAVAILABLE)

    @app_commands.command(name="pin-role", description="A role whose members may pin answers (empty: none)")
    @app_commands.describe(role="The role (empty: none)")
    async def pin_role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        await self._save(interaction, f"Pinning: {role.mention if role else 'Pin Messages only'}.",
                         pin_role_id=role.id if role else None)

    @app_commands.command(name="limits", description="The repeat window and the per-member rate")
    @app_commands.describe(repeat_window="seconds before the same topic is answered again in a channel (0-600)",
                           rate_count="answers a member may get...", rate_seconds="...in this many seconds")
    async def limits(self, interaction: discord.Interaction,
                     repeat_window: app_commands.Range[int, 0, 600] | None = None,
                     rate_count: app_commands.Range[int, 1, 50] | None = None,
                     rate_seconds: app_commands.Range[int, 1, 3600] | None = None) -> None:
        changes = {name: value for name, value in (("repeat_window_seconds", repeat_window),
                                                    ("rate_count", rate_count), ("rate_seconds", rate_seconds))
                   if value is not None}
        if not changes:
            return await tell(interaction, "Give at least one of repeat_window, rate_count, rate_seconds.")
        await self._save(interaction, "Limits saved.", **changes)

    @app_commands.command(name="reports", description="The moderators' channel for 'Report a problem' (empty: off)")
    @app_commands.describe(channel="The channel")
    async def reports(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        await self._save(interaction, f"Reports: {channel.mention if channel else 'counted only'}.",
                         report_channel_id=channel.id if channel else None)

    @app_commands.command(name="keep-questions",
                          description="Keep the text of questions the bot could not answer, for /server stats")
    @app_commands.describe(keep="True: keep them (never who asked)")
    async def keep_questions(self, interaction: discord.Interaction, keep: bool) -> None:
        ok = await self.store.update_guild_settings(interaction.guild_id, keep_unanswered_text=keep)
        if ok and not keep:
            ok = await self.store.forget_unanswered(interaction.guild_id)
        await tell(interaction, ("Unanswered questions are kept (their text only; never who asked)." if keep else
                                 "Unanswered questions are no longer kept, and those kept are deleted.")
                   if ok else UNAVAILABLE)

    # --- statistics and pins -------------------------------------------------------------------------------------

    @app_commands.command(name="stats", description="Answers by topic and week, feedback, unanswered questions")
    @app_commands.describe(weeks="How many weeks back")
    async def stats(self, interaction: discord.Interaction, weeks: app_commands.Range[int, 1, 52] = 4) -> None:
        stats = await self.store.stats(interaction.guild_id, weeks, limit=10)
        if stats is None:
            return await tell(interaction, UNAVAILABLE.split(",")[0] + ".")
        embed = discord.Embed(title=f"who-handles in this server, last {weeks} week(s)")
        by_week: dict[str, list[str]] = {}
        for row in stats.answers:
            label = row.topic_id if row.status == "match" else ("not covered" if row.status == "none"
                                                                 else f"{row.status} {row.topic_id}".strip())
            by_week.setdefault(row.week, []).append(f"{row.answers} · {label}")
        for week, lines in list(by_week.items())[:6]:
            embed.add_field(name=week, value=shorten("\n".join(lines[:10]), 1024), inline=False)
        ratio = f"{stats.helpful_ratio:.0%}" if stats.helpful_ratio is not None else "no votes yet"
        embed.add_field(name="Helpful", value=f"{stats.helpful} 👍 · {stats.unhelpful} 👎 ({ratio}) · "
                                              f"{stats.reports} reports", inline=False)
        if stats.unanswered:
            embed.add_field(name="Unanswered questions", value=shorten("\n".join(
                f"{count} · {echo(question, 80)}" for question, count in stats.unanswered), 1024), inline=False)
        await tell(interaction, f"{stats.total_answers} answers.", embed)

    @app_commands.command(name="pins", description="The answers pinned in this server, with links")
    async def pins(self, interaction: discord.Interaction) -> None:
        pins = await self.store.pins(interaction.guild_id)
        if pins is None:
            return await tell(interaction, UNAVAILABLE.split(",")[0] + ".")
        if not pins:
            return await tell(interaction, "No answer is pinned in this server.")
        lines = [f"`{pin.topic_id}` ({pin.lang}, table {pin.table_version}, {pin.via}): "
                 f"https://discord.com/channels/{pin.guild_id}/{pin.channel_id}/{pin.message_id}" for pin in pins]
        await tell(interaction, shorten("\n".join(lines), 2000))

    # --- local help ----------------------------------------------------------------------------------------------

    @help.command(name="add", description="Add a note shown under answers on a topic, or under every answer")
    @app_commands.describe(topic="A topic, or 'all' for every answer",
                           text=f"Plain text, at most {NOTE_LIMIT} characters; links must start with https://")
    async def help_add(self, interaction: discord.Interaction, topic: str,
                       text: app_commands.Range[str, 1, 1000]) -> None:
        topic_id = EVERY_TOPIC if topic.strip().lower() == EVERY else known_topic(interaction, topic)
        if topic_id is None:
            return await tell(interaction, f"There is no topic {echo(topic, 60)}; pick one from the list.")
        problem = check_note(text)
        if problem:
            return await tell(interaction, f"Not added. {problem}")
        existing = await self.store.help_notes(interaction.guild_id)
        if len(existing) >= NOTES_PER_SERVER:
            return await tell(interaction, f"This server has {NOTES_PER_SERVER} notes, the most it can have; "
                                           "remove one first.")
        number = await self.store.add_help_note(interaction.guild_id, topic_id, text.strip())
        if number is None:
            return await tell(interaction, UNAVAILABLE)
        where = "every answer" if topic_id == EVERY_TOPIC else f"answers on `{topic_id}`"
        await tell(interaction, f"Note {number} added under {where}, in a field marked as from this server's "
                                "moderators.")

    @help_add.autocomplete("topic")
    async def help_topic(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return topic_choices(interaction, current, every=True)

    @help.command(name="remove", description="Remove one of this server's notes by its number")
    @app_commands.describe(number="The note's number (see /server help list)")
    async def help_remove(self, interaction: discord.Interaction,
                          number: app_commands.Range[int, 1, 1_000_000]) -> None:
        removed = await self.store.remove_help_note(interaction.guild_id, number)
        await tell(interaction, UNAVAILABLE if removed is None else
                   f"Note {number} removed." if removed else f"There is no note {number}.")

    @help.command(name="list", description="This server's notes")
    async def help_list(self, interaction: discord.Interaction) -> None:
        notes = await self.store.help_notes(interaction.guild_id)
        if not notes:
            return await tell(interaction, "This server has no notes yet: /server help add.")
        lines = [f"{n.note_id}. [{'every answer' if n.topic_id == EVERY_TOPIC else n.topic_id}] {n.body}"
                 for n in notes]
        embed = discord.Embed(title="This server's notes", description=shorten("\n".join(lines), 4096))
        await tell(interaction, f"{len(notes)} note(s).", embed)

    # --- aliases ---------------------------------------------------------------------------------------------

    @alias.command(name="add", description="Your server's own words for a topic")
    @app_commands.describe(words="The words members use", topic="The topic they mean")
    async def alias_add(self, interaction: discord.Interaction, words: app_commands.Range[str, 1, 200],
                        topic: str) -> None:
        topic_id = known_topic(interaction, topic)
        if topic_id is None:
            return await tell(interaction, f"There is no topic {echo(topic, 60)}; pick one from the list.")
        problem = check_alias(words)
        if problem:
            return await tell(interaction, f"Not added. {problem}")
        if len(await self.store.aliases(interaction.guild_id)) >= ALIASES_PER_SERVER:
            return await tell(interaction, f"This server has {ALIASES_PER_SERVER} aliases; remove one first.")
        ok = await self.store.add_alias(interaction.guild_id, words, topic_id)
        await tell(interaction, f"“{echo(words, 60)}” now answers `{topic_id}` in this server." if ok else UNAVAILABLE)

    @alias_add.autocomplete("topic")
    async def alias_topic(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return topic_choices(interaction, current, every=False)

    @alias.command(name="remove", description="Remove one of your server's aliases")
    @app_commands.describe(words="The words members use")
    async def alias_remove(self, interaction: discord.Interaction, words: app_commands.Range[str, 1, 200]) -> None:
        removed = await self.store.remove_alias(interaction.guild_id, words)
        await tell(interaction, UNAVAILABLE if removed is None else
                   "Removed." if removed else f"There is no alias “{echo(words, 60)}”.")

    @alias.command(name="list", description="Your server's aliases")
    async def alias_list(self, interaction: discord.Interaction) -> None:
        aliases = await self.store.aliases(interaction.guild_id)
        text = "\n".join(f"“{echo(words, 60)}” → `{topic}`" for words, topic in aliases.items())
        await tell(interaction, shorten(text, 2000) if text else "No aliases yet: /server alias add.")


async def setup(bot: WhoHandlesBot) -> None:
    await bot.add_cog(Server(bot))
