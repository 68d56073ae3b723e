"""Match what a person typed to a topic of the routing table.

People type a keyword ("287g"), a misspelling ("trafficing"), Spanish ("trata de personas") or a whole anxious
sentence ("they took my uncle this morning, which jail is he in"). The matcher tries, in order:

1. an exact alias, after normalising and dropping filler words ("who handles human trafficking?");
2. weighted terms: every word of a topic's title, aliases and keywords is a term, weighted by how specific it is
   (inverse document frequency over topics); a query word matches a term exactly or, when it is long enough, by
   edit similarity (typos). A topic scores the share of the query's weight it explains, with a bonus for whole
   phrases ("never leave", "which jail"). Unknown words count against a topic: "ice" explains little of "ice
   skating rink hours";
3. a words model learned from labelled questions (OfficeWords) weighs each topic's office, or no office, by all the
   question's words, including those no name has; a topic's score blends the two;
4. a fitted logistic decision answers, offers a choice, or refuses (Fitted).

The ranker's weights below are hand-set; everything from 3 on is fitted by bench/fit_matcher.py.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from itertools import pairwise
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

from bot.core.text import join_codes, normalise, squash

Status = Literal["match", "ambiguous", "none", "help"]
Level = Literal["topic", "agency"]

# --- the ranker's weights: how much each kind of evidence counts towards a topic --------------------------------
# These stay hand-set: they shape what counts as evidence (a typo, a phrase, a word the domain uses everywhere), not
# what to do with it. The decision on top of them (answer, offer, refuse) is fitted from the labelled sets and absorbs
# their scale; fitting them as well is the next step, and any change must keep `./dev test tests/test_eval.py` green.
SUGGEST_SCORE = 20.0        # candidates above this share of the query (0-100) may be offered
AMBIGUITY_MARGIN = 6.0      # candidates this close to the best count as close
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
NEAR_NAME = 90.0            # a query this close (0-100) to a whole name is that name, misspelt
MIN_WORD_WEIGHT = 1.5       # a word explained with less weight than this (a generic word) does not count as one
MAX_QUERY_TOKENS = 24       # the rest of a pasted essay is ignored
RERANK_LIMIT = 64            # ...widened to include ties with the last, up to this many
RERANK_DEPTH = 16           # how many of the best term scores are re-scored against whole names
SIGNAL_BOOST = 4.0          # a topic's signal words ("complain", "bribe") weigh this much more for that topic
HANDLER_SHARE = 0.5         # share of a topic's term score that comes from all topics of its handler together
NAME_WEIGHT = 0.3           # share of the final score that comes from the closest whole name (edit similarity)
MAX_CANDIDATES = 5
OFFER_LIMIT = 3             # "Is this what you mean?" offers at most this many choices...
OFFER_MARGIN = 15.0         # ...each within this many points (0-100) of the best, so none is offered for show
SUGGEST_LIMIT = 25          # Discord's limit on autocomplete choices
# Whether to answer, offer or refuse is not set here: the fitted model (fitted.json) decides, see Fitted.
# Without a fitted model (a table nobody fitted) only exact names are answered: nothing is guessed.
FALLBACK_WEIGHTS: dict[str, float] = {}
FITTED_NAME = "fitted.json"   # beside the table it was fitted on (bench/fit_matcher.py writes it)

# Everyday words that mean something here only inside a name: "card" alone is any card, "green card" is ours.
# They weigh like generic words alone and fully within a phrase.
NAME_ONLY_TERMS = frozenset({"card", "cards", "tarjeta", "green", "verde", "lost", "replacement", "replace"})

# Words that name the whole domain or that any question uses ("immigration", "office", "apply"): they weigh a
# quarter. Hand-set like the weights above, for the same reason: they describe how evidence counts, not a decision.
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
    level: Level = "topic"    # "agency": offer the handler's agency-level answer rather than the topic


@dataclass(frozen=True, slots=True)
class Resolution:
    query: str
    status: Status
    candidates: tuple[Candidate, ...] = ()
    level: Level = "topic"
    confidence: float | None = None   # the fitted model's probability that the best candidate is right

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


@dataclass(frozen=True, slots=True)
class Features:
    """What the decision weighs about a question's best candidate, each scaled to about 0-1."""

    score: float = 0.0        # the share of the question the candidate explains
    name: float = 0.0         # closeness of the question to one of the candidate's names
    evidence: float = 0.0     # how much specific vocabulary of the candidate's office the question uses
    words: float = 0.0        # how many of the question's words it explains (up to 3)
    margin: float = 0.0       # its lead over the best candidate of another office
    named: float = 0.0        # 1 when the question names the candidate by a name no other topic has
    office: float = 0.0       # how likely the words model finds the candidate's office
    outside: float = 0.0      # how likely it finds that no office handles the question
    length: float = 0.0       # how long the question is (up to 12 content words)


OUTSIDE = ""   # the class of questions that no office handles


class OfficeWords:
    """Which office a question's words point to, or none: a multinomial naive Bayes model over its words and pairs
    of neighbouring words. The counts come from labelled texts (the table's names, the labelled questions of the
    fitting and training sets, and the everyday look-alikes of out-of-scope.yaml), are fitted by
    bench/fit_matcher.py and kept in fitted.json; no word list decides what belongs where. The ranker's weights see
    only the table's words; this model also learns the words people wrap around them ("picked up", "se lo
    llevaron", "my shipment")."""

    def __init__(self, counts: Mapping[str, Mapping[str, float]] | None = None,
                 documents: Mapping[str, float] | None = None, smoothing: float = 0.1):
        self.counts = {gram: dict(row) for gram, row in (counts or {}).items()}
        self.documents = dict(documents or {})
        self.smoothing = smoothing
        self.classes = tuple(sorted(self.documents))
        self.totals = dict.fromkeys(self.classes, 0.0)
        for row in self.counts.values():
            for name, count in row.items():
                self.totals[name] += count
        size = len(self.counts) or 1
        all_documents = sum(self.documents.values()) or 1.0
        self._prior = {name: math.log(max(self.documents[name], 1e-9) / all_documents) for name in self.classes}
        # Every known word adds each class's "unseen" weight, and the classes it was seen with a little more: kept
        # apart, a question costs one pass over its words' few classes rather than over every class.
        self._unseen = {name: -math.log(self.totals[name] + smoothing * size) + math.log(smoothing)
                        for name in self.classes}
        self._seen = {gram: {name: math.log((count + smoothing) / smoothing) for name, count in row.items()}
                      for gram, row in self.counts.items()}

    @classmethod
    def count(cls, labelled: Iterable[tuple[str, Mapping[str, float]]], smoothing: float) -> OfficeWords:
        """`labelled`: (text, weight per class) pairs; a question two offices may answer counts half for each."""
        counts: dict[str, dict[str, float]] = defaultdict(dict)
        documents: dict[str, float] = defaultdict(float)
        seen: Counter[str] = Counter()
        for text, classes in labelled:
            present = set(grams(every_term(text)))
            seen.update(present)
            for name, weight in classes.items():
                documents[name] += weight
                for gram in present:
                    row = counts[gram]
                    row[name] = row.get(name, 0.0) + weight
        # A pair of words seen in one text only says nothing a new question can use (and would only be its own).
        kept = {gram: row for gram, row in counts.items() if " " not in gram or seen[gram] > 1}
        return cls(kept, documents, smoothing)

    def probabilities(self, text: str, own: Mapping[str, float] | None = None) -> dict[str, float]:
        """P(class | the question's words) for every office and OUTSIDE. `own`: while fitting, the question's own
        label, whose counts are left out as if it were new."""
        present = [gram for gram in set(grams(every_term(text))) if gram in self.counts]
        if own:
            scores = self._scores_without(present, own)
        else:
            scores = {name: self._prior[name] + len(present) * self._unseen[name] for name in self.classes}
            for gram in present:
                for name, weight in self._seen[gram].items():
                    scores[name] += weight
        if not scores:
            return {}
        top = max(scores.values())
        exp = {name: math.exp(score - top) for name, score in scores.items()}
        total = sum(exp.values())
        return {name: value / total for name, value in exp.items()}

    def _scores_without(self, present: list[str], own: Mapping[str, float]) -> dict[str, float]:
        """The scores a model counted without this question would give it. Each labelled text's weights add up to
        one, so a row's sum is how many texts have that word; a word only this text had, or a pair of words only one
        other text has (see `count`), leaves the vocabulary with it."""
        totals = {name: total - own.get(name, 0.0) * len(present) for name, total in self.totals.items()}
        kept = []
        for gram in present:
            row = self.counts[gram]
            if sum(row.values()) - 1 < (1.5 if " " in gram else 0.5):
                for name, count in row.items():
                    totals[name] -= count - own.get(name, 0.0)
            else:
                kept.append(gram)
        size = (len(self.counts) - (len(present) - len(kept))) or 1
        all_documents = sum(self.documents.values()) - sum(own.values())
        scores = {}
        for name in self.classes:
            documents = self.documents[name] - own.get(name, 0.0)
            if documents <= 0:
                continue
            score = math.log(documents / all_documents)
            for gram in kept:
                count = self.counts[gram].get(name, 0.0) - own.get(name, 0.0)
                score += math.log((max(count, 0.0) + self.smoothing) / (totals[name] + self.smoothing * size))
            scores[name] = score
        return scores

    def to_json(self) -> dict:
        def rounded(row: Mapping[str, float]) -> dict[str, float]:
            return {name: round(count, 3) for name, count in sorted(row.items())}

        return {"smoothing": self.smoothing, "documents": rounded(self.documents),
                "counts": {gram: rounded(row) for gram, row in sorted(self.counts.items())}}

    @classmethod
    def from_json(cls, data: Mapping) -> OfficeWords:
        return cls(data.get("counts"), data.get("documents"), data.get("smoothing", 0.1))


def _log_odds(this: float, that: float) -> float:
    """log(this / that), scaled to -1..1: the words model is sure of itself, and the decision weighs how sure."""
    return max(-1.0, min(1.0, math.log((this + 1e-9) / (that + 1e-9)) / 20))


def every_term(text: str) -> list[str]:
    """A text as the words model reads it: every word stemmed, filler included ("where", "who", "how much" say what
    is asked), up to twice the ranker's limit."""
    return [stem(word) for word in join_codes(normalise(text)).split()[:MAX_QUERY_TOKENS * 2]]


def query_terms(key: str) -> list[str]:
    """The words of a normalised query that the matcher weighs, stemmed, up to its limit."""
    return [stem(word) for word in content_words(join_codes(key))[:MAX_QUERY_TOKENS]]


def grams(terms: list[str]) -> list[str]:
    """A question's words and its pairs of neighbouring words ("parole officer", "custom mugs")."""
    return [*terms, *(f"{a} {b}" for a, b in pairwise(terms))]


FEATURE_NAMES = tuple(item.name for item in fields(Features))


@dataclass(frozen=True)
class Fitted:
    """A logistic model of "the best candidate is right" and the two thresholds that turn it into an answer, an
    offer of choices, or no answer. Fitted by bench/fit_matcher.py on the labelled sets, never set by hand."""

    weights: Mapping[str, float]
    bias: float
    match: float      # at or above this probability the best candidate is answered
    offer: float      # at or above this (and below match) the best one to three are offered
    words: OfficeWords = field(default_factory=OfficeWords)
    blend: float = 0.0   # share of a candidate's score that comes from the words model's belief in its office

    def __post_init__(self) -> None:
        # The weights in the order of Features' fields, so that weighing a question is one pass over a tuple.
        object.__setattr__(self, "_ordered", tuple(self.weights.get(name, 0.0) for name in FEATURE_NAMES))

    def confidence(self, features: Features) -> float:
        total = self.bias + sum(weight * getattr(features, name)
                                for weight, name in zip(self._ordered, FEATURE_NAMES, strict=True))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, total))))

    @classmethod
    def load(cls, path: Path) -> Fitted:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["bias"], data["match"], data["offer"],
                   OfficeWords.from_json(data.get("words", {})), data.get("blend", 0.0))

    @staticmethod
    def feature_names() -> list[str]:
        return list(FEATURE_NAMES)


class Matcher:
    """An index over the table's names and keywords, built once; `resolve` and `suggest` only read it."""

    def __init__(self, entries: Iterable[Entry], *, offices: Iterable[str] = (), fitted: Fitted | None = None):
        """`offices`: the agencies that have an agency-level answer to give."""
        self.entries = {entry.id: entry for entry in entries}
        self.offices = frozenset(offices)
        self.fitted = fitted or Fitted(FALLBACK_WEIGHTS, 0.0, 1.0, 1.0)
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
        if not content_words(key):
            # "hi", "thanks!", "what can you do?": nothing to route, so the answer is what the bot is for.
            return Resolution(query, "help")
        exact = self._exact_match(key)
        if exact is not None:
            entry = self.entries[exact]
            return Resolution(query, "match", (Candidate(entry.id, entry.handler, 100.0),))
        ranked, offices = self.weigh(key)
        return self._decide(query, ranked, self.features(key, ranked, offices))

    def weigh(self, key: str, own: Mapping[str, float] | None = None,
              blend: float | None = None) -> tuple[list[_Scored], dict[str, float]]:
        """Topics by how well they fit a normalised query: the share of it the ranker explains, blended with the
        words model's belief in each topic's office; and that belief (`own` and `blend`: for fitting)."""
        offices = self.fitted.words.probabilities(key, own)
        blend = self.fitted.blend if blend is None else blend
        ranked = [replace(item, score=(1 - blend) * item.score
                          + blend * 100 * offices.get(self.entries[item.topic].handler, 0.0))
                  for item in self._rank(key)]
        ranked.sort(key=_Scored.order)
        return ranked, offices

    def named(self, key: str) -> set[str]:
        """Topics the normalised query names by a one-word name that no other topic has ("tps", "sevis", "i765")."""
        return {self._own_names[token] for token in join_codes(key).split() if token in self._own_names}

    @staticmethod
    def features_from(values: list[float]) -> Features:
        return Features(*values)

    def features(self, key: str, ranked: list[_Scored], offices: Mapping[str, float]) -> Features:
        """What the fitted decision weighs about the best candidate of a normalised query."""
        if not ranked:
            return Features()
        top = ranked[0]
        handler = self.entries[top.topic].handler
        rival = next((item.score for item in ranked[1:] if self.entries[item.topic].handler != handler), 0.0)
        outside = offices.get(OUTSIDE, 0.0)
        return Features(
            score=top.score / 100, name=top.name_similarity / 100, evidence=min(top.evidence, 6.0) / 6,
            words=min(top.words, 3) / 3, margin=(top.score - rival) / 100, named=float(top.topic in self.named(key)),
            office=offices.get(handler, 0.0), outside=_log_odds(outside, 1 - outside),
            length=min(len(query_terms(key)), 12) / 12,
        )

    def _exact_match(self, key: str) -> str | None:
        for form in (key, without_filler(key), squash(key)):
            topic_id = self._exact.get(form)
            if topic_id is not None:
                return topic_id
        return None

    def _rank(self, key: str) -> list[_Scored]:
        """Topics by how much of the query they explain."""
        plain = content_words(join_codes(key))[:MAX_QUERY_TOKENS]
        words = [stem(word) for word in plain]
        if not words:
            return []
        total, unknown = 0.0, 0
        tallies: dict[str, _Tally] = defaultdict(_Tally)
        fuzzy_from = FUZZY_MIN_LENGTH_SHORT if len(words) <= 2 else FUZZY_MIN_LENGTH
        for position, word in enumerate(words):
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
        total += UNKNOWN_WEIGHT * min(unknown, MAX_UNKNOWN_WORDS)
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

    def _decide(self, query: str, ranked: list[_Scored], features: Features) -> Resolution:
        """Answer, offer a choice, or say no, as the fitted model weighs the best candidate."""
        candidates = tuple(
            Candidate(item.topic, self.entries[item.topic].handler, round(item.score, 1))
            for item in ranked[:MAX_CANDIDATES]
            if item.score >= SUGGEST_SCORE
        )
        if not candidates:
            return Resolution(query, "none")
        confidence = self.fitted.confidence(features)
        if confidence >= self.fitted.match:
            return Resolution(query, "match", candidates, confidence=confidence)
        if confidence < self.fitted.offer:
            return Resolution(query, "none", confidence=confidence)
        office = self._one_office(candidates)
        if office is not None:
            # Several topics of one office fit about as well: the office is the answer, at its own level.
            best = Candidate(candidates[0].topic, office, candidates[0].score, "agency")
            return Resolution(query, "match", (best,), level="agency", confidence=confidence)
        offered = tuple(c for c in candidates[:OFFER_LIMIT] if c.score >= candidates[0].score - OFFER_MARGIN)
        return Resolution(query, "ambiguous", offered, confidence=confidence)

    def _one_office(self, candidates: tuple[Candidate, ...]) -> str | None:
        """The office that handles every close candidate, when they all share one that has an agency-level answer.
        Offices of one agency stay apart: a question between ERO's and OPR's topics is not "ICE's area"."""
        close = [c for c in candidates if c.score >= candidates[0].score - AMBIGUITY_MARGIN]
        handlers = {c.handler for c in close}
        if len(close) < 2 or len(handlers) != 1:
            return None
        office = handlers.pop()
        return office if office in self.offices else None

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
        # What sending the text would answer comes first, so that tapping the first choice gives that answer (for an
        # office-level answer, that office's closest topic).
        sent = self.resolve(prefix)
        if sent.status == "match" and sent.best is not None and take([sent.best.topic]):
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
        take(item.topic for item in self._rank(key) if item.topic not in chosen)
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
