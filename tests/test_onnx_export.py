"""The ONNX form of the model: export (one graph, dynamic axes, pooling inside, equal to PyTorch),
int8 quantization, and the torch-free runtime (tokenisation identical to training, checked
loading, input order, no torch or transformers imported).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from multitask.errors import ModelLoadError, PackagingError
from multitask.model.onnx_export import GRAPH_FILE, TOKENIZER_FILE, export_onnx
from multitask.model.onnx_runtime import OnnxModel
from multitask.records import ONNX_META_FILE, OnnxMeta
from tests.conftest import ROOT, TinyOnnx

TEXTS = [
    "The central bank raised interest rates.",
    "ok",
    "",
    "Fantastic match last night, the striker scored twice in the final ten minutes of the game!",
    "Le médecin a dit que tout allait bien. 医生说一切都好 🙂",
    "word " * 100,  # longer than max_length=32: truncated
]
# Tokeniser edge cases: empty or empty after normalisation, controls, unusual spaces, accents and
# combining marks, fullwidth forms and ligatures, emoji sequences, many scripts, words past the
# word-piece limit, texts far past max_length.
TRICKY = [
    "",
    " ",
    "   \t\n\r  ",
    "\u200b",  # zero-width space: empty after normalisation
    "\x00\x01\x07\x1b",  # control characters only
    "\u3000\u00a0\u2003",  # ideographic, no-break and em spaces
    "\ufeff",  # byte-order mark
    "\u00ad",  # soft hyphen
    "tab\there, new\nline,\rreturn and a bell\x07 in\x00side",
    "Café naïve résumé Ångström façade crème brûlée",
    "e\u0301 (combining acute) vs é (precomposed)",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ and ﬁ ligature",
    "Emoji 👍🏽🔥 and a family 👨‍👩‍👧 and flags 🇫🇷🇯🇵",
    "日本語のテキストと中文文本，还有한국어 텍스트",
    "مرحبا بالعالم — नमस्ते दुनिया — สวัสดีชาวโลก — Привет, мир",
    "Price $1,000.50 (approx.) — 20% off!!! don't can't... #sale @shop https://x.example/a?b=c",
    "a" * 300,  # one very long word: [UNK]
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "word " * 400,  # far past max_length
    " ".join(["reallylongtokenisedword"] * 60),  # many pieces per word, cut mid-word
    "\U0001f600" * 200,
]


def _boundary(max_length: int) -> list[str]:
    """Texts of max_length-3 .. max_length+1 word tokens (the truncation edge)."""
    return [" ".join(["word"] * n) for n in range(max_length - 3, max_length + 2)]


# -- the export folder and the graph ---------------------------------------------------------
def test_folder_holds_what_serving_needs(tiny_onnx: TinyOnnx) -> None:
    for folder, variant in ((tiny_onnx.fp32, "fp32"), (tiny_onnx.int8, "int8")):
        assert {p.name for p in folder.iterdir()} == {GRAPH_FILE, TOKENIZER_FILE, ONNX_META_FILE}
        meta = OnnxMeta.read(folder / ONNX_META_FILE)
        assert meta.variant == variant and meta.labels == tiny_onnx.model.labels
        assert (meta.max_length, meta.pad_id, meta.dim) == (32, 0, 32)
        assert set(meta.sha256) == {GRAPH_FILE, TOKENIZER_FILE} and meta.source_digest == "tiny"
        assert all(oct(p.stat().st_mode & 0o777) == "0o644" for p in folder.iterdir())
    tok = json.loads((tiny_onnx.fp32 / TOKENIZER_FILE).read_text())
    assert tok["truncation"]["max_length"] == 32 and tok["padding"] is None
    fp32, int8 = (f / GRAPH_FILE for f in (tiny_onnx.fp32, tiny_onnx.int8))
    assert int8.stat().st_size < 0.6 * fp32.stat().st_size


def test_one_graph_with_dynamic_axes(tiny_onnx: TinyOnnx) -> None:
    graph = onnx.load(str(tiny_onnx.fp32 / GRAPH_FILE)).graph

    def dims(values) -> dict[str, list]:
        return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
                for v in values}  # fmt: skip

    assert dims(graph.input) == {
        "input_ids": ["batch", "sequence"],
        "attention_mask": ["batch", "sequence"],
    }
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in graph.input)
    assert dims(graph.output) == {
        "embedding": ["batch", 32],
        "logits_topic": ["batch", 4],
        "logits_sentiment": ["batch", 3],
    }
    meta = OnnxMeta.read(tiny_onnx.fp32 / ONNX_META_FILE)
    assert meta.fused_ops.get("Attention") == 2  # eager trace: ORT fused one per layer


@pytest.mark.parametrize("batch", [1, 2, 6])
def test_fp32_equals_pytorch_on_padded_batches(tiny_onnx: TinyOnnx, batch: int) -> None:
    runtime = OnnxModel(tiny_onnx.fp32)
    texts = TEXTS[:batch]
    emb, logits = runtime.run(texts)
    np.testing.assert_allclose(emb, tiny_onnx.model.encode(texts), atol=1e-5)
    probs = tiny_onnx.model.head_probs(emb)
    for task, values in logits.items():
        want = torch.log_softmax(torch.from_numpy(values), -1).exp().numpy()
        np.testing.assert_allclose(want, probs[task], atol=1e-5)


def test_pooling_ignores_padding(tiny_onnx: TinyOnnx) -> None:
    runtime = OnnxModel(tiny_onnx.fp32)
    alone = runtime.run_ids(runtime.tokenize_ids(["short"]))[0]
    ids = runtime.tokenize_ids(["short", "a much longer text " * 5])
    padded = runtime.run_ids(ids, batch_size=2)[0][:1]
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_int8_is_close_but_not_equal(tiny_onnx: TinyOnnx) -> None:
    a, b = tiny_onnx.model.encode(TEXTS), OnnxModel(tiny_onnx.int8).encode(TEXTS)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() > 0.9 and not np.allclose(a, b, atol=1e-5)


def test_export_from_train_mode_traces_the_eval_graph_and_gives_the_mode_back(
    tiny_onnx: TinyOnnx, tmp_path: Path
) -> None:
    model = tiny_onnx.model
    attn = model.encoder.config._attn_implementation
    model.train()
    try:
        meta = export_onnx(model, tmp_path / "e", source_digest="x")
        assert model.training and model.encoder.training
    finally:
        model.eval()
    assert model.encoder.config._attn_implementation == attn  # eager only for the trace
    assert meta.check["max_abs_diff"] < 1e-4
    runtime = OnnxModel(tmp_path / "e")
    np.testing.assert_array_equal(runtime.encode(TEXTS), runtime.encode(TEXTS))  # no dropout
    np.testing.assert_allclose(runtime.encode(TEXTS), model.encode(TEXTS), atol=1e-5)


def test_an_export_unequal_to_pytorch_is_refused(
    tiny_onnx: TinyOnnx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from multitask.model import onnx_export

    monkeypatch.setattr(onnx_export, "compare_with_torch", lambda *a: (0.5, 0.9))
    with pytest.raises(PackagingError, match=r"differs from PyTorch by 0\.5"):
        export_onnx(tiny_onnx.model, tmp_path / "e", source_digest="x")
    assert not (tmp_path / "e").exists(), "nothing half-written"


# -- the runtime -------------------------------------------------------------------------------
@pytest.mark.parametrize("max_length", [32, 128])
def test_token_ids_equal_the_training_tokenizer(
    tiny_onnx: TinyOnnx, tmp_path: Path, max_length: int
) -> None:
    """transformers' tokenizer (training) and `tokenizers` on tokenizer.json (serving) agree on
    every tricky text, in one batch and one by one, at two max_lengths."""
    model = tiny_onnx.model
    texts = TRICKY + _boundary(max_length)
    old = model.max_length
    model.max_length = max_length
    try:
        export_onnx(model, tmp_path / "e", source_digest="x", fuse=False)
        expected = model.tokenize_ids(texts)
    finally:
        model.max_length = old
    runtime = OnnxModel(tmp_path / "e")
    assert runtime.tokenize_ids(texts) == expected
    assert [runtime.tokenize_ids([t])[0] for t in texts] == expected
    assert max(len(x) for x in expected) == max_length  # truncation was exercised
    assert expected[0] == expected[3] == [101, 102]  # empty, and empty after normalisation


def test_a_lone_surrogate_is_refused_by_both_tokenizers(tiny_onnx: TinyOnnx) -> None:
    runtime = OnnxModel(tiny_onnx.fp32)
    for tokenize in (tiny_onnx.model.tokenize_ids, runtime.tokenize_ids):
        with pytest.raises(Exception):  # noqa: B017 (each library raises its own type)
            tokenize(["bad \ud800 text"])


def test_results_come_back_in_input_order(tiny_onnx: TinyOnnx) -> None:
    runtime = OnnxModel(tiny_onnx.fp32, batch_size=2)
    texts = ["a b c d e f g h", "x", "medium length text here", "", "y z"]
    together = runtime.encode(texts)
    alone = np.stack([runtime.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert runtime.encode([]).shape == (0, 32)


def test_an_altered_or_incomplete_folder_is_named(tiny_onnx: TinyOnnx, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"onnx_model\.json is missing"):
        OnnxModel(tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(tiny_onnx.int8, bad)
    with open(bad / GRAPH_FILE, "r+b") as fh:
        fh.seek(-100, 2)
        fh.write(b"\x00" * 10)
    with pytest.raises(ModelLoadError, match=r"model\.onnx is altered or corrupt"):
        OnnxModel(bad)
    shutil.copy2(tiny_onnx.int8 / GRAPH_FILE, bad / GRAPH_FILE)
    (bad / TOKENIZER_FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"missing file .*tokenizer\.json"):
        OnnxModel(bad)
    meta = json.loads((tiny_onnx.fp32 / ONNX_META_FILE).read_text())
    shutil.copytree(tiny_onnx.fp32, tmp_path / "wide")
    meta["dim"] = 64  # the record promises another embedding width than the graph has
    (tmp_path / "wide" / ONNX_META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="output 'embedding' has width 32, want 64"):
        OnnxModel(tmp_path / "wide")


def test_the_runtime_imports_neither_torch_nor_transformers(tiny_onnx: TinyOnnx) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from multitask.serving.onnx_backend import OnnxBackend
        backend = OnnxBackend({str(tiny_onnx.int8)!r}, None, threads=1, name="onnx-int8")
        rows = backend.rows(["hello world", "another text"])
        assert rows.shape == (2, 32 + 4 + 3), rows.shape
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        print(",".join(heavy))
        """
    )
    env = {"PYTHONPATH": f"{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"imported: {proc.stdout.strip()}"
