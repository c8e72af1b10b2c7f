"""The generator's words: read from the YAML files in ``vocabulary/`` (package data), checked.

The folder (shipped inside the package, see pyproject.toml ``package-data``)::

    topics/<label>.yaml      one file per topic label; keys are `TopicVocab`'s fields
    sentiments/<label>.yaml  one file per sentiment label; keys are `SentimentVocab`'s fields
    slots.yaml               words for ``{slot}`` placeholders (`SlotWords`)
    adjuncts.yaml            time adjuncts and distractor clauses (`Adjuncts`)

A label is known to the generator iff it has a file. Files are read in sorted name order, which
is the order the grammar iterates topics in (a distractor names "another topic" from that list),
so the same files always give the same draws. Every file is checked when read: exactly the
expected keys; every value a list of non-empty, trimmed strings (YAML reads a bare ``no`` as a
bool and ``1.5`` as a number: both refused); every per-sentiment field names each sentiment label
once. A broken file raises `DataError` naming the file and key. `load_vocabulary` reads the
packaged folder once per process; what it returns is immutable (tuples and read-only mappings).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_type_hints

import yaml

from multitask.errors import DataError

Phrases = tuple[str, ...]
PerSentiment = Mapping[str, Phrases]  # sentiment label -> phrases
_MAY_BE_EMPTY = frozenset({"intensifiers"})  # neutral words are never intensified


@dataclass(frozen=True)
class TopicVocab:
    """Words of one topic (``topics/<label>.yaml``); the YAML file comments each field."""

    actors: Phrases
    things: Phrases
    speakers: Phrases
    places: Phrases
    mentions: Phrases  # neutral noun phrases: things here, distractors in other topics
    hashtags: Phrases
    experiences: Phrases
    questions: Phrases
    events: PerSentiment
    negated_events: PerSentiment
    preds: PerSentiment
    negated_preds: PerSentiment
    headlines: PerSentiment
    outcomes: PerSentiment
    statements: PerSentiment


@dataclass(frozen=True)
class SentimentVocab:
    """Topic-free words of one sentiment (``sentiments/<label>.yaml``)."""

    adjectives: Phrases
    intensifiers: Phrases
    feelings: Phrases
    openers: Phrases
    closers: Phrases
    descriptions: Phrases
    news: Phrases
    questions: Phrases
    negated: Phrases
    negated_closers: Phrases


@dataclass(frozen=True)
class SlotWords:
    """Words for ``{slot}`` placeholders (``slots.yaml``); numbers are drawn in `slots`."""

    day: Phrases
    month: Phrases
    city: Phrases
    first_name: Phrases
    last_name: Phrases
    company: Phrases
    hospital: Phrases
    team: Phrases
    techco: Phrases
    product: Phrases
    few: Phrases
    when: Phrases


@dataclass(frozen=True)
class Adjuncts:
    """Clauses added around a sentence without changing its labels (``adjuncts.yaml``)."""

    time: Phrases
    distractor_prefixes: Phrases
    distractor_suffixes: Phrases


@dataclass(frozen=True)
class Vocabulary:
    topics: Mapping[str, TopicVocab]  # in file-name order
    sentiments: Mapping[str, SentimentVocab]  # in file-name order
    slots: SlotWords
    adjuncts: Adjuncts


def _phrases(value: Any, where: str, may_be_empty: bool) -> Phrases:
    if not isinstance(value, list) or (not value and not may_be_empty):
        kind = "a list" if may_be_empty else "a non-empty list"
        raise DataError(f"{where}: expected {kind} of phrases, got {value!r}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item or item != item.strip():
            raise DataError(
                f"{where}[{i}]: expected a non-empty, trimmed string, got {item!r} "
                "(quote words YAML reads as other types, e.g. 'no', 'on', '1.5')"
            )
    return tuple(value)


def _record(cls: type, data: Any, where: str, sentiments: tuple[str, ...]) -> Any:
    """Build `cls` from a YAML mapping, checking its keys and every value."""
    names = [f.name for f in fields(cls)]
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a mapping with keys {names}, got {type(data).__name__}")
    missing, unknown = sorted(set(names) - set(data)), sorted(map(str, set(data) - set(names)))
    if missing or unknown:
        problems = [
            f"{what} key(s) {keys}"
            for what, keys in (("missing", missing), ("unknown", unknown))
            if keys
        ]
        raise DataError(f"{where}: {'; '.join(problems)} (expected {names})")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for name in names:
        key, value = f"{where}: {name}", data[name]
        if hints[name] != PerSentiment:
            values[name] = _phrases(value, key, name in _MAY_BE_EMPTY)
            continue
        if not isinstance(value, dict) or set(value) != set(sentiments):
            got = list(value) if isinstance(value, dict) else value
            raise DataError(f"{key}: expected one list per sentiment {list(sentiments)}, got {got}")
        per = {s: _phrases(value[s], f"{key}.{s}", False) for s in sentiments}
        values[name] = MappingProxyType(per)
    return cls(**values)


def _load(cls: type, path: Traversable, where: str, sentiments: tuple[str, ...] = ()) -> Any:
    """Read one YAML file of the folder and build `cls` from it (`where` names it in errors)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise DataError(f"cannot read {where}: {err}") from None
    return _record(cls, data, where, sentiments)


def _label_files(root: Traversable, folder: str) -> dict[str, Traversable]:
    """The ``<label>.yaml`` files of ``root/folder``, by label, sorted by name (the draw order)."""
    if not (root / folder).is_dir():
        raise DataError(f"vocabulary/{folder}: no such folder in {root}")
    files = {
        p.name.removesuffix(".yaml"): p
        for p in (root / folder).iterdir()
        if p.is_file() and p.name.endswith(".yaml")
    }
    if not files:
        raise DataError(f"vocabulary/{folder}: no <label>.yaml file")
    return dict(sorted(files.items()))


def read_vocabulary(root: Traversable | Path) -> Vocabulary:
    """Read and check a vocabulary folder (its layout is in the module docstring)."""
    sentiment_files = _label_files(root, "sentiments")
    labels = tuple(sentiment_files)  # every per-sentiment field names exactly these
    sentiments = {
        label: _load(SentimentVocab, path, f"vocabulary/sentiments/{path.name}", labels)
        for label, path in sentiment_files.items()
    }
    topics = {
        label: _load(TopicVocab, path, f"vocabulary/topics/{path.name}", labels)
        for label, path in _label_files(root, "topics").items()
    }
    return Vocabulary(
        topics=MappingProxyType(topics),
        sentiments=MappingProxyType(sentiments),
        slots=_load(SlotWords, root / "slots.yaml", "vocabulary/slots.yaml"),
        adjuncts=_load(Adjuncts, root / "adjuncts.yaml", "vocabulary/adjuncts.yaml"),
    )


@functools.cache
def load_vocabulary() -> Vocabulary:
    """The packaged vocabulary, read once per process."""
    return read_vocabulary(resources.files("multitask.data.synthetic") / "vocabulary")
