"""Spanish-speaking members see every command, option and choice in Spanish (es-ES and es-419)."""

from __future__ import annotations

from bot.discord.client import command_payload

LOCALES = {"es-ES", "es-419"}


def localized(item: dict, field: str) -> bool:
    return set(item.get(f"{field}_localizations") or {}) >= LOCALES


async def test_every_name_description_option_and_choice_is_localized():
    payload = await command_payload()
    assert payload
    for command in payload:
        assert localized(command, "name"), command["name"]
        if command.get("type", 1) == 1:
            assert localized(command, "description"), command["name"]
        for option in command.get("options", []):
            assert localized(option, "name"), (command["name"], option["name"])
            assert localized(option, "description"), (command["name"], option["name"])
            for choice in option.get("choices", []):
                assert localized(choice, "name"), choice["name"]
    who = next(command for command in payload if command["name"] == "who")
    assert who["name_localizations"]["es-419"] == "quien"
    assert who["description_localizations"]["es-ES"].startswith("¿Quién se encarga?")
