"""The matcher: exact aliases, sentences, typos, out-of-scope questions, doubt, and autocomplete."""

from __future__ import annotations

import pytest

from bot.core.matching import OUTSIDE, SUGGEST_LIMIT, Entry, Fitted, Matcher, OfficeWords, stem
from bot.core.router import Router

HOSTILE = [
    "",
    " \t\n ",
    "x" * 20_000,
    "trafficking " * 2_000,
    "\x00\x01\x02\x1b[31m",
    "@everyone @here <@123456789012345678>",
    "**bold** __under__ `code` ||spoiler|| > quote",
    "\u202e\u200f\u200b",
    "ＴＲＡＦＦＩＣＫＩＮＧ",
    "🙂🙃" * 100,
    "ñ" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.load()


def resolve(router: Router, query: str):
    resolution = router.resolve(query)
    best = resolution.best if resolution.status != "none" else None
    return resolution.status, best.handler if best else None


@pytest.mark.parametrize(
    ("query", "handler"),
    [
        ("trafficking", "ice-hsi"),
        ("Human Trafficking", "ice-hsi"),
        ("trata de personas", "ice-hsi"),
        ("trafficing", "ice-hsi"),
        ("287g", "ice"),
        ("287(g)", "ice"),
        ("i9", "ice-hsi"),
        ("I-9 audit", "ice-hsi"),
        ("e-verify", "uscis"),
        ("the workers at that restaurant never leave and their boss holds their passports", "ice-hsi"),
        ("they took my uncle this morning, which jail is he in", "ice-ero"),
        ("immigration court", "doj-eoir"),
        ("permiso de trabajo", "uscis"),
        ("orden de deportación", "ice-ero"),
        ("greencard", "uscis"),
        ("sevis", "ice-sevp"),
    ],
)
def test_real_questions(router: Router, query: str, handler: str):
    status, got = resolve(router, query)
    assert status in ("match", "ambiguous"), status
    assert got == handler or (handler == "ice" and got in {"ice", "ice-ero"})


@pytest.mark.parametrize(
    "query", ["ice skating rink hours", "black ice warning", "speeding ticket", "ice cream near me",
              "weather tomorrow", "asdfgh", "how do I file my taxes"],
)
def test_out_of_scope(router: Router, query: str):
    assert router.resolve(query).status == "none"


@pytest.mark.parametrize("query", ["hello", "hi!", "thanks", "what can you do?", "hola", "gracias", "good morning"])
def test_greetings_and_thanks_get_the_help_message(router: Router, query: str):
    """Nothing to route: the answer says what the bot covers, not that the question is not covered."""
    answer = router.ask(query)
    assert answer.status == "help"
    assert "immigration, customs or cross-border crime" in answer.help_text


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_input_gets_an_answer(router: Router, query: str):
    answer = router.ask(query)
    assert answer.status in ("match", "ambiguous", "none", "help")
    assert router.suggest(query) is not None


def test_empty_query_is_none_without_candidates(router: Router):
    resolution = router.resolve("   ")
    assert resolution.status == "none" and resolution.candidates == ()


def test_exact_alias_beats_fuzzy():
    matcher = Matcher([Entry("a", "x", ("ero",)), Entry("b", "y", ("era", "error"))])
    assert matcher.resolve("ERO").best.topic == "a"


def test_suggest_prefix_first_and_bounded(router: Router):
    found = router.suggest("traf")
    assert found and found[0] == router.resolve("human trafficking").best.topic
    assert len(router.suggest("")) == SUGGEST_LIMIT
    assert len(router.suggest("a")) <= SUGGEST_LIMIT
    assert router.suggest("deport")
    assert router.suggest("tarjeta")


def test_stem():
    assert stem("passports") == "passport"
    assert stem("deportaciones") == "deportacion"
    assert stem("smuggling") == "smuggl"
    assert stem("ice") == "ice"


@pytest.mark.parametrize(("query", "topic"), [
    ("Who hears the case when someone is fighting deportation?", "immigration-court"),  # "fighting" is not "right"
    ("el TPS para hondurenos sigue vigente", "tps"),            # a name only one topic uses decides it
    ("missed my ice check in appointment", "ice-check-ins"),    # "check in" is one word
    ("my green card expired", "replace-green-card"),                    # "green card" counts whole, not word by word
])
def test_mechanisms_that_carry_real_questions(router: Router, query: str, topic: str):
    resolution = router.resolve(query)
    assert resolution.status != "none" and resolution.best.topic == topic, resolution


@pytest.mark.parametrize("query", [
    "lost my social security card, how do I get a replacement",
    "my Visa credit card charged me twice",
    "how do I ask my state parole officer to move my check-in day?",
    "customs and traditions of dia de los muertos",
])
def test_other_fields_that_share_our_words_are_refused(router: Router, query: str):
    assert router.resolve(query).status == "none"


def test_no_suggestions_when_only_a_generic_word_or_another_field_came_close(router: Router):
    assert router.resolve("ice skating rink hours").candidates == ()
    assert router.resolve("black ice warning").candidates == ()


def test_the_fitted_decision_answers_offers_or_refuses_by_its_thresholds():
    """Between the two fitted thresholds the best one to three candidates are offered, not answered."""
    entries = [Entry("affirmative", "uscis", ("affirmative asylum",), ("asylum office",)),
               Entry("defensive", "doj-eoir", ("asylum in court",), ("asylum judge",)),
               *(Entry(f"filler-{n}", "other", (f"topic number {n}",)) for n in range(40))]
    weights = {"score": 10.0}
    offering = Matcher(entries, fitted=Fitted(weights, -5.0, match=0.999, offer=0.001)).resolve("asylum case")
    assert offering.status == "ambiguous" and {c.topic for c in offering.candidates} == {"affirmative", "defensive"}
    answering = Matcher(entries, fitted=Fitted(weights, -5.0, match=0.001, offer=0.001)).resolve("asylum case")
    assert answering.status == "match"
    refusing = Matcher(entries, fitted=Fitted(weights, -5.0, match=0.999, offer=0.998)).resolve("asylum case")
    assert refusing.status == "none" and refusing.candidates == ()
    assert Matcher(entries).resolve("asylum case").status == "none"      # nothing fitted: only exact names
    assert Matcher(entries).resolve("asylum in court").status == "match"


def test_several_close_topics_of_one_office_are_answered_at_the_office_level():
    entries = [Entry("arrest", "ice-ero", ("ice arrest",)), Entry("detention", "ice-ero", ("ice detention",)),
               *(Entry(f"filler-{n}", "other", (f"topic number {n}",)) for n in range(40))]
    fitted = Fitted({"score": 10.0}, -5.0, match=0.999, offer=0.001)
    office = Matcher(entries, offices=["ice-ero"], fitted=fitted).resolve("ice")
    assert office.status == "match" and office.level == "agency" and office.best.handler == "ice-ero"
    without_answer = Matcher(entries, offices=[], fitted=fitted).resolve("ice")
    assert without_answer.level == "topic" and without_answer.status == "ambiguous"
    split = [Entry("arrest", "ice-ero", ("ice arrest",)), Entry("misconduct", "ice-opr", ("ice misconduct",)),
             *(Entry(f"filler-{n}", "other", (f"topic number {n}",)) for n in range(40))]
    two_offices = Matcher(split, offices=["ice", "ice-ero", "ice-opr"], fitted=fitted).resolve("ice")
    assert two_offices.level == "topic" and two_offices.status == "ambiguous"   # not collapsed into "ICE's area"


@pytest.mark.parametrize(("query", "in_scope"), [
    ("renovar pasaporte mexicano", False),
    ("do I need a visa for Canada on my H-1B", False),
    ("can I apply for a US visa in Mexico", True),         # a US visa at a consulate abroad is ours
    ("my mother in Peru needs a tourist visa to visit me", True),
])
def test_another_countrys_papers_are_not_ours(router: Router, query: str, in_scope: bool):
    assert (router.resolve(query).status != "none") == in_scope


@pytest.mark.parametrize("text", ["trafficking", "where is my uncle detained", "court date", "permiso de trabajo",
                                  "ice detained my dad where is he"])
def test_autocompletes_first_choice_is_what_sending_the_text_answers(router: Router, text: str):
    """On a phone the first suggestion is the one tapped: it must be the answer the same text would get (for an
    office-level answer, a topic of that office)."""
    sent = router.resolve(text)
    assert sent.status == "match", sent
    first = router.suggest(text)[0]
    assert first == sent.best.topic
    assert router.knowledge.topics[first].handler == sent.best.handler


def test_the_words_model_weighs_a_question_left_out_as_one_counted_without_it():
    """While fitting, each labelled question is weighed as if new: its own counts are left out exactly."""
    texts = [("picked up by ice at work", {"ice-ero": 1.0}), ("ice picked up my dad at home", {"ice-ero": 1.0}),
             ("my work permit at home", {"uscis": 1.0}), ("work permit dad", {"uscis": 0.5, "ice-ero": 0.5}),
             ("ice cream at work", {OUTSIDE: 1.0}), ("home ice cream", {OUTSIDE: 1.0})]
    left_out = ("work permit dad", {"uscis": 0.5, "ice-ero": 0.5})
    everything = OfficeWords.count(texts, smoothing=0.1)
    without = OfficeWords.count([text for text in texts if text != left_out], smoothing=0.1)
    question = left_out[0]
    as_new = without.probabilities(question)
    assert everything.probabilities(question, own=left_out[1]) == pytest.approx(as_new)
    assert everything.probabilities(question) != pytest.approx(as_new)   # counting it moves the answer


def test_the_words_model_learns_the_words_people_wrap_around_the_tables_names():
    """Words that no topic's name has ("picked up", "se lo llevaron") still point to the office whose labelled
    questions use them, and everyday words to no office."""
    texts = [("they picked up my brother this morning", {"ice-ero": 1.0}),
             ("se lo llevaron esta mañana y no sabemos donde esta", {"ice-ero": 1.0}),
             ("my interview notice never came in the mail", {"uscis": 1.0}),
             ("best pizza place open this morning", {OUTSIDE: 1.0})]
    words = OfficeWords.count(texts, smoothing=0.1)
    assert max(words.probabilities("picked up at the bus stop").items(), key=lambda kv: kv[1])[0] == "ice-ero"
    assert max(words.probabilities("se llevaron a mi vecino").items(), key=lambda kv: kv[1])[0] == "ice-ero"
    assert max(words.probabilities("pizza open late").items(), key=lambda kv: kv[1])[0] == OUTSIDE
    assert OfficeWords.from_json(words.to_json()).probabilities("interview notice") == pytest.approx(
        words.probabilities("interview notice"))
