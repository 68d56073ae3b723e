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
    # /server and "Answer this message"
    "server": "servidor",
    "This server's settings for who-handles": "La configuración de who-handles en este servidor",
    "help": "ayuda",
    "This server's own notes under answers": "Las notas propias de este servidor bajo las respuestas",
    "add": "agregar",
    "Add a note shown under answers on a topic, or under every answer":
        "Agregar una nota bajo las respuestas de un tema, o bajo todas",
    "A topic, or 'all' for every answer": "Un tema, o 'all' para todas las respuestas",
    "text": "texto",
    "Plain text, at most 300 characters; links must start with https://":
        "Texto simple, 300 caracteres como máximo; los enlaces deben empezar por https://",
    "remove": "quitar",
    "Remove one of this server's notes by its number": "Quitar una nota de este servidor por su número",
    "number": "numero",
    "The note's number (see /server help list)": "El número de la nota (vea /servidor ayuda lista)",
    "list": "lista",
    "This server's notes": "Las notas de este servidor",
    "alias": "alias",
    "This server's own words for topics": "Las palabras propias de este servidor para los temas",
    "Your server's own words for a topic": "Las palabras de su servidor para un tema",
    "words": "palabras",
    "The words members use": "Las palabras que usan los miembros",
    "The topic they mean": "El tema al que se refieren",
    "Remove one of your server's aliases": "Quitar un alias de su servidor",
    "Your server's aliases": "Los alias de su servidor",
    "show": "ver",
    "This server's settings": "La configuración de este servidor",
    "language": "idioma",
    "The language of public answers": "El idioma de las respuestas públicas",
    "member: each asker's Discord language; server: this server's locale":
        "member: el idioma de Discord de quien pregunta; server: el idioma de este servidor",
    "member": "miembro",
    "en": "inglés",
    "es": "español",
    "Answer privately unless the asker chooses otherwise":
        "Responder en privado salvo que quien pregunta elija otra cosa",
    "True: private answers by default": "Verdadero: respuestas privadas por defecto",
    "channel": "canal",
    "Choose the channels where the bot answers in public": "Elegir los canales donde el bot responde en público",
    "action": "accion",
    "add or remove a channel; clear: every channel again":
        "agregar o quitar un canal; clear: todos los canales otra vez",
    "clear": "vaciar",
    "The channel": "El canal",
    "pin-role": "rol-fijar",
    "A role whose members may pin answers (empty: none)":
        "Un rol cuyos miembros pueden fijar respuestas (vacío: ninguno)",
    "The role (empty: none)": "El rol (vacío: ninguno)",
    "role": "rol",
    "limits": "limites",
    "The repeat window and the per-member rate": "La ventana de repetición y el límite por miembro",
    "repeat_window": "ventana_repeticion",
    "seconds before the same topic is answered again in a channel (0-600)":
        "segundos antes de responder otra vez el mismo tema en un canal (0-600)",
    "rate_count": "cantidad",
    "answers a member may get...": "respuestas que puede recibir un miembro...",
    "rate_seconds": "segundos",
    "...in this many seconds": "...en esta cantidad de segundos",
    "reports": "avisos",
    "The moderators' channel for 'Report a problem' (empty: off)":
        "El canal de moderadores para 'Avisar un problema' (vacío: desactivado)",
    "keep-questions": "guardar-preguntas",
    "Keep the text of questions the bot could not answer, for /server stats":
        "Guardar el texto de las preguntas sin respuesta, para /servidor estadisticas",
    "keep": "guardar",
    "True: keep them (never who asked)": "Verdadero: guardarlas (nunca quién preguntó)",
    "stats": "estadisticas",
    "Answers by topic and week, feedback, unanswered questions":
        "Respuestas por tema y semana, opiniones, preguntas sin respuesta",
    "weeks": "semanas",
    "How many weeks back": "Cuántas semanas atrás",
    "pins": "fijados",
    "The answers pinned in this server, with links": "Las respuestas fijadas en este servidor, con enlaces",
    "Answer this message": "Responder este mensaje",
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
