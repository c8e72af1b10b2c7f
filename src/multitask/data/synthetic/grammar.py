"""The sentence grammar: shapes that turn one (topic, sentiment) draw into a sentence.

A row draws one of many sentence shapes (statements, reviews, headlines, questions, first-person
posts, reported speech, tweets, compound sentences) and fills it from the topic's and the
sentiment's vocabulary (`multitask.data.synthetic.vocabulary`). Negated shapes carry the
sentiment through a negation ("not good" is negative, "not bad at all" positive, "has not
announced a date" neutral); a distractor clause mentions another topic without changing either
label; sometimes a follow-up sentence in the same sentiment lengthens the text. Slots are filled
last (`multitask.data.synthetic.slots`).

Every choice is a draw from the row's ``random.Random``, in a fixed order: reordering calls,
shapes or phrases changes the data for every seed (a test pins a digest of it).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from multitask.data.synthetic.slots import fill
from multitask.data.synthetic.vocabulary import SentimentVocab, TopicVocab, Vocabulary

# A row is "negated" iff its text matches this; non-negated vocabulary never does (tested).
NEGATION_RE = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|nowhere|neither|nor|without|cannot|fail(?:ed|s)? to)\b"
    r"|n't\b",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------------
# Sentence shapes. Each takes a row context and returns one text (before slot filling).
# --------------------------------------------------------------------------------------------
@dataclass
class _Row:
    """One row's draw context: its random source, the vocabulary, its topic and sentiment words."""

    r: random.Random
    v: Vocabulary  # the whole vocabulary: adjuncts, and other topics for distractors
    t: TopicVocab
    s: SentimentVocab
    sentiment: str

    def pick(self, options: Sequence[str]) -> str:
        return self.r.choice(options)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def actor(self) -> str:
        return self.pick(self.t.actors)

    def thing(self) -> str:
        return self.pick(self.t.things)

    def subject(self) -> str:
        """A thing or a news item, for shapes where any noun phrase fits ("X was awful").

        Distractor mentions are used here in their own topic too, so that they never become
        features *against* their topic.
        """
        return self.pick(self.t.mentions if self.chance(0.3) else self.t.things)

    def event(self) -> str:
        return self.pick(self.t.events[self.sentiment])

    def pred(self) -> str:
        return self.pick(self.t.preds[self.sentiment])

    def adj(self) -> str:
        """An adjective, sometimes intensified ("truly awful")."""
        word = self.pick(self.s.adjectives)
        if self.s.intensifiers and self.chance(0.35):
            return f"{self.pick(self.s.intensifiers)} {word}"
        return word

    def when(self, event: str) -> str:
        """An optional time adjunct, only for past-tense events that carry no time of their own."""
        if "{" in event or "will " in event or " is " in f" {event}" or not self.chance(0.35):
            return ""
        return " " + self.pick(self.v.adjuncts.time)

    def copula(self) -> str:
        return self.pick(("is", "was", "is", "has been", "was"))

    def speaker(self) -> str:
        return self.pick(self.t.speakers)


def _statement(x: _Row) -> str:
    e = x.event()
    return f"{x.actor()} {e}{x.when(e)}."


def _statement_place(x: _Row) -> str:
    e = x.event()
    return f"{x.actor()} {e} {x.pick(x.t.places)}{x.when(e)}."


def _thing_pred(x: _Row) -> str:
    return f"{x.thing()} {x.pred()}."


def _thing_adj(x: _Row) -> str:
    return f"{x.subject()} {x.copula()} {x.adj()}."


def _review(x: _Row) -> str:
    return f"{x.pick(x.s.feelings)} {x.thing()}: it {x.pred()}."


def _short_review(x: _Row) -> str:
    adj = x.adj()
    return f"{x.subject()}? {adj[0].upper()}{adj[1:]}. {x.pick(x.s.closers)}"


def _headline(x: _Row) -> str:
    return x.pick(x.t.headlines[x.sentiment])


def _question(x: _Row) -> str:
    if x.sentiment == "neutral" and x.chance(0.5):
        return x.pick(x.t.questions)
    q = x.pick(x.s.questions)
    return (
        q.replace("{thing}", x.subject())
        .replace("{actor}", x.actor())
        .replace("{event}", x.event())
        .replace("{adj}", x.adj())
    )


def _reported(x: _Row) -> str:
    return f"{x.speaker()} said {x.actor()} {x.event()}."


def _reported_thing(x: _Row) -> str:
    return f"{x.speaker()} said that {x.thing()} {x.pred()}."


def _quote(x: _Row) -> str:
    thing = x.thing()
    return f'"{thing[0].upper()}{thing[1:]} {x.pred()}," {x.speaker()} said.'


def _according(x: _Row) -> str:
    e = x.event()
    return f"According to {x.speaker()}, {x.actor()} {e}{x.when(e)}."


def _described(x: _Row) -> str:
    verb = x.pick(("described", "called", "labelled"))
    prep = " as" if verb == "described" else ""
    return f"{x.speaker()} {verb} {x.subject()}{prep} {x.pick(x.s.descriptions)}."


def _tweet(x: _Row) -> str:
    text = f"{x.pick(x.s.openers)} {x.actor()} {x.event()}"
    end = x.pick(("!", "!!", ".", "", " :)")) if x.sentiment == "positive" else x.pick((".", ""))
    text = f"{text}{end} {x.pick(x.t.hashtags)}"
    return text.lower() if x.chance(0.3) else text


def _compound(x: _Row) -> str:
    joiner = x.pick((", and", ", while", ";", ". Meanwhile,", ", and meanwhile"))
    return f"{x.actor()} {x.event()}{joiner} {x.thing()} {x.pred()}."


def _experience(x: _Row) -> str:
    when = x.pick(("", " last week", " yesterday", " this morning", " recently", " on Saturday"))
    link = x.pick((" and ", ", and ", ". ", " - "))
    return f"I {x.pick(x.t.experiences)}{when}{link}{x.pick(x.t.outcomes[x.sentiment])}."


def _experience_verdict(x: _Row) -> str:
    return f"I {x.pick(x.t.experiences)}, and honestly it was {x.adj()}."


def _news_for(x: _Row) -> str:
    return f"{x.pick(x.s.news)} {x.pick(x.t.places)}: {x.actor()} {x.event()}."


def _opener_statement(x: _Row) -> str:
    e = x.event()
    return f"{x.pick(x.s.openers)} {x.actor()} {e}{x.when(e)}."


def _fact(x: _Row) -> str:
    return x.pick(x.t.statements[x.sentiment])


def _fact_reported(x: _Row) -> str:
    fact = _fact(x)
    if fact.endswith("."):
        return f'"{fact[:-1]}," {x.speaker()} said.'
    return f"{fact} That is how {x.speaker()} put it."


def _fact_opener(x: _Row) -> str:
    opener, fact = x.pick(x.s.openers), _fact(x)
    if opener.endswith(",") and re.match(r"(The|A|Our|My) ", fact):
        fact = fact[0].lower() + fact[1:]
    return f"{opener} {fact}"


_SHAPES: tuple[Callable[[_Row], str], ...] = (
    _fact, _fact, _fact, _fact, _fact_reported, _fact_opener,
    _statement, _statement, _statement_place, _thing_pred, _thing_pred, _thing_adj, _review,
    _short_review, _headline, _headline, _question, _reported, _reported_thing, _quote,
    _according, _described, _tweet, _compound, _experience, _experience, _experience_verdict,
    _news_for, _opener_statement,
)  # fmt: skip


# Negated shapes: the sentiment is carried by a negated phrase (every one contains a negation).
def _neg_statement(x: _Row) -> str:
    return f"{x.actor()} {x.pick(x.t.negated_events[x.sentiment])}."


def _neg_thing(x: _Row) -> str:
    return f"{x.thing()} {x.pick(x.t.negated_preds[x.sentiment])}."


def _neg_generic(x: _Row) -> str:
    lead = x.pick(("", "", "Honestly, ", "To be fair, ", "I have to say "))
    return f"{lead}{x.subject()} {x.copula()} {x.pick(x.s.negated)}."


def _neg_reported(x: _Row) -> str:
    return f"{x.speaker()} said {x.actor()} {x.pick(x.t.negated_events[x.sentiment])}."


def _neg_review(x: _Row) -> str:
    return f"{x.pick(x.s.feelings)} {x.subject()}. {x.pick(x.s.negated_closers)}"


def _neg_opener(x: _Row) -> str:
    return f"{x.pick(x.s.openers)} {x.actor()} {x.pick(x.t.negated_events[x.sentiment])}."


def _neg_tweet(x: _Row) -> str:
    text = f"{x.thing()} {x.pick(x.t.negated_preds[x.sentiment])} {x.pick(x.t.hashtags)}"
    return text.lower() if x.chance(0.3) else text


_NEGATED_SHAPES: tuple[Callable[[_Row], str], ...] = (
    _neg_statement, _neg_statement, _neg_thing, _neg_thing, _neg_generic, _neg_reported,
    _neg_review, _neg_opener, _neg_tweet,
)  # fmt: skip


def _follow_up(x: _Row) -> str:
    """A second sentence in the same sentiment, for the long tail of lengths."""
    kind = x.r.randrange(4)
    if kind == 0:
        return x.pick(x.s.closers)
    if kind == 1:
        speaker = x.speaker()
        return f"{speaker[0].upper()}{speaker[1:]} called it {x.pick(x.s.descriptions)}."
    if kind == 2:
        thing = x.thing()
        return f"{thing[0].upper()}{thing[1:]} {x.pred()} as well."
    actor = x.actor()
    return f"Elsewhere, {actor} {x.event()}."


def _add_distractor(x: _Row, text: str, topic: str) -> str:
    # "Another topic" is drawn from every topic of the vocabulary (in file order), not only from
    # the labels asked for: a distractor names something the model is not asked about too.
    others = [k for k in x.v.topics if k != topic]
    mention = x.pick(x.v.topics[x.pick(others)].mentions)
    lowered = text[:1].lower() + text[1:]
    # A prefix only where lower-casing the first word is safe (not a name, not "I").
    simple = not any(c in text for c in '?":#')  # one plain sentence: safe to wrap
    if x.chance(0.5) and simple and re.match(r"(the|this|my|our|a|an) ", lowered):
        return x.pick(x.v.adjuncts.distractor_prefixes).replace("{m}", mention) + " " + lowered
    core, end = (text[:-1], text[-1]) if text[-1] in ".!?" else (text, "")
    if '"' in core or "#" in core or ":" in core or "?" in core or ". " in core:
        return f"{text} This came {x.pick(('on the same day as', 'just after'))} {mention}."
    suffix = x.pick(x.v.adjuncts.distractor_suffixes).replace("{m}", mention)
    return core + suffix + (end or ".")


def sentence(
    r: random.Random, v: Vocabulary, topic: str, sentiment: str, negated: bool, distractor: bool
) -> str:
    """One text for a (topic, sentiment) pair, drawn from `r`; slots filled, first letter upper."""
    x = _Row(r=r, v=v, t=v.topics[topic], s=v.sentiments[sentiment], sentiment=sentiment)
    text = r.choice(_NEGATED_SHAPES if negated else _SHAPES)(x)
    if distractor:
        text = _add_distractor(x, text, topic)
    # Long tail: sometimes one or two more sentences in the same sentiment.
    while r.random() < 0.22:
        text = f"{text} {_follow_up(x)}"
    text = fill(r, text, v.slots)
    return text[0].upper() + text[1:]
