"""The generator's vocabulary files: what they must hold, how a broken one is reported, and
that they ship inside the package. Fast: reads YAML only.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import fields
from importlib import resources
from pathlib import Path

import pytest
import yaml

from multitask.data.synthetic.generator import DEFAULT_SENTIMENTS, DEFAULT_TOPICS
from multitask.data.synthetic.grammar import NEGATION_RE
from multitask.data.synthetic.slots import NAMES as SLOT_NAMES
from multitask.data.synthetic.vocabulary import load_vocabulary, read_vocabulary
from multitask.errors import DataError
from tests.conftest import ROOT

PACKAGE = "multitask.data.synthetic"
VOCAB = Path(str(resources.files(PACKAGE) / "vocabulary"))
# Placeholders filled by the grammar itself, not as slots, by record type and field.
GRAMMAR_PLACEHOLDERS = {
    "Adjuncts.distractor_prefixes": {"m"},  # the mention of another topic
    "Adjuncts.distractor_suffixes": {"m"},
    "SentimentVocab.questions": {"thing", "actor", "event", "adj"},  # question templates
    "SlotWords.when": {"day", "month"},  # drawn by the `when` slot itself
}


def _phrases(record: object) -> dict[str, list[str]]:
    """Field name -> every phrase of a vocabulary record (per-sentiment fields flattened)."""
    out = {}
    for f in fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        out[f.name] = (
            [p for ps in value.values() for p in ps] if hasattr(value, "values") else list(value)
        )
    return out


def test_labels_are_the_files_in_name_order() -> None:
    v = load_vocabulary()
    assert (
        tuple(v.topics)
        == DEFAULT_TOPICS
        == tuple(sorted(p.stem for p in (VOCAB / "topics").glob("*.yaml")))
    )
    assert tuple(v.sentiments) == DEFAULT_SENTIMENTS
    for topic in v.topics.values():
        assert list(topic.events) == list(DEFAULT_SENTIMENTS)


def test_loaded_once_and_immutable() -> None:
    v = load_vocabulary()
    assert load_vocabulary() is v
    with pytest.raises(TypeError):
        v.topics["cooking"] = v.topics["sports"]  # type: ignore[index]
    with pytest.raises(TypeError):
        v.topics["sports"].events["positive"] = ()  # type: ignore[index]
    assert isinstance(v.slots.day, tuple)


def test_negation_only_in_negated_fields() -> None:
    """Only negated_* fields carry a negation: the negation_rate knob depends on it."""
    v = load_vocabulary()
    records = [*v.topics.values(), *v.sentiments.values(), v.slots, v.adjuncts]
    for record in records:
        for name, phrases in _phrases(record).items():
            negated = name.startswith("negated")
            wrong = [p for p in phrases if bool(NEGATION_RE.search(p)) != negated]
            assert not wrong, (type(record).__name__, name, wrong)


def test_every_placeholder_is_filled() -> None:
    v = load_vocabulary()
    for record in [*v.topics.values(), *v.sentiments.values(), v.slots, v.adjuncts]:
        for name, phrases in _phrases(record).items():
            key = f"{type(record).__name__}.{name}"
            used = {slot for p in phrases for slot in re.findall(r"\{(\w+)\}", p)}
            unknown = used - SLOT_NAMES - GRAMMAR_PLACEHOLDERS.get(key, set())
            assert not unknown, (key, unknown)


@pytest.fixture
def vocab_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "vocabulary"
    shutil.copytree(VOCAB, dst)
    assert read_vocabulary(dst) == load_vocabulary()  # a faithful copy reads the same
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        # YAML reads a bare `no` as False: refused, not drawn as "False".
        ("slots.yaml", "  - two\n", "  - no\n", r"slots\.yaml: few\[0\].*False"),
        ("topics/sports.yaml", "\nhashtags:", "\nhashtag:", r"sports\.yaml.*missing.*hashtags"),
        ("topics/health.yaml", "  neutral:\n", "  calm:\n", r"health\.yaml: events.*calm"),
        ("sentiments/positive.yaml", "\nnews:", "\nnewz:", r"positive\.yaml.*unknown.*newz"),
        ("adjuncts.yaml", "time:", "time: [", r"cannot read vocabulary/adjuncts\.yaml"),
    ],
)
def test_broken_file_is_named(vocab_copy: Path, file: str, old: str, new: str, named: str) -> None:
    _edit(vocab_copy / file, old, new)
    with pytest.raises(DataError, match=named):
        read_vocabulary(vocab_copy)


def test_missing_folder_is_named(vocab_copy: Path) -> None:
    shutil.rmtree(vocab_copy / "sentiments")
    with pytest.raises(DataError, match="vocabulary/sentiments: no such folder"):
        read_vocabulary(vocab_copy)


def test_empty_list_is_refused(vocab_copy: Path) -> None:
    path = vocab_copy / "topics" / "technology.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["preds"]["neutral"] = []
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(DataError, match=r"technology\.yaml: preds\.neutral: expected a non-empty"):
        read_vocabulary(vocab_copy)


def test_vocabulary_ships_as_package_data() -> None:
    """pyproject's package-data globs cover every vocabulary file (a wheel then carries them)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"][PACKAGE]
    package_dir = VOCAB.parent
    shipped = {p for g in globs for p in package_dir.glob(g)}
    files = {p for p in VOCAB.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files and files <= shipped, sorted(str(p) for p in files - shipped)
