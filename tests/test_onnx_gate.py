"""The accuracy gate: every rule and its message (pure function), broken exports refused, and the
package policy (int8 -> fp32 with a warning -> PackagingError; never torch) on the tiny model.
"""

from __future__ import annotations

import copy
import logging
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from harness.packaging import gate_sets
from multitask.errors import PackagingError
from multitask.io import file_digest
from multitask.model.gate import Predictions, TextSet, check_gate
from multitask.model.onnx_export import GRAPH_FILE, export_onnx
from multitask.model.onnx_gate import gate_folder, prepare_backend
from multitask.records import ONNX_META_FILE, GateResult, GateThresholds, OnnxMeta, PackagedModel
from tests.conftest import REGISTERED, TinyOnnx

LABELS = {"topic": ["a", "b", "c", "d"], "sentiment": ["neg", "neu", "pos"]}
N, N_NAT = 1000, 100


def _sets(seed: int = 0) -> tuple[TextSet, TextSet, dict[str, Predictions]]:
    """Labelled and natural sets, and a reference that labels both perfectly."""
    rng = np.random.default_rng(seed)

    def one(n: int) -> tuple[TextSet, Predictions]:
        idx = {t: rng.integers(0, len(v), n) for t, v in LABELS.items()}
        truth = {t: [LABELS[t][i] for i in idx[t]] for t in LABELS}
        return TextSet([f"t{i}" for i in range(n)], truth), Predictions(
            idx, rng.normal(size=(n, 8))
        )

    (lab, ref), (nat, nref) = one(N), one(N_NAT)
    return lab, nat, {"labelled": ref, "natural": nref}


def _with(preds: Predictions, task: str, labels: np.ndarray) -> Predictions:
    return Predictions({**preds.labels, task: labels}, preds.embeddings)


def _gate(lab: TextSet, nat: TextSet, ref: dict, cand: dict, **kw: float) -> GateResult:
    thresholds = GateThresholds(**kw) if kw else None
    return check_gate("onnx-int8", LABELS, lab, nat, ref, cand, thresholds)


# -- the rules -----------------------------------------------------------------------------------
def test_identical_predictions_pass_with_every_figure() -> None:
    lab, nat, ref = _sets()
    res = _gate(lab, nat, ref, ref)
    assert res.passed and res.reason == "passed" and res.failures == []
    assert res.tasks["topic"].agreement == 1.0 and res.tasks["topic"].acc_delta_points == 0.0
    assert res.tasks["sentiment"].acc_reference == 1.0
    assert res.mean_cosine == pytest.approx(1.0) and (res.n_labelled, res.n_natural) == (N, N_NAT)
    tags = res.tags()
    assert tags["gate.onnx-int8.passed"] == "true"
    assert tags["gate.onnx-int8.sentiment.natural_net_change"] == "0"
    assert GateResult.model_validate_json(res.model_dump_json()) == res  # the record travels


def test_a_one_point_accuracy_drop_fails_while_99_percent_agreement_passes() -> None:
    lab, nat, ref = _sets()
    y = ref["labelled"].labels["topic"]
    every50 = np.arange(0, N, 50)  # 20 texts
    ref_topic, cand_topic = y.copy(), y.copy()
    ref_topic[every50[:10]] = (y[every50[:10]] + 1) % 4  # the reference is wrong on 10
    cand_topic[every50] = (y[every50] + 1) % 4  # the candidate on all 20
    ref = {**ref, "labelled": _with(ref["labelled"], "topic", ref_topic)}
    cand = {**ref, "labelled": _with(ref["labelled"], "topic", cand_topic)}
    res = _gate(lab, nat, ref, cand)
    assert res.tasks["topic"].agreement == pytest.approx(0.99)
    assert res.tasks["topic"].acc_delta_points == pytest.approx(-1.0)
    assert res.failures == [
        "topic accuracy moved -1.00 points (99.00% -> 98.00%), more than 0.5 on 1000 labelled texts"
    ]


def test_half_a_point_passes_and_six_tenths_fail() -> None:
    lab, nat, ref = _sets()
    y = ref["labelled"].labels["topic"]
    cand = y.copy()
    cand[:5] = (y[:5] + 1) % 4  # -0.5 points, agreement 99.5%
    assert _gate(lab, nat, ref, {**ref, "labelled": _with(ref["labelled"], "topic", cand)}).passed
    cand[:6] = (y[:6] + 1) % 4
    res = _gate(lab, nat, ref, {**ref, "labelled": _with(ref["labelled"], "topic", cand)})
    assert res.reason.startswith("topic accuracy moved -0.60 points")


def test_agreement_below_99_percent_fails_even_with_accuracy_unchanged() -> None:
    lab, nat, ref = _sets()
    y = ref["labelled"].labels["sentiment"]
    base = y.copy()
    base[:40] = (y[:40] + 1) % 3  # the reference is wrong on 40
    cand = base.copy()
    cand[:20] = (y[:20] + 2) % 3  # still wrong on those 40, 20 with another wrong label
    ref = {**ref, "labelled": _with(ref["labelled"], "sentiment", base)}
    res = _gate(lab, nat, ref, {**ref, "labelled": _with(ref["labelled"], "sentiment", cand)})
    assert res.tasks["sentiment"].acc_delta_points == 0.0
    assert res.failures == [
        "sentiment label agreement 98.00% < 99.00% (20 of 1000 labelled texts changed label)"
    ]


def test_natural_net_change_of_one_passes_two_fail_and_gains_count_too() -> None:
    lab, nat, ref = _sets()
    y = ref["natural"].labels["sentiment"]
    cand = y.copy()
    cand[:1] = (y[:1] + 1) % 3
    assert _gate(lab, nat, ref, {**ref, "natural": _with(ref["natural"], "sentiment", cand)}).passed
    cand[:2] = (y[:2] + 1) % 3
    res = _gate(lab, nat, ref, {**ref, "natural": _with(ref["natural"], "sentiment", cand)})
    assert res.failures == [
        "sentiment natural-set net change -2 sentences (more than 1; 2 of 100 changed label)"
    ]
    # a candidate two sentences BETTER than the reference is not the same model either
    worse = y.copy()
    worse[:2] = (y[:2] + 1) % 3
    res = _gate(
        lab, nat, {**ref, "natural": _with(ref["natural"], "sentiment", worse)}, ref
    )  # fmt: skip
    assert res.reason.startswith("sentiment natural-set net change +2 sentences")
    # two flips that cancel out (one right->wrong, one wrong->right): net 0, passes
    r2, c2 = y.copy(), y.copy()
    r2[0], c2[1] = (y[0] + 1) % 3, (y[1] + 1) % 3
    res = _gate(
        lab, nat,
        {**ref, "natural": _with(ref["natural"], "sentiment", r2)},
        {**ref, "natural": _with(ref["natural"], "sentiment", c2)},
    )  # fmt: skip
    assert res.passed and res.tasks["sentiment"].natural_flips == 2


def test_low_or_nan_cosine_fails() -> None:
    lab, nat, ref = _sets()
    rng = np.random.default_rng(1)
    emb = ref["labelled"].embeddings
    noisy = Predictions(ref["labelled"].labels, emb + 0.3 * rng.normal(size=emb.shape))
    res = _gate(lab, nat, ref, {**ref, "labelled": noisy})
    assert not res.passed and res.reason.startswith("mean embedding cosine 0.9")
    nan = Predictions(ref["labelled"].labels, emb * np.nan)
    res = _gate(lab, nat, ref, {**ref, "labelled": nan})
    assert not res.passed and "cosine nan" in res.reason and res.mean_cosine is None
    assert res.tags()["gate.onnx-int8.mean_cosine"] == "nan"


def test_thresholds_and_caller_errors() -> None:
    lab, nat, ref = _sets()
    assert not _gate(lab, nat, ref, ref, min_mean_cosine=1.1).passed
    short = Predictions({t: v[:-1] for t, v in ref["labelled"].labels.items()},
                        ref["labelled"].embeddings[:-1])  # fmt: skip
    with pytest.raises(ValueError, match="labelled candidate: 999 rows for 1000 texts"):
        _gate(lab, nat, ref, {**ref, "labelled": short})
    bad = TextSet(lab.texts, {**lab.truth, "topic": ["zzz"] * N})
    with pytest.raises(ValueError, match="not in the label set"):
        _gate(bad, nat, ref, ref)


def test_packaged_record_carries_backend_and_gate_for_metadata_and_tags() -> None:
    lab, nat, ref = _sets()
    passed = check_gate("onnx", LABELS, lab, nat, ref, ref)
    refused = _gate(lab, nat, ref, ref, min_mean_cosine=1.1)
    packaged = PackagedModel(
        registered=REGISTERED, labels=LABELS, dim=8, max_length=16,
        backend="onnx", gate=passed, refused=[refused],
    )  # fmt: skip
    back = PackagedModel.parse(packaged.model_dump(mode="json"), "metadata")
    assert back == packaged and back.bento_labels()["backend"] == "onnx"
    tags = back.version_tags()
    assert tags["serve.backend"] == "onnx"
    assert tags["gate.onnx.passed"] == "true" and tags["gate.onnx-int8.passed"] == "false"
    assert tags["gate.onnx-int8.reason"].startswith("mean embedding cosine")
    old = {k: v for k, v in packaged.model_dump(mode="json").items() if k in {
        "registered", "labels", "dim", "max_length"}}  # fmt: skip
    assert PackagedModel.parse(old, "a record from before ONNX").backend == "torch"
    # BentoML metadata takes no None (store_model drops them): such records still read back
    nan = check_gate("onnx", LABELS, lab, nat, ref, {**ref, "natural": Predictions(
        ref["natural"].labels, ref["natural"].embeddings * np.nan)})  # fmt: skip
    for record in (PackagedModel.parse(old, "torch"), packaged.model_copy(update={"gate": nan})):
        dumped = record.model_dump(mode="json", exclude_none=True)
        assert None not in dumped.values() and PackagedModel.parse(dumped, "metadata") == record


# -- on the tiny model: broken exports refused, the package policy ------------------------------
@pytest.fixture(scope="module")
def sets() -> tuple[TextSet, TextSet]:
    return gate_sets()


def test_a_healthy_fp32_export_passes(tiny_onnx: TinyOnnx, sets: tuple[TextSet, TextSet]) -> None:
    res = gate_folder(tiny_onnx.model, tiny_onnx.fp32, "onnx", *sets)
    assert res.passed, res.reason
    assert res.mean_cosine > 0.9999 and res.tasks["topic"].agreement == 1.0


def test_an_export_with_swapped_head_classes_is_refused(
    tiny_onnx: TinyOnnx, sets: tuple[TextSet, TextSet], tmp_path: Path
) -> None:
    """A label-order bug: the exported topic head has its classes rolled by one."""
    broken = copy.deepcopy(tiny_onnx.model)
    with torch.no_grad():
        head = broken.heads["topic"]
        head.weight.copy_(head.weight.roll(1, dims=0))
        head.bias.copy_(head.bias.roll(1, dims=0))
    export_onnx(broken, tmp_path / "e", source_digest="broken")
    res = gate_folder(tiny_onnx.model, tmp_path / "e", "onnx", *sets)
    assert not res.passed
    assert "topic label agreement" in res.reason and "sentiment" not in res.reason
    assert res.mean_cosine > 0.9999  # the embeddings are fine: only the label rules catch it


def test_perturbed_weights_are_refused(
    tiny_onnx: TinyOnnx, sets: tuple[TextSet, TextSet], tmp_path: Path
) -> None:
    """Weights corrupted after export (noise on every float initializer), checksum updated so
    that only the gate can catch it."""
    folder = tmp_path / "e"
    shutil.copytree(tiny_onnx.fp32, folder)
    graph = onnx.load(str(folder / GRAPH_FILE))
    rng = np.random.default_rng(0)
    for init in graph.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size > 1000:
            noisy = arr + 0.5 * arr.std() * rng.standard_normal(arr.shape).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(noisy.astype(np.float32), init.name))
    onnx.save(graph, str(folder / GRAPH_FILE))
    meta = OnnxMeta.read(folder / ONNX_META_FILE)
    sha = {**meta.sha256, GRAPH_FILE: file_digest(folder / GRAPH_FILE)}
    meta.model_copy(update={"sha256": sha}).write(folder / ONNX_META_FILE)
    res = gate_folder(tiny_onnx.model, folder, "onnx", *sets)
    assert not res.passed and "label agreement" in res.reason, res.reason
    assert res.mean_cosine < 0.9999


def test_int8_refused_falls_back_to_fp32_with_a_warning(
    tiny_onnx: TinyOnnx,
    sets: tuple[TextSet, TextSet],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The tiny random model's near-uniform heads do not survive int8: the default backend falls
    back to onnx (fp32), says so, and keeps the refused gate's figures."""
    with caplog.at_level(logging.WARNING, logger="multitask.onnx"):
        form = prepare_backend(tiny_onnx.model, "onnx-int8", tmp_path, *sets, source_digest="t")
    assert form.backend == "onnx" and form.gate is not None and form.gate.passed
    assert [r.backend for r in form.refused] == ["onnx-int8"] and not form.refused[0].passed
    assert "onnx-int8 refused by the accuracy gate" in caplog.text
    assert form.refused[0].reason in caplog.text
    assert OnnxMeta.read(form.folder / ONNX_META_FILE).variant == "fp32"


def test_fp32_refused_fails_the_stage_naming_metric_and_figure(
    tiny_onnx: TinyOnnx, sets: tuple[TextSet, TextSet], tmp_path: Path
) -> None:
    """Never a silent fall back to torch: when fp32 fails too, packaging stops, naming why."""
    strict = GateThresholds(min_mean_cosine=1.5)
    for requested in ("onnx-int8", "onnx"):
        with pytest.raises(PackagingError, match=r"refused by the accuracy gate: .*mean "
                           r"embedding cosine 1\.0000 < 1\.5"):  # fmt: skip
            prepare_backend(
                tiny_onnx.model, requested, tmp_path / requested, *sets,
                source_digest="t", thresholds=strict,
            )  # fmt: skip


def test_torch_needs_no_export(tiny_onnx: TinyOnnx, sets: tuple[TextSet, TextSet], tmp_path: Path):
    form = prepare_backend(tiny_onnx.model, "torch", tmp_path, *sets, source_digest="t")
    assert (form.backend, form.folder, form.gate, form.refused) == ("torch", None, None, [])
    assert not any(tmp_path.iterdir())
