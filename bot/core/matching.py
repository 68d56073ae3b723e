"""Match what a person typed to a topic of the routing table.

People type a keyword ("287g"), a misspelling ("trafficing"), Spanish ("trata de personas") or a whole anxious
sentence ("they took my uncle this morning, which jail is he in"). The matcher tries, in order:

1. an exact alias, after normalising and dropping filler words ("who handles human trafficking?");
2. weighted terms: every word of a topic's title, aliases and keywords is a term, weighted by how specific it is
   (inverse document frequency over topics); a query word matches a term exactly or, when it is long enough, by
   edit similarity (typos). A topic scores the share of the query's weight it explains, with a bonus for whole
   phrases ("never leave", "which jail").

Unknown words count against a topic, which is what keeps "ice skating rink hours" out: "ice" explains little of
that sentence. The thresholds below are named and tuned on tests/eval/queries.yaml (see tests/test_eval.py).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from bot.core.text import join_codes, normalise, squash

Status = Literal["match", "ambiguous", "none"]

# --- tuned on the evaluation set (tests/eval/queries.yaml); change them only with `./dev bench` figures --------
MATCH_SCORE = 45.0          # share of the query (0-100) a topic must explain to be a confident answer
SENTENCE_SCORE = 30.0       # ...or this much, when it explains two or more words of the question
MIN_EVIDENCE = 1.5          # and the absolute weight of what it explains (one specific word is ~3)
SUGGEST_SCORE = 20.0        # below a match, candidates above this are offered as "did you mean"
AMBIGUITY_MARGIN = 6.0      # a rival with another handler this close to the best makes the answer ambiguous
FUZZY_TOKEN_CUTOFF = 80.0   # edit similarity (0-100) for a misspelt word to count as a known term
FUZZY_SHORT_CUTOFF = 75.0   # the same for words of 4-5 letters, where one wrong letter already costs 20-25
FUZZY_MIN_LENGTH = 5        # shorter words must match exactly: "ero" is not a typo of "era", "morn" not of "modern"
FUZZY_OTHER_START_CUTOFF = 88.0  # ...for a misspelt word whose first letter differs from the term's
FUZZY_TERMS = 5             # how many known terms a misspelt word may stand for
FUZZY_MIN_LENGTH_SHORT = 4  # ...except in a query of one or two words, where a typo is all there is to go on
UNKNOWN_WEIGHT = 2.0        # weight of a word the table does not know at all
MAX_UNKNOWN_WORDS = 3       # how many unknown words count against a topic, however long the question
PHRASE_WORD_FACTOR = 0.5    # ...and words the table only uses inside phrases, when they stand alone in a question
GENERIC_FACTOR = 0.25       # words that name the whole domain carry little signal about which topic
PHRASE_BONUS = 1.0          # extra weight, as a share of its words' weight, for a multi-word alias found whole
LONE_WORD_SCORE = 65.0      # a topic that explains one word of the query needs at least this score
NEAR_NAME = 90.0            # a query this close (0-100) to a whole name is that name, misspelt
CLOSE_NAME = 85.0           # ...unless the whole query is this close (0-100) to one of the topic's names
MIN_WORD_WEIGHT = 1.5       # a word explained with less weight than this (a generic word) does not count as one
MAX_QUERY_TOKENS = 24       # the rest of a pasted essay is ignored
RERANK_LIMIT = 64            # ...widened to include ties with the last, up to this many
RERANK_DEPTH = 16           # how many of the best term scores are re-scored against whole names
SIGNAL_BOOST = 4.0          # a topic's signal words ("complain", "bribe") weigh this much more for that topic
HANDLER_SHARE = 0.5         # share of a topic's term score that comes from all topics of its handler together
NAME_WEIGHT = 0.3           # share of the final score that comes from the closest whole name (edit similarity)
MAX_CANDIDATES = 5
SUGGEST_LIMIT = 25          # Discord's limit on autocomplete choices

# Everyday words that mean something here only inside a name: "card" alone is any card, "green card" is ours.
# They weigh like generic words alone and fully within a phrase.
NAME_ONLY_TERMS = frozenset({"card", "cards", "tarjeta", "green", "verde", "lost", "replacement", "replace"})

# Words that put a question in another field (traffic court, taxes, rent): they count heavily against every topic,
# so "court date for a parking ticket" is not read as an immigration hearing. As written or as stemmed.
OFF_TOPIC = frozenset({
    "ticket", "parking", "speeding", "insurance", "tax", "taxe", "irs", "rent", "landlord", "divorce", "recipe",
    "weather", "game", "movie", "shirt", "printing", "collie", "puppy", "puppie", "dog", "stamp", "pothole", "noise",
    "usp", "renta", "clima", "receta", "perro", "retirement", "pension", "medicare", "medicaid", "unemployment",
    "stimulus", "desempleo", "cream", "skating", "skate", "rink", "hockey", "cube", "dui", "dwi", "debit", "loan",
    "mortgage", "lease", "bike", "bicycle", "traditions", "tradition", "deuda", "prestamo", "cobija", "lyrics", "song",
    "songs", "stock", "stocks", "homework", "pizza", "haircut", "tattoo", "wifi", "password", "netflix", "minecraft",
    "fortnite", "football", "soccer", "nba", "nfl", "snow", "storm", "outage", "fridge", "freezer", "cocktail",
    "coffee", "airline", "airlines", "pelo", "tatuaje", "cancion", "futbol", "hielo", "dmv", "season", "episode",
    "iphone", "lounge", "layover", "daffodils", "zoll",
})
# Another country's papers are that country's business: a Venezuelan passport, Spanish citizenship, a visa for Canada.
_NATIONS = (
    "mexican|mexicano|mexicana|venezuelan|venezolano|venezolana|chinese|chino|china|indian|filipino|filipina|"
    "guatemalan|guatemalteco|guatemalteca|honduran|hondureno|hondurena|salvadoran|salvadoreno|salvadorena|"
    "colombian|colombiano|colombiana|cuban|cubano|cubana|dominican|dominicano|dominicana|brazilian|brasileno|"
    "peruvian|peruano|peruana|ecuadorian|ecuatoriano|ecuatoriana|nicaraguan|nicaraguense|haitian|haitiano|"
    "spanish|espanol|espanola|italian|italiano|italiana|irish|german|aleman|alemana|british|canadian|canadiense|"
    "nigerian|ukrainian|ucraniano|afghan|afgano"
)
_COUNTRIES = (
    "mexico|venezuela|china|india|philippines|filipinas|guatemala|honduras|el salvador|colombia|cuba|brazil|brasil|"
    "peru|ecuador|nicaragua|haiti|spain|espana|italy|italia|ireland|irlanda|germany|alemania|canada|uk|"
    "united kingdom|nigeria|ukraine|ucrania|afghanistan"
)
FOREIGN_PAPERS = re.compile(
    rf"\b(?:(?:{_NATIONS}) (?:passport|consulate|citizenship|embassy)|"
    rf"(?:pasaporte|consulado|ciudadania|embajada) (?:{_NATIONS})|"
    rf"(?:citizenship|citizen|passport|elections?) (?:of|for|in) (?:{_COUNTRIES})|visa (?:for|to) (?:{_COUNTRIES})|"
    rf"(?:ciudadania|pasaporte|elecciones) (?:de|para|en) (?:{_COUNTRIES})|visa (?:de|para) (?:{_COUNTRIES}))\b"
)

# Names of other things that contain our words: a "social security card" is no green card, a "parole officer" no
# advance parole.
OFF_TOPIC_PHRASES = re.compile(r"\b(?:" + "|".join((
    "social security card", "credit card bill", "credit card charged", "credit card limit", "credit card payment",
    "visa card", "visa credit card", "visa debit", "debit card", "report card", "gift card", "card game",
    "parole officer", "probation officer", "child custody", "custody of my kids", "custodia de mis hijos",
    "traffic court", "small claims", "raid boss", "school detention", "detention at school", "snow removal",
    "tattoo removal", "hair removal", "tarjeta de credito", "tarjeta de debito", "seguro social", "bono navideno",
    "aguinaldo", "fianza de arrendamiento", "deposito de renta", "asilo de ancianos", "nursing home",
    "pasaporte mexicano", "consulado mexicano", "matricula consular", "tps report", "overtime", "citizen science",
    "arkham asylum", "wedding customs", "customs and traditions", "hotel near", "hotels near", "hotel in",
    "magic the gathering", "court reporter", "car registration", "vehicle registration", "express entry", "uk visa",
    "uk visitor visa", "schengen visa", "visa de canada", "visa para canada", "canadian visa", "aduana de mexico",
    "aduana mexicana", "entrar a mexico", "fianza de deposito", "most wanted", "streaming", "wedding gift",
    "japanese wedding", "drivers license", "lock screen", "emergency contact", "canada customs", "customs in japan",
    "uk passport", "credit card fraud", "real estate", "suicide hotline", "transmission fluid", "atf fluid",
    "where to stream", "hospital billing", "medical bill", "hospital ombudsman", "licencia de manejo", "fafsa", "nlrb",
    "unfair labor practice", "labor union", "heat safety", "shipping company", "cancelled our cruise",
    "interstate compact", "brokerage software", "license to carry", "insane asylum", "licencia de manejar",
    "manejar borracho", "enroll my kids in school", "rn license", "nclex", "social security number", "ley de nietos",
    "border patrol museum", "osha", "ice futures", "futures exchange", "brent crude", "savings bond", "savings bonds",
    "james bond", "working papers", "selective service", "register to vote", "body cam", "lca", "labor certification",
    "prevailing wage", "german customs", "canada border services", "into canada", "enter mexico", "uk student visa",
    "in my garden", "multa de estacionamiento", "pagar una multa", "pagar la multa", "licencia de conducir",
)) + r")\b")
OFF_TOPIC_SCORE = 95.0      # with such a word, only an answer this sure is given
GENERIC_TERMS = frozenset({
    "ice", "immigration", "inmigracion", "immigrant", "inmigrante", "dhs", "agency", "agencia", "government",
    "gobierno", "federal", "department", "departamento", "office", "oficina", "us", "usa", "eeuu", "united",
    "states", "unidos", "estados", "america", "american", "law", "ley", "help", "ayuda", "question",
    # the neighbouring country, and everyday verbs and nouns that appear in many questions about anything
    "mexico", "mexican",
    "file", "apply", "call", "check", "contact", "number", "form", "process", "status", "security", "social",
})

STOPWORDS = frozenset("""
a about after again all am an and any are arent as at be because been before being but by can cant could
couldnt did didnt
do does doesnt doing dont for from get gets getting go going got had has have having he her here hers him his how
i id if im in into is isnt it its ive just know let like me might more most must my need needs no not now of off
on once one only or other our out over own please really right said say says see she should so some someone
something still such tell than thank thanks that thats the their them then there these they theyre thing this those
to too under until up very want wants was we were what whats when where which while who whom whose why will
with wont would wouldnt wasnt werent hasnt havent shouldnt youre youve you your yours handles handle handled deals deal
responsible charge
el la los las lo le les un una unos unas de del al a y o u que quien quienes donde como cuando cual cuales por
para con sin se su sus mi mis tu tus es son esta estan esto eso ese esa hay me te nos en ya muy mas pero si no
yo ella ellos ellas usted ustedes porque tengo tiene puedo puede hacer hace necesito quiero sobre q pa xq
whos hes shes wheres hows theres heres lets
actually even ever also maybe probably basically literally anyone anybody everyone people person guy guys lady
much many lot lots thing things stuff way ways
brother sister son daughter dad mom mother father parents wife husband uncle aunt cousin grandma grandpa
grandmother grandfather friend friends neighbor neighbour boyfriend girlfriend partner kid kids family relative
today tomorrow yesterday tonight morning night week weeks month months year years ago now lately recently
omg lol pls plz rn asap hi hey hello ok okay yes yeah like worried happened happening good great nice evening afternoon
folks everybody welcome buenos buenas dias tardes noches hola gracias test testing
anything nothing nobody everything somebody tell tells told telling wtf smh bro
dan da dar sirve ser estar tener van va
hermano hermana hijo hija papa mama padre madre esposo esposa marido tio tia primo prima abuela abuelo amigo amiga
vecino vecina novio novia familia hoy ayer manana noche semana semanas mes meses ano anos ahora
""".split())


# Plurals whose singular is another word: "goods" are wares, not "good"; "customs" is the agency, not a custom.
KEEP_PLURAL = frozenset({"goods", "customs", "arms", "papers", "means", "premises", "quarters"})


def stem(word: str) -> str:
    """A light English/Spanish plural and tense stripper; misspellings are left to fuzzy matching."""
    if len(word) <= 3 or not word.isalpha() or word in KEEP_PLURAL:
        return word
    for suffix, replacement in (("ies", "y"), ("ones", "on"), ("ches", "ch"), ("shes", "sh"), ("sses", "ss"),
                                ("xes", "x"), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def other_field_names(key: str) -> int:
    """How many names of other things (a "social security card", a Venezuelan passport) a normalised query holds."""
    return len(OFF_TOPIC_PHRASES.findall(key)) + len(FOREIGN_PAPERS.findall(key))


def is_off_topic(word: str) -> bool:
    """Whether a word of a question, as written or stemmed, belongs to another field."""
    return word in OFF_TOPIC or stem(word) in OFF_TOPIC


def without_filler(normalised: str) -> str:
    """The query with filler words removed but every letter kept: "what is a t visa" → "t visa"."""
    return " ".join(word for word in normalised.split() if word not in STOPWORDS)


def content_words(normalised: str) -> list[str]:
    """The words that carry meaning: no filler words, no lone letters (the "t" of "t visa" is matched whole)."""
    return [word for word in normalised.split() if len(word) > 1 and word not in STOPWORDS]


@dataclass(frozen=True, slots=True)
class Entry:
    """What the matcher needs of a topic: its id, handler, the names people use for it, and its keywords."""

    id: str
    handler: str
    names: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()   # words of intent that decide the topic even beside another agency's name


@dataclass(frozen=True, slots=True)
class Candidate:
    topic: str
    handler: str
    score: float


@dataclass(frozen=True, slots=True)
class Resolution:
    query: str
    status: Status
    candidates: tuple[Candidate, ...] = ()

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(slots=True)
class _Tally:
    terms: dict[int, float] = field(default_factory=dict)   # query word position → weight it explained
    phrases: int = 0                                        # extra words matched as part of a phrase
    bonus: float = 0.0                                      # weight added for whole phrases
    boosted: set[int] = field(default_factory=set)          # positions explained by one of the topic's signals

    @property
    def explained(self) -> float:
        return sum(self.terms.values()) + self.bonus

    def absorb(self, other: _Tally) -> None:
        """Merge another topic's tally into this handler's: each query word counts once, at its best."""
        for position, weight in other.terms.items():
            if weight > self.terms.get(position, 0.0):
                self.terms[position] = weight
        self.phrases = max(self.phrases, other.phrases)
        self.bonus = max(self.bonus, other.bonus)

    @property
    def words(self) -> int:
        """How many words of the query this topic explains, counting "never leave" as two; generic words such as
        "ice" do not count."""
        return sum(1 for weight in self.terms.values() if weight >= MIN_WORD_WEIGHT) + self.phrases


@dataclass(frozen=True, slots=True)
class _Scored:
    score: float      # 0-100
    evidence: float   # absolute weight explained
    words: int
    topic: str
    name_similarity: float = 0.0

    def order(self) -> tuple[float, float, str]:
        return (-self.score, -self.evidence, self.topic)


class Matcher:
    """An index over the table's names and keywords, built once; `resolve` and `suggest` only read it."""

    def __init__(self, entries: Iterable[Entry]):
        self.entries = {entry.id: entry for entry in entries}
        self._exact: dict[str, str] = {}
        self._topic_terms: dict[str, set[str]] = defaultdict(set)
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._names: list[tuple[str, str]] = []       # (normalised name, topic id), sorted, for prefix search
        self._content_names: dict[str, list[str]] = defaultdict(list)
        self._sorted_names: dict[str, list[str]] = defaultdict(list)   # the same, words in order, for reordering
        self._boost: dict[tuple[str, str], float] = {}
        self._word_starts: dict[str, set[str]] = defaultdict(set)
        standalone: set[str] = set()   # terms some topic lists on their own, not only inside a phrase

        for entry in self.entries.values():
            for name in entry.names:
                self._index_exact(normalise(name), entry.id)
            for text in (*entry.names, *entry.keywords, *entry.signals):
                words = tuple(stem(word) for word in content_words(join_codes(normalise(text))))
                self._topic_terms[entry.id].update(words)
                if len(words) > 1:
                    self._phrases[words[0]].append((words, entry.id))
                else:
                    standalone.update(words)
            for text in entry.signals:
                # A signal of several words ("ice hold", "afraid to go back") is a phrase: its words alone ("hold",
                # "back") are no intent, so only one-word signals boost (the phrase still counts as a phrase).
                words = content_words(join_codes(normalise(text)))
                if len(words) == 1:
                    self._boost[(stem(words[0]), entry.id)] = SIGNAL_BOOST
            for name in entry.names:
                key = normalise(name)
                self._names.append((key, entry.id))
                content = " ".join(content_words(key)) or key
                self._content_names[entry.id].append(content)
                self._sorted_names[entry.id].append(" ".join(sorted(content.split())))
                for word in key.split():
                    self._word_starts[word].add(entry.id)
        self._names.sort()

        topic_count = max(len(self.entries), 1)
        postings: dict[str, list[str]] = defaultdict(list)
        for topic_id, terms in self._topic_terms.items():
            for term in terms:
                postings[term].append(topic_id)
        self._postings = {term: tuple(sorted(topics)) for term, topics in postings.items()}
        self._phrase_weight = {
            term: math.log(1 + topic_count / len(topics)) * (GENERIC_FACTOR if term in GENERIC_TERMS else 1.0)
            for term, topics in self._postings.items()
        }
        # A word that the table only ever uses inside a phrase ("back" in "afraid to go back") says little alone.
        self._weight = {term: weight * (GENERIC_FACTOR if term in NAME_ONLY_TERMS else
                                        PHRASE_WORD_FACTOR if term not in standalone else 1.0)
                        for term, weight in self._phrase_weight.items()}
        self._fuzzy_vocabulary = sorted(term for term in self._postings if len(term) >= FUZZY_MIN_LENGTH)
        self._word_start_keys = sorted(self._word_starts)
        # One-word names that only one topic uses ("tps", "sevis", "i765", "287g"): a question that contains one is
        # about that topic, however many words of its own surround it ("el TPS para hondurenos sigue vigente").
        self._own_names: dict[str, str] = {}
        for entry in self.entries.values():
            for name in entry.names:
                token = join_codes(normalise(name))
                if token and " " not in token and token not in STOPWORDS and len(self._postings.get(token, ())) == 1:
                    self._own_names.setdefault(token, entry.id)

    def _index_exact(self, key: str, topic_id: str) -> None:
        for form in (key, without_filler(key), squash(key)):
            if form:
                self._exact.setdefault(form, topic_id)

    # --- resolve -----------------------------------------------------------------------------------------------

    def resolve(self, query: str) -> Resolution:
        key = normalise(query)
        if not key:
            return Resolution(query, "none")
        exact = self._exact_match(key)
        if exact is not None:
            entry = self.entries[exact]
            return Resolution(query, "match", (Candidate(entry.id, entry.handler, 100.0),))
        other_fields = other_field_names(key)
        ranked = self._rank(key, other_fields)
        off_topic = other_fields > 0 or any(map(is_off_topic, key.split()))
        named = {self._own_names[token] for token in join_codes(key).split() if token in self._own_names}
        resolution = self._decide(query, ranked, off_topic, named)
        if resolution.status == "none" and resolution.candidates and (off_topic or not self._names_something(key)):
            # "ice skating rink hours" and "black ice warning" share only a generic word with the table, or belong
            # to another field: a list of ICE topics as "did you mean" would only mislead.
            return Resolution(query, "none")
        return resolution

    def _names_something(self, key: str) -> bool:
        """Whether a word of the query is, or is a typo of, a term more specific than the domain's own words."""
        words = [stem(word) for word in content_words(join_codes(key))[:MAX_QUERY_TOKENS]]
        fuzzy_from = FUZZY_MIN_LENGTH_SHORT if len(words) <= 2 else FUZZY_MIN_LENGTH
        return any(term not in GENERIC_TERMS for word in words for term, _ in self._term_matches(word, fuzzy_from))

    def _exact_match(self, key: str) -> str | None:
        for form in (key, without_filler(key), squash(key)):
            topic_id = self._exact.get(form)
            if topic_id is not None:
                return topic_id
        return None

    def _rank(self, key: str, other_fields: int) -> list[_Scored]:
        """Topics by how much of the query they explain; `other_fields` is other_field_names(key)."""
        plain = content_words(join_codes(key))[:MAX_QUERY_TOKENS]
        words = [stem(word) for word in plain]
        if not words:
            return []
        total, unknown, off_topic = 0.0, 0, other_fields
        tallies: dict[str, _Tally] = defaultdict(_Tally)
        fuzzy_from = FUZZY_MIN_LENGTH_SHORT if len(words) <= 2 else FUZZY_MIN_LENGTH
        for position, word in enumerate(words):
            if is_off_topic(plain[position]):
                off_topic += 1
                continue
            matches = self._term_matches(word, fuzzy_from)
            if not matches:
                unknown += 1
                continue
            # A misspelt word is only partly explained: its full weight counts against every topic, its similarity
            # discounts what a topic gains from it. "trafficing" still fits; "black" is not quite "back".
            total += max(self._weight[term] for term, _ in matches)
            for term, similarity in matches:
                for topic_id in self._postings[term]:
                    # A signal is a word of intent as the asker wrote it; a typo's neighbour ("fight" ~ "right")
                    # is no intent at all.
                    boost = self._boost.get((term, topic_id), 1.0) if similarity == 1.0 else 1.0
                    gained = self._weight[term] * similarity * boost
                    tally = tallies[topic_id]
                    if gained > tally.terms.get(position, 0.0):
                        tally.terms[position] = gained
                        if boost > 1.0:
                            tally.boosted.add(position)
                        else:
                            tally.boosted.discard(position)
        for start, word in enumerate(words):
            for phrase, topic_id in self._phrases.get(word, ()):
                if tuple(words[start: start + len(phrase)]) == phrase:
                    # As informative as its words together: "ice hold" is specific where "ice" and "hold" alone are not.
                    bonus = PHRASE_BONUS * sum(self._phrase_weight.get(term, 0.0) for term in phrase)
                    tallies[topic_id].bonus += bonus
                    tallies[topic_id].phrases += len(phrase) - 1
                    total += bonus / 2
        # People wrap a question in words of their own ("my dad has been locked up for 3 weeks and nobody tells
        # us anything"): unknown words count against every topic, but only up to a point.
        total += UNKNOWN_WEIGHT * min(unknown + off_topic, MAX_UNKNOWN_WORDS)
        if total <= 0:
            return []
        # A signal word decides between agencies named in the same question ("a border patrol agent asked me for
        # a bribe"); alone ("noise complaint about my neighbors") it is just a word.
        explained_positions = {position for tally in tallies.values() for position in tally.terms}
        for tally in tallies.values():
            if tally.boosted and tally.boosted.issuperset(explained_positions):
                for position in tally.boosted:
                    tally.terms[position] /= SIGNAL_BOOST
                tally.boosted.clear()
        # The question is who handles it: words spread over several topics of one handler ("which part of ICE
        # arrests and deports people": arrest, deport) are evidence for that handler as a whole.
        handlers: dict[str, _Tally] = defaultdict(_Tally)
        for topic_id, tally in tallies.items():
            handlers[self.entries[topic_id].handler].absorb(tally)
        ranked = []
        for topic_id, tally in tallies.items():
            handler = handlers[self.entries[topic_id].handler]
            share = (1 - HANDLER_SHARE) * tally.explained + HANDLER_SHARE * handler.explained
            ranked.append(_Scored(min(100.0, 100.0 * share / total), handler.explained, handler.words, topic_id))
        ranked.sort(key=_Scored.order)
        return self._rerank(" ".join(plain), ranked)

    def _rerank(self, query: str, ranked: list[_Scored]) -> list[_Scored]:
        """Blend in how close the query is to a topic's nearest whole name: it separates topics that share the
        query's words, and rescues a query whose only distinctive word is misspelt beyond the term cutoff."""
        depth = RERANK_DEPTH
        if len(ranked) > depth:
            # Topics tied with the last one re-scored are re-scored too, so a cut never falls inside a tie.
            floor = ranked[depth - 1].score
            while depth < min(len(ranked), RERANK_LIMIT) and ranked[depth].score >= floor:
                depth += 1
        head = []
        sorted_query = " ".join(sorted(query.split()))
        for item in ranked[:depth]:
            similarity = self._name_similarity(query, sorted_query, item.topic)
            score = (1 - NAME_WEIGHT) * item.score + NAME_WEIGHT * similarity
            if similarity >= NEAR_NAME:   # the query is one of the topic's names but for a typo
                score = max(score, similarity)
            head.append(_Scored(score, item.evidence, item.words, item.topic, similarity))
        head.sort(key=_Scored.order)
        return head

    def _name_similarity(self, query: str, sorted_query: str, topic_id: str) -> float:
        """Edit similarity to the closest name, as typed or with words reordered ("visa student" ~ "student visa").

        The reordered comparison is token_sort_ratio's, with the names' words sorted once when the index is built
        instead of on every question."""
        return max(process.extractOne(query, self._content_names[topic_id], scorer=fuzz.ratio)[1],
                   process.extractOne(sorted_query, self._sorted_names[topic_id], scorer=fuzz.ratio)[1])

    def _term_matches(self, word: str, fuzzy_from: int) -> list[tuple[str, float]]:
        if word in self._postings:
            return [(word, 1.0)]
        if len(word) < fuzzy_from or not word.isalpha():
            return []
        cutoff = FUZZY_SHORT_CUTOFF if len(word) <= 5 else FUZZY_TOKEN_CUTOFF
        found = process.extract(word, self._fuzzy_vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff,
                                limit=FUZZY_TERMS * 2)
        # Typos rarely touch the first letter, and a word that differs there is usually another word ("fight" is
        # not "right"); a sound-alike start ("sitizenship") is accepted only when the rest is nearly the same.
        return [(term, score / 100.0) for term, score, _ in found
                if term[0] == word[0] or score >= FUZZY_OTHER_START_CUTOFF][:FUZZY_TERMS]

    def _decide(self, query: str, ranked: list[_Scored], off_topic: bool = False,
                named: frozenset[str] | set[str] = frozenset()) -> Resolution:
        candidates = tuple(
            Candidate(item.topic, self.entries[item.topic].handler, round(item.score, 1))
            for item in ranked[:MAX_CANDIDATES]
            if item.score >= SUGGEST_SCORE
        )
        if not candidates:
            return Resolution(query, "none")
        top = ranked[0]
        # One known word in a sentence of unknown ones ("how do I file my taxes") is not enough to answer.
        lone_word = top.words < 2 and top.score < LONE_WORD_SCORE and top.name_similarity < CLOSE_NAME
        # A long question explained in two or more of its words is answered even though much of it is the
        # asker's own story ("my dad has been locked up by immigration for 3 weeks and nobody tells us anything").
        well_explained = top.score >= MATCH_SCORE or (top.words >= 2 and top.score >= SENTENCE_SCORE)
        if top.topic in named:
            lone_word, well_explained = False, True
        if off_topic and top.score < OFF_TOPIC_SCORE:
            well_explained = False
        if not well_explained or top.evidence < MIN_EVIDENCE or lone_word:
            return Resolution(query, "none", candidates)
        best = candidates[0]
        rivals = [c for c in candidates[1:] if c.handler != best.handler and c.score >= best.score - AMBIGUITY_MARGIN]
        if rivals:
            close = tuple(c for c in candidates if c.score >= best.score - AMBIGUITY_MARGIN)
            return Resolution(query, "ambiguous", close)
        return Resolution(query, "match", candidates)

    # --- suggest -----------------------------------------------------------------------------------------------

    def suggest(self, prefix: str, limit: int = SUGGEST_LIMIT) -> list[str]:
        """Topic ids for autocomplete, best first: names starting with the text, then words starting with its
        last word, then whatever `resolve` ranks. Cheap enough to run on every keystroke."""
        key = normalise(prefix)
        chosen: dict[str, None] = {}

        def take(topic_ids: Iterable[str]) -> bool:
            for topic_id in topic_ids:
                chosen.setdefault(topic_id)
                if len(chosen) >= limit:
                    return True
            return False

        if not key:
            take(self.entries)
            return list(chosen)
        if take(self._names_starting(key)):
            return list(chosen)
        last = key.rsplit(" ", 1)[-1]
        start = bisect_left(self._word_start_keys, last)
        for word in self._word_start_keys[start:]:
            if not word.startswith(last):
                break
            if take(sorted(self._word_starts[word])):
                return list(chosen)
        take(item.topic for item in self._rank(key, other_field_names(key)) if item.topic not in chosen)
        return list(chosen)

    def _names_starting(self, key: str) -> list[str]:
        """Topics with a name that starts with `key`, the closest (shortest) name first."""
        start = bisect_left(self._names, (key, ""))
        found = []
        for name, topic_id in self._names[start:]:
            if not name.startswith(key):
                break
            found.append((len(name), topic_id))
        return [topic_id for _, topic_id in sorted(found)]
