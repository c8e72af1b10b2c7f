"""The model: pooling ignores padding, shapes and contracts, save/load round trip, load errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from multitask.errors import ModelLoadError
from multitask.model.inputs import sorted_batches
from multitask.model.network import MultiTaskSentenceTransformer, mean_pool

TEXTS = [
    "Shares of the chipmaker jumped after strong earnings.",
    "The hospital opened a new clinic.",
    "What a dreadful match, the keeper let in four goals and the fans left before half time.",
]


def test_mean_pool_ignores_padding():
    hidden = torch.randn(1, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0]])
    garbage = hidden.clone()
    garbage[:, 3:] = 1e6
    expected = hidden[0, :3].mean(0)
    assert torch.allclose(mean_pool(garbage, mask)[0], expected, atol=1e-5)


def test_embedding_does_not_depend_on_batch_padding(tiny_model):
    alone = tiny_model.encode(TEXTS[:1])
    batched = tiny_model.encode(TEXTS)  # padded to the long third text
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)


def test_encode_and_predict_contract(tiny_model, labels):
    emb = tiny_model.encode(TEXTS)
    assert emb.shape == (3, tiny_model.dim) and emb.dtype == np.float32
    out = tiny_model.predict(TEXTS)
    assert len(out) == 3
    for item in out:
        assert set(item) == {"topic", "sentiment"}
        for task, result in item.items():
            assert list(result["scores"]) == labels[task]
            assert result["label"] == max(result["scores"], key=result["scores"].get)
            assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    assert tiny_model.predict([]) == []
    assert tiny_model.encode([]).shape == (0, tiny_model.dim)


def test_forward_returns_raw_logits(tiny_model):
    ids = tiny_model.tokenize_ids(TEXTS)
    from multitask.model.network import pad_batch

    logits = tiny_model(*pad_batch(ids, 0))
    assert logits["topic"].shape == (3, 4) and logits["sentiment"].shape == (3, 3)
    assert not torch.allclose(logits["topic"].exp().sum(1), torch.ones(3))


def test_long_text_is_truncated(tiny_model):
    ids = tiny_model.tokenize_ids(["word " * 1000])
    assert len(ids[0]) == tiny_model.max_length


def test_save_load_round_trip_without_pickle(tiny_model, tmp_path, labels):
    tiny_model.save(tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").rglob("*")}
    assert {"heads.safetensors", "model.safetensors", "multitask.json", "tokenizer.json"} <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".pth")) for name in files)
    loaded = MultiTaskSentenceTransformer.load(tmp_path / "m", labels)
    np.testing.assert_allclose(loaded.encode(TEXTS), tiny_model.encode(TEXTS), atol=1e-6)
    assert loaded.predict(TEXTS) == tiny_model.predict(TEXTS)


@pytest.fixture
def saved(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "m")
    return tmp_path / "m"


def test_truncated_weights_are_refused(saved):
    weights = saved / "encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match=r"model\.safetensors"):
        MultiTaskSentenceTransformer.load(saved)


def test_altered_head_weights_are_refused(saved):
    heads = saved / "heads.safetensors"
    data = bytearray(heads.read_bytes())
    data[-1] ^= 0xFF
    heads.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"heads\.safetensors.*corrupt"):
        MultiTaskSentenceTransformer.load(saved)


def test_missing_tokenizer_is_named(saved):
    (saved / "encoder" / "tokenizer_config.json").unlink()
    with pytest.raises(ModelLoadError, match=r"tokenizer_config\.json"):
        MultiTaskSentenceTransformer.load(saved)


def test_other_label_set_is_refused(saved, labels):
    other = {**labels, "topic": ["a", "b"]}
    with pytest.raises(ModelLoadError, match="labels"):
        MultiTaskSentenceTransformer.load(saved, other)


def test_not_a_model_folder(tmp_path, saved):
    with pytest.raises(ModelLoadError, match=r"multitask\.json"):
        MultiTaskSentenceTransformer.load(tmp_path / "empty")
    meta = saved / "multitask.json"
    meta.write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        MultiTaskSentenceTransformer.load(saved)


def test_save_replaces_atomically(tiny_model, saved):
    before = json.loads((saved / "multitask.json").read_text())
    tiny_model.save(saved)  # overwrite in place
    assert json.loads((saved / "multitask.json").read_text()) == before
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]
    shutil.rmtree(saved)


@pytest.mark.slow
def test_default_backbone_matches_sentence_transformers(labels):
    """Our pooling reproduces sentence-transformers' all-MiniLM-L6-v2 embeddings (pre-normalise)."""
    from sentence_transformers import SentenceTransformer

    from multitask.model.backbone import resolve_backbone

    ours = MultiTaskSentenceTransformer.from_backbone("default", labels)
    st = SentenceTransformer(resolve_backbone("default"), device="cpu")
    ref = st.encode(TEXTS, normalize_embeddings=False, convert_to_numpy=True)
    a = ours.encode(TEXTS)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(a, ref, atol=1e-4)
    assert ours.dim == 384


@given(
    lengths=st.lists(st.integers(1, 128), max_size=300),
    batch_size=st.integers(1, 64),
    max_waste=st.floats(0.0, 0.9),
)
def test_sorted_batches_cover_every_text_once_and_bound_padding(lengths, batch_size, max_waste):
    min_tokens = 64
    batches = sorted_batches(lengths, batch_size, max_waste, min_tokens)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)
    for b in batches:
        assert 1 <= len(b) <= batch_size
        real, slots = sum(lengths[i] for i in b), len(b) * max(lengths[i] for i in b)
        before_last = sum(lengths[i] for i in b[:-1])
        assert real >= (1 - max_waste) * slots or before_last < min_tokens


def test_padding_aware_batches_give_the_same_embeddings(tiny_model):
    texts = ["short", "a bit longer text here", "word " * 40, "x", "medium sized text " * 3] * 9
    together = tiny_model.encode(texts, batch_size=64)
    alone = np.concatenate([tiny_model.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
