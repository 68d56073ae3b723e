"""The loader accepts the real table and refuses broken ones, naming file, line and field for every problem."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.core.knowledge import ICE_ASPECTS, SUMMARY_LIMIT, KnowledgeError, load_knowledge
from bot.core.router import Router

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
REPO_KNOWLEDGE = Path(__file__).parent.parent / "knowledge"
REQUIRED_AGENCIES = {
    "dhs": None, "ice": "dhs", "ice-hsi": "ice", "ice-ero": "ice", "ice-opla": "ice", "ice-sevp": "ice",
    "ice-opr": "ice", "cbp": "dhs", "cbp-ofo": "cbp", "cbp-usbp": "cbp", "uscis": "dhs", "dhs-oig": "dhs",
    "dhs-crcl": "dhs", "dhs-oido": "dhs", "tsa": "dhs", "uscg": "dhs", "usss": "dhs", "state-dept": None,
    "doj": None, "doj-eoir": "doj", "doj-fbi": "doj", "doj-dea": "doj", "doj-atf": "doj", "hhs-orr": "*",
}


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A writable copy of the fixture table, to break on purpose."""
    target = tmp_path / "table"
    shutil.copytree(FIXTURE, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture changed: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    return caught.value.problems


def test_real_table_loads_with_required_agencies_and_aspects():
    knowledge = load_knowledge(REPO_KNOWLEDGE)
    for agency_id, parent in REQUIRED_AGENCIES.items():
        assert agency_id in knowledge.agencies, agency_id
        if parent != "*":
            assert knowledge.agencies[agency_id].parent == parent, agency_id
    assert set(knowledge.ice_aspects) == set(ICE_ASPECTS)
    assert len(knowledge.topics) >= 45


def test_real_table_topics_are_cited_and_short():
    knowledge = load_knowledge(REPO_KNOWLEDGE)
    for topic in knowledge.topics.values():
        assert topic.citations, topic.id
        assert len(topic.summary) <= SUMMARY_LIMIT, topic.id
        assert "[1]" in topic.summary, topic.id
        assert topic.aliases, topic.id
        for number in range(1, len(topic.citations) + 1):
            assert f"[{number}]" in topic.summary, f"{topic.id} cites {topic.source_ids[number - 1]} without a marker"
    for source in knowledge.sources.values():
        assert source.url.startswith("https://"), source.id


def test_real_table_every_source_is_cited():
    knowledge = load_knowledge(REPO_KNOWLEDGE)
    cited = {source for topic in knowledge.topics.values() for source in topic.source_ids}
    assert set(knowledge.sources) - cited == set()


def test_fixture_loads():
    knowledge = load_knowledge(FIXTURE)
    assert [agency.short for agency in knowledge.chain("ice-hsi")] == ["HSI", "ICE", "DHS"]
    assert knowledge.colour("ice-hsi") == 0x112E51
    assert knowledge.topics["human-trafficking"].localized("es").title == "Trata de personas"
    assert knowledge.topics["human-trafficking"].citations[0].quote.startswith("ICE is one of the primary")
    assert knowledge.topics["human-trafficking"].as_of == dt.date(2026, 5, 1)
    assert knowledge.agencies["ice-hsi"].localized("es").summary == "HSI investiga delitos que cruzan fronteras [1]."


def test_malformed_yaml_names_file_and_line(table: Path):
    edit(table / "topics" / "main.yaml", "    handler: ice-hsi", "    handler: [ice-hsi")
    problems = problems_of(table)
    assert len(problems) == 1
    assert problems[0].startswith(f"{table / 'topics' / 'main.yaml'}:")
    assert ": yaml: " in problems[0]


def test_every_problem_is_reported_at_once(table: Path):
    topics = table / "topics" / "main.yaml"
    edit(topics, "handler: ice-hsi", "handler: ice-nope")
    edit(topics, "      - source: ice-ero-about\n        quote: \"ERO manages all aspects of the immigration "
                 "enforcement process\"\n    related: [human-trafficking]",
         "      - source: nowhere\n        quote: \"no page says this\"\n    related: [ghost]")
    edit(table / "sources.yaml", "https://www.ice.gov/about-ice/ero", "http://www.ice.gov/about-ice/ero")
    edit(table / "agencies.yaml", "parent: dhs", "parent: nobody")
    problems = "\n".join(problems_of(table))
    assert f"{topics}:13: topic 'human-trafficking'.handler: unknown agency 'ice-nope'" in problems
    assert "topic 'detention'.citations: unknown source 'nowhere'" in problems
    assert "topic 'detention'.related: unknown topic 'ghost'" in problems
    assert f"{table / 'sources.yaml'}:10: source 'ice-ero-about'.url: must use https" in problems
    assert "agency 'ice'.parent: unknown agency 'nobody'" in problems


def test_duplicate_ids_and_aliases(table: Path):
    edit(table / "topics" / "main.yaml", "aliases: [detention, detention center, detencion]",
         "aliases: [detention, Trata de Personas!, detención]")
    edit(table / "sources.yaml", "id: ice-ero-about", "id: ice-human-trafficking")
    problems = "\n".join(problems_of(table))
    assert "'Trata de Personas!' is already an alias of topic 'human-trafficking'" in problems
    assert "source 'ice-human-trafficking'.id: duplicate source id" in problems


def test_unofficial_host_and_missing_citation(table: Path):
    edit(table / "sources.yaml", "https://www.ice.gov/factsheets/human-trafficking", "https://example.com/ice")
    edit(table / "topics" / "main.yaml", "    citations:\n      - source: ice-human-trafficking\n        quote: "
         "\"ICE is one of the primary federal law enforcement agencies ... call 866-347-2423\"\n", "")
    problems = "\n".join(problems_of(table))
    assert "host 'example.com' is not an official source" in problems
    assert "topic 'human-trafficking'.citations: is required" in problems
    assert "marker [1] has no matching entry in citations" in problems


def test_summary_limit_and_missing_marker(table: Path):
    long = "word " * 130 + "[1]"
    edit(table / "topics" / "main.yaml", "summary: ERO manages detention, bond and removal [1].", f"summary: {long}")
    edit(table / "topics" / "main.yaml", "summary: ICE enforces laws against cross-border crime and illegal "
         "immigration [1].", "summary: ICE enforces laws.")
    problems = "\n".join(problems_of(table))
    assert "summary has 653 characters; the limit is 600" in problems
    assert "topic 'ice-mission'.summary: summary cites nothing" in problems


def test_aspects_missing_and_unknown(table: Path):
    edit(table / "aspects.yaml", "  summary: ice-mission\n", "  summry: ice-mission\n")
    edit(table / "aspects.yaml", "hsi: human-trafficking", "hsi: hsi-topic")
    problems = "\n".join(problems_of(table))
    assert "ice_aspects.summry: unknown aspect" in problems
    assert "ice_aspects.summary: is missing" in problems
    assert "ice_aspects.hsi: unknown topic 'hsi-topic'" in problems


def test_agency_cycle_and_unknown_field(table: Path):
    edit(table / "agencies.yaml", "short: DHS", "short: DHS\n    parent: ice-hsi")
    edit(table / "topics" / "main.yaml", "title: ICE's mission", "title: ICE's mission\n    summery: typo")
    problems = "\n".join(problems_of(table))
    assert "the parents form a cycle" in problems
    assert "topic 'ice-mission'.summery: unknown field" in problems


def test_missing_directory_and_empty_file(tmp_path: Path, table: Path):
    assert "does not exist" in problems_of(tmp_path / "nowhere")[0]
    (table / "sources.yaml").write_text("", encoding="utf-8")
    problems = "\n".join(problems_of(table))
    assert "sources: the file must hold a top-level list 'sources:'" in problems


def test_knowledge_dir_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KNOWLEDGE_DIR", str(FIXTURE))
    assert len(load_knowledge().topics) == 3


def test_translation_problems(table: Path):
    es = table / "translations" / "es.yaml"
    edit(es, "trata de personas [1].", "trata de personas [2].")
    es.write_text(es.read_text() + "  ghost-topic:\n    title: Fantasma\n    summary: Nada [1].\n", encoding="utf-8")
    problems = "\n".join(problems_of(table))
    assert f"{es}:14: topics.human-trafficking.summary: marker [2] has no matching entry in citations" in problems
    assert "cites ['1', '2'] but the English summary cites ['1']" in problems
    assert "topics.ghost-topic: unknown topic" in problems


def test_translated_roles_name_only_involved_agencies(table: Path):
    es = table / "translations" / "es.yaml"
    edit(es, "      ice-ero: En realidad no", "      cbp: En realidad no")
    problems = "\n".join(problems_of(table))
    assert f"{es}:16: topics.human-trafficking.also.cbp: is not among the agencies involved" in problems


def test_answers_carry_the_translated_role():
    router = Router.load(FIXTURE)
    assert router.topic("human-trafficking", "es").also[0].role == "En realidad no; un rol de prueba."
    assert router.topic("human-trafficking", "en").also[0].role == "Not really; a fixture role."


def test_a_translation_file_cut_short_is_refused(table: Path):
    """A file saved half-way is valid YAML that lacks the last entries: refused, not answered in English."""
    es = table / "translations" / "es.yaml"
    text = es.read_text(encoding="utf-8")
    es.write_text(text[: text.index("  detention:")], encoding="utf-8")
    problems = "\n".join(problems_of(table))
    assert f"{es}:12: topics: 1 topic(s) have no es text (a file cut short?): detention" in problems
    assert "agencies: " not in problems   # a cut this early also lost the agencies: reported once, for the topics


def test_citations_need_their_quote_and_phone_numbers_their_source(table: Path):
    topics = table / "topics" / "main.yaml"
    edit(topics, "        quote: \"ERO enforces the nation's immigration laws\"\n", "")
    edit(topics, "... call 866-347-2423", "... call the tip line")
    problems = "\n".join(problems_of(table))
    assert f"{topics}:7: topic 'ice-mission'.citations: [1] ice-ero-about has no quote" in problems
    assert "topic 'human-trafficking'.summary: the phone number 866-347-2423 appears in no quote" in problems
    assert "topics.human-trafficking.summary: the phone number 866-347-2423 appears in no quote" in problems
    edit(table / "agencies.yaml", "    summary: ERO arrests, detains and removes [1].\n", "")
    assert "agency 'ice-ero'.summary: is required: the agency-level answer" in "\n".join(problems_of(table))


def test_citation_shape_and_unused_citations(table: Path):
    topics = table / "topics" / "main.yaml"
    edit(topics, "      - source: ice-ero-about\n        quote: \"ERO manages all", "      - source: ice-ero-about\n"
         "        quote: \"ERO manages\"\n      - source: ice-human-trafficking\n        quote: \"ERO manages all")
    edit(topics, "    citations:\n      - source: ice-ero-about\n        quote: \"ERO enforces",
         "    citations:\n      - ice-ero-about\n      - source: ice-ero-about\n        qoute: \"ERO enforces")
    problems = "\n".join(problems_of(table))
    assert "topic 'detention'.summary: citation(s) [2] are never cited in the summary" in problems
    assert "topic 'ice-mission'.citations: entry 1 must be a mapping with a source id and its quote" in problems
    assert "entry 2 has unknown field(s) qoute (allowed: source, quote)" in problems


def test_stale_lists_volatile_topics_older_than_six_months():
    knowledge = load_knowledge(FIXTURE)
    assert [topic.id for topic in knowledge.stale(dt.date(2026, 11, 2))] == ["human-trafficking"]
    assert knowledge.stale(dt.date(2026, 10, 31)) == []


def test_hostile_files_are_refused_with_file_and_line(table: Path):
    """A FIFO, a device, a file too large, absurd nesting and keys that are not words: each named, none raised."""
    import os
    topics = table / "topics"
    os.mkfifo(topics / "fifo.yaml")
    (topics / "zero.yaml").symlink_to("/dev/zero")
    (topics / "deep.yaml").write_text("topics: " + "[" * 20_000, encoding="utf-8")
    (topics / "keys.yaml").write_text("topics:\n  - ? [a, b]\n    : c\n", encoding="utf-8")
    (topics / "huge.yaml").write_text("# padding\n" * 600_000, encoding="utf-8")
    edit(table / "aspects.yaml", "hsi: human-trafficking", "hsi: [human-trafficking]")
    problems = "\n".join(problems_of(table))
    assert f"{topics / 'fifo.yaml'}:1: file: cannot be read: " in problems and "not a regular file" in problems
    assert f"{topics / 'zero.yaml'}:1: file: cannot be read: " in problems
    assert f"{topics / 'deep.yaml'}:1: yaml: " in problems   # libyaml refuses the depth; the Python parser recurses
    assert f"{topics / 'keys.yaml'}:2: yaml: a key must be a plain word or text" in problems
    assert "is more than the 5,000,000 a table file may have" in problems
    assert "ice_aspects.hsi: must name one topic id" in problems


def test_real_table_speaks_spanish_for_every_topic_and_role():
    knowledge = load_knowledge(REPO_KNOWLEDGE)
    assert knowledge.untranslated("es") == []
    for topic in knowledge.topics.values():
        spanish = topic.translations["es"]
        assert spanish.summary != topic.summary, topic.id
        assert {agency for agency, _ in spanish.roles} == {item.agency for item in topic.also}, topic.id


def _luminance(colour: int) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(colour >> 16) + 0.7152 * channel((colour >> 8) & 0xFF) + 0.0722 * channel(colour & 0xFF)


@pytest.mark.parametrize("background", [0x2B2D31, 0xF2F3F5], ids=["dark", "light"])
def test_every_colour_stripe_stands_out_on_discord_themes(background: int):
    """The stripe is how a reader tells an ICE answer from a USCIS one at a glance: at least 3:1 on both themes."""
    knowledge = load_knowledge(REPO_KNOWLEDGE)
    for agency_id in knowledge.agencies:
        colour = knowledge.colour(agency_id)
        assert colour is not None, agency_id
        light, dark = sorted((_luminance(colour), _luminance(background)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 3.0, f"{agency_id} #{colour:06x} on #{background:06x}"


def test_real_table_covers_the_long_tail_and_every_office():
    """At least 150 topics, every office the handler of at least three, each with its own cited answer in English
    and Spanish for questions that fit no topic."""
    knowledge = load_knowledge(REPO_KNOWLEDGE)
    assert len(knowledge.topics) >= 150
    for agency in knowledge.agencies.values():
        assert len(knowledge.topics_handled_by(agency.id)) >= 3, agency.id
        assert agency.summary and agency.citations and all(c.quote for c in agency.citations), agency.id
        assert agency.localized("es").summary != agency.summary, agency.id
