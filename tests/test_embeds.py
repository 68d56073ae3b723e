"""bot/discord/embeds.py: every embed the bot can send stays within Discord's limits, and says what the issue asks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from pathlib import Path

import discord
import pytest

from bot.core.answers import AgencyRef, Answer, Involved, SourceRef, TopicRef, agency_choice
from bot.core.router import Router
from bot.discord.embeds import (
    FIELD_LIMIT,
    SELECT_LABEL_LIMIT,
    TOTAL_LIMIT,
    SharedEmbed,
    about_embed,
    agency_embed,
    answer_embed,
    embed_problems,
    option_label,
    source_pages,
    topic_pages,
)

LANGS = ("en", "es")

FIXTURE = Path(__file__).parent / "fixtures" / "mini"


@pytest.fixture(scope="module")
def real() -> Router:
    return Router.load()   # the real table, as shipped


def test_every_topic_of_the_real_table_fits_in_english_and_spanish(real: Router):
    assert len(real.knowledge.topics) > 10
    for lang in LANGS:
        for topic_id in real.knowledge.topics:
            answer = real.topic(topic_id, lang)
            assert answer is not None
            embed = answer_embed(answer)
            assert embed_problems(embed) == [], (topic_id, lang)
            assert embed.title == answer.title
            # who handles it comes first, then nothing the table says is cut: the summary whole (and a volatile
            # topic's as-of line), every source listed
            handled, summary = embed.description.split("\n\n", 1)
            assert handled.startswith(("Handled by: **", "A cargo de: **")) and answer.handler.label in handled
            unmarked, table_text = re.sub(r"\[\d+\]", "[]", summary), re.sub(r"\[\d+\]", "[]", answer.summary)
            assert unmarked.startswith(table_text)       # the markers may be renumbered: see the next test
            assert (answer.as_of is None) == unmarked.endswith(table_text), topic_id
            sources = "\n".join(field.value or "" for field in embed.fields)
            for source in answer.sources:
                assert f"`[{source.number}]`" in sources, (topic_id, source)


def cited_titles(text: str, numbered_titles: dict[int, str]) -> list[str]:
    """The source title behind each citation marker of `text`, in reading order."""
    return [numbered_titles[int(number)] for number in re.findall(r"\[(\d+)\]", text)]


def test_citations_are_numbered_in_the_order_they_are_read_and_still_point_at_their_sources(real: Router):
    renumbered = 0
    for lang in LANGS:
        for topic_id in real.knowledge.topics:
            answer = real.topic(topic_id, lang)
            embed = answer_embed(answer)
            shown = [int(n) for n in re.findall(r"\[(\d+)\]", embed.description)]
            first_use = list(dict.fromkeys(shown))
            assert first_use == list(range(1, len(first_use) + 1)), (topic_id, lang, first_use)
            sources = "\n".join(field.value or "" for field in embed.fields)   # a long list goes on in a next field
            listed = {int(n): title for n, title in re.findall(r"`\[(\d+)\]` \[([^]]*)\]", sources)}
            original = {source.number: source.title.replace("[", "(").replace("]", ")")
                        for source in answer.sources}
            # the same sources behind the same sentences, and each still listed
            assert cited_titles(embed.description, listed) == cited_titles(answer.summary, original), topic_id
            assert sorted(listed.values()) == sorted(original.values())
            renumbered += shown != [int(n) for n in re.findall(r"\[(\d+)\]", answer.summary)]
    assert renumbered > 0          # the table has summaries whose markers first appear out of order ([1], [3], [2])


def test_every_agency_page_topic_page_and_source_page_fits(real: Router):
    knowledge = real.knowledge
    for lang in LANGS:
        for agency_id in knowledge.agencies:
            assert embed_problems(agency_embed(knowledge, agency_id, lang)) == [], (agency_id, lang)
        pages = topic_pages(knowledge, lang)
        assert all(embed_problems(page) == [] for page in pages)
        assert _lines(pages) == len(knowledge.topics)
        sources = source_pages(knowledge, lang)
        assert all(embed_problems(page) == [] for page in sources)
        assert _lines(sources) == len(knowledge.sources)
        assert embed_problems(about_embed(knowledge, "1.2.3", lang)) == []


def _lines(pages: list[discord.Embed]) -> int:
    return sum((field.value or "").count("\n") + 1 for page in pages for field in page.fields)


def test_spanish_topic_pages_name_the_handlers_in_spanish(real: Router):
    pages = "\n".join(field.value or "" for page in topic_pages(real.knowledge, "es") for field in page.fields)
    for english in ("State Department", "Coast Guard", "Border Patrol", "Secret Service"):
        assert f"({english})" not in pages
    assert "(Patrulla Fronteriza)" in pages and "(Guardia Costera)" in pages and "(ICE)" in pages
    english_pages = "\n".join(field.value or "" for page in topic_pages(real.knowledge, "en") for field in page.fields)
    assert "(Border Patrol)" in english_pages


@pytest.mark.parametrize("lang", LANGS)
def test_topic_pages_are_in_alphabetical_order_not_character_code_order(real: Router, lang: str):
    lines = [line for page in topic_pages(real.knowledge, lang) for field in page.fields
             for line in (field.value or "").splitlines()]
    titles = [line.removeprefix("• **").split("**")[0] for line in lines]

    def plain(title: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c)).casefold()

    assert titles == sorted(titles, key=plain)
    if lang == "en":
        assert titles.index("Advance parole and refugee travel documents") < titles.index(
            next(title for title in titles if title.startswith("ATF")))
    else:
        assert not titles[-1].startswith("Órdenes")


@pytest.mark.parametrize(("agency_id", "lang", "says"), [
    ("ice", "en", "Handles 1 topic directly and 2 through its offices."),
    ("ice-hsi", "en", "Handles 1 topic."),
    ("dhs", "en", "Handles 3 topics through its offices."),
    ("ice", "es", "Se encarga de 1 tema directamente y de 2 a través de sus oficinas."),
    ("dhs", "es", "Se encarga de 3 temas a través de sus oficinas."),
])
def test_an_agency_says_how_many_topics_it_handles_in_plain_words(mini_router: Router, agency_id: str, lang: str,
                                                                    says: str):
    assert agency_embed(mini_router.knowledge, agency_id, lang).description == says


def test_the_answer_embed_has_everything_the_issue_lists(mini_router: Router):
    answer = mini_router.topic("human-trafficking")
    assert answer is not None
    embed = answer_embed(answer)
    fields = {field.name: field.value for field in embed.fields}
    # the related topics are in the menu under the answer, not a second time in a field
    assert list(fields) == ["Also involved", "Sources"]
    assert answer.related and embed.title == "Human trafficking"
    assert embed.author.name == "DHS › ICE › HSI" == answer.chain_text
    assert embed.colour == discord.Colour(0x112E51)                 # HSI inherits DHS's colour in the fixture
    # on a phone, who handles it is the first thing read, above the summary
    assert embed.description.startswith("Handled by: **Homeland Security Investigations (HSI)**\n\n"
                                        "ICE is one of the primary federal agencies against human trafficking [1].")
    assert "Enforcement and Removal Operations (ERO)" in fields["Also involved"]
    assert fields["Sources"] == ("`[1]` [Human Trafficking fact sheet](https://www.ice.gov/factsheets/human-"
                                 "trafficking) — U.S. Immigration and Customs Enforcement")
    assert embed.footer.text == "Checked 2026-11-24. General information, not legal advice."


def test_spanish_answers_use_the_translation_and_spanish_labels(mini_router: Router):
    answer = mini_router.topic("human-trafficking", "es")
    assert answer is not None
    embed = answer_embed(answer)
    assert embed.title == "Trata de personas"
    assert {field.name for field in embed.fields} >= {"Fuentes"}
    assert embed.description.startswith("A cargo de: **")
    assert embed.footer.text == "Verificado 2026-11-24. Información general, no asesoría legal."


def test_a_shared_answer_embed_keeps_its_json_and_sends_what_a_fresh_one_would(mini_router: Router):
    answer = mini_router.topic("human-trafficking")
    assert answer is not None
    shared = answer_embed(answer)
    assert isinstance(shared, SharedEmbed) and answer_embed(answer) is shared
    fresh = discord.Embed.from_dict(shared.copy().to_dict())
    assert shared.to_dict() is shared.to_dict()                # built once, not for every reply
    assert shared.to_dict() == fresh.to_dict() == discord.Embed.to_dict(shared)

    variant = shared.copy()                                    # a plain embed of its own: changing it changes no answer
    assert type(variant) is discord.Embed
    variant.add_field(name="Extra", value="x")
    variant.title = "Other"
    assert len(shared.fields) == len(fresh.fields) and shared.title == answer.title


def test_a_shared_embed_that_is_changed_sends_the_change():
    embed = SharedEmbed(title="t", description="d", colour=0x123456)
    embed.set_footer(text="f")
    first = embed.to_dict()
    embed.title = "u"                                          # an attribute set: the JSON form is built again
    embed.set_author(name="a")
    embed.add_field(name="n", value="v")                       # in place: the same lists show the change
    expected = discord.Embed(title="u", description="d", colour=0x123456)
    expected.set_footer(text="f")
    expected.set_author(name="a")
    expected.add_field(name="n", value="v")
    assert embed.to_dict() == expected.to_dict() != first
    embed.remove_footer()                                      # a deleted attribute too
    embed.remove_field(0)
    expected.remove_footer()
    expected.remove_field(0)
    assert embed.to_dict() == expected.to_dict()


def test_a_monstrous_answer_is_cut_to_fit_never_rejected():
    """More and longer of everything than the loader allows: the embed still fits."""
    agency = AgencyRef("x", "A" * 300, "S" * 300)
    answer = Answer(
        query="q", status="match", topic_id="t", title="T" * 400, summary="word [1] " * 700,
        handler_chain=(agency,) * 40,
        also=tuple(Involved(agency, "role " * 300) for _ in range(30)),
        sources=tuple(SourceRef(n, "Title ] with [ brackets" * 20, "P" * 200, "https://x.gov/a(b)c" + "d" * 500)
                      for n in range(1, 60)),
        related=tuple(TopicRef(f"r{n}", "R" * 300, agency) for n in range(40)),
        checked=dt.date(2026, 1, 1), colour=0x123456,
    )
    embed = answer_embed(answer)
    assert embed_problems(embed) == []
    assert len(embed) <= TOTAL_LIMIT and len(embed.fields) <= FIELD_LIMIT
    sources = next(field.value for field in embed.fields if field.name == "Sources") or ""
    assert "(b)" not in sources and "%28b%29" in sources      # a ")" in a URL cannot end the link early
    assert "] with [" not in sources                          # nor a "]" in a title
    assert [field.name for field in embed.fields][:1] == ["Sources"]   # citations win the room
    assert embed.description.startswith("Handled by: **")               # and the handler is never cut


def test_the_limit_checker_catches_each_kind_of_overflow():
    embed = discord.Embed(title="t" * 257, description="d" * 4097)
    embed.add_field(name="n", value="v" * 1025)
    for _ in range(25):
        embed.add_field(name="n", value="v" * 100)
    problems = embed_problems(embed)
    assert any("title" in p for p in problems) and any("description" in p for p in problems)
    assert any("26 fields" in p for p in problems) and any("field 1 value" in p for p in problems)
    assert any("in all" in p for p in problems)


def test_option_labels_fit_discords_100_characters(real: Router):
    for lang in LANGS:
        for ref in real.suggest_refs("", lang, limit=1000):
            label = option_label(ref)
            assert 1 <= len(label) <= SELECT_LABEL_LIMIT
            assert ref.handler.short in label
            assert label.count(ref.handler.short) == ref.title.count(ref.handler.short) or (
                ref.handler.short not in ref.title), label               # named once, not again after a dash
    knowledge = real.knowledge
    assert option_label(agency_choice(knowledge, "cbp")) == "U.S. Customs and Border Protection (CBP)"
    assert option_label(agency_choice(knowledge, "cbp-usbp")) == "U.S. Border Patrol"
    assert option_label(real.suggest_refs("traf", "en", limit=1)[0]) == "Human trafficking (sex or forced labor) — HSI"
    long = TopicRef("x", "Y" * 500, AgencyRef("a", "Agency", "AG"))
    assert len(option_label(long)) == SELECT_LABEL_LIMIT
    weird = dataclasses.replace(long, handler=AgencyRef("a", "Agency", "Z" * 80))
    assert len(option_label(weird)) <= SELECT_LABEL_LIMIT


def test_about_has_no_internal_ids_says_what_it_keeps_and_links_no_code_it_was_not_given(mini_router: Router):
    knowledge = mini_router.knowledge
    for lang, privacy, stores in (
            ("en", "keeps nothing about members: no user ids", "For each server it stores its settings"),
            ("es", "no guarda nada sobre los miembros: ni ids de usuario", "De cada servidor guarda su configuración")):
        embed = about_embed(knowledge, "0.1.0", lang)
        text = " ".join([embed.description or "", embed.footer.text or ""]
                        + [f"{f.name} {f.value}" for f in embed.fields])
        assert knowledge.version not in text and knowledge.version.split("/")[-1] not in text   # "2026-11-26/71t"
        assert "2026-11-25" in text and "0.1.0" in text
        assert privacy in text
        assert stores in text                                          # what the store keeps, per server
        assert "http" not in text and "repositor" not in text          # no code link nobody configured
    assert "4 agencies · 3 topics · 2 sources" in str(about_embed(knowledge, "0.1.0").fields)


def test_about_links_the_code_when_its_address_is_configured(mini_router: Router):
    embed = about_embed(mini_router.knowledge, "0.1.0", code_url="https://git.example.org/who-handles")
    [code] = [field for field in embed.fields if field.name == "Code"]
    assert code.value == "[git.example.org/who-handles](https://git.example.org/who-handles)"


def test_an_agency_level_answer_says_no_topic_fits_and_links_the_office():
    router = Router.load(FIXTURE)
    answer = router.agency("ice-hsi")
    embed = answer_embed(answer)
    assert embed.description.startswith("Handled by: **Homeland Security Investigations (HSI)**\n\n"
                                        "No specific topic fits, but this is HSI's area:")
    assert embed.url == "https://www.ice.gov/factsheets/human-trafficking"
    assert "[1]" in embed.description


def test_a_volatile_answer_shows_its_as_of_date():
    embed = answer_embed(Router.load(FIXTURE).topic("human-trafficking"))
    assert "As of 2026-05-01" in embed.description


def test_the_repeat_window_tells_topics_offices_and_languages_apart():
    from bot.discord.views import repeat_key
    router = Router.load(FIXTURE)
    trafficking, trata = router.topic("human-trafficking"), router.topic("human-trafficking", "es")
    hsi, ice_mission = router.agency("ice-hsi"), router.agency("ice")
    assert repeat_key(trafficking) == ("topic", "human-trafficking", "en")
    assert repeat_key(trafficking) != repeat_key(trata)
    assert repeat_key(hsi) == ("agency", "ice-hsi", "en") and repeat_key(hsi) != repeat_key(ice_mission)
