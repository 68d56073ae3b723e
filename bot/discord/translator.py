"""Spanish names and descriptions for the slash commands, shown to members whose Discord is set to Spanish.

discord.py asks the translator for every command name, description, option and choice when it builds what it
syncs; Discord then shows the localized text to es-ES and es-419 members.
"""

from __future__ import annotations

import discord
from discord import app_commands

SPANISH_LOCALES = (discord.Locale.spain_spanish, discord.Locale.latin_american_spanish)

SPANISH = {
    # command and option names: lowercase, no spaces (Discord's rule)
    "who": "quien",
    "ice": "ice",
    "agency": "agencia",
    "topics": "temas",
    "sources": "fuentes",
    "about": "acerca",
    "reload": "recargar",
    "topic": "tema",
    "private": "privado",
    "aspect": "aspecto",
    "name": "nombre",
    "Pin answer": "Fijar respuesta",
    # descriptions
    "Who handles this? US immigration, customs and cross-border crime":
        "¿Quién se encarga? Inmigración, aduanas y delitos transfronterizos en EE. UU.",
    "A topic or a question, e.g. trafficking": "Un tema o una pregunta, p. ej. trata de personas",
    "Answer only you (default: everyone in the channel sees the answer)":
        "Responder solo a usted (por defecto, todo el canal ve la respuesta)",
    "One aspect of U.S. Immigration and Customs Enforcement (ICE)":
        "Un aspecto del Servicio de Inmigración y Control de Aduanas (ICE)",
    "Which aspect of ICE": "Qué aspecto de ICE",
    "Answer only you (default: everyone sees it)": "Responder solo a usted (por defecto, todos la ven)",
    "Answer only you (default: only you for a long list, else the whole channel)":
        "Responder solo a usted (por defecto, solo usted si la lista es larga; si no, todo el canal)",
    "What an agency or office handles, with its topics": "De qué se encarga una agencia u oficina, con sus temas",
    "An agency or office, e.g. HSI, CBP, USCIS": "Una agencia u oficina, p. ej. HSI, CBP, USCIS",
    "Browse every topic the bot knows": "Ver todos los temas que conoce el bot",
    "The official sources the bot cites": "Las fuentes oficiales que cita el bot",
    "Version, knowledge date and what this bot is (and is not)":
        "Versión, fecha de la información y qué es (y qué no es) este bot",
    "Reload the knowledge table (bot owner only).": "Recargar la tabla de información (solo el dueño del bot).",
    # /ice aspect choices
    "Mission": "Misión",
    "History": "Historia",
    "HSI — Homeland Security Investigations": "HSI — Investigaciones de Seguridad Nacional",
    "ERO — Enforcement and Removal Operations": "ERO — Operaciones de Control y Deportación",
    "OPLA — Office of the Principal Legal Advisor": "OPLA — Oficina del Asesor Jurídico Principal",
    "SEVP — Student and Exchange Visitor Program": "SEVP — Programa de Estudiantes y Visitantes de Intercambio",
    "Activities": "Actividades",
    "Ecosystem — who ICE works alongside": "Ecosistema — con quién trabaja ICE",
    "Priorities": "Prioridades",
    "Oversight": "Supervisión",
    "Partnerships": "Colaboraciones",
    "Summary": "Resumen",
}


class SpanishTranslator(app_commands.Translator):
    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if locale not in SPANISH_LOCALES:
            return None
        return SPANISH.get(string.message)
