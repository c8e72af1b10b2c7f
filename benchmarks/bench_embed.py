"""Embedding throughput: our `encode` (PyTorch, and the ONNX Runtime serving backend in int8 and
fp32) vs sentence-transformers `encode`, same inputs, same batch size.

All run the same backbone (all-MiniLM-L6-v2; a tiny random BERT with --quick) on the same texts
(generated sentences plus a 10% tail of 60-120 word ones) at batch sizes 32 and 64.
sentence-transformers gets ``max_seq_length`` = our ``max_length`` (128) so both truncate alike;
its Normalize module stays on (its default pipeline; the cost is negligible). The embeddings are
checked to agree (cosine > 0.999) before anything is timed. The ONNX rows export the model as
the package stage does (`model.onnx_export`: fused fp32 graph, then dynamic int8 with
per-channel weights) and run it with the serving runtime (`model.onnx_runtime.OnnxModel`,
tokenising included, intra-op threads = torch's, no spinning); their cosine to PyTorch is in the
note. sentence-transformers' own ONNX backend is no peer row: it needs optimum-onnx, which
requires transformers < 4.58 (we pin 5.24), and optimum 1.17, the release pip resolves next to
our pins, fails to import.

Also: the fraction of the fp32 ceiling our encode reaches, i.e. useful forward FLOP/s (from the
model config and the real, unpadded token counts) over a 1024x1024 fp32 matmul rate measured in
the same run.

Targets: ours (PyTorch) >= 1.0 x sentence-transformers; the serving backend (ONNX int8) >= 2.5 x.

    .venv/bin/python benchmarks/bench_embed.py [--quick]
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import (
    Row,
    backbone_path,
    bench_main,
    bench_texts,
    interleaved,
    labels,
    log,
    matmul_gflops,
    median,
    paired_ratio,
    timed,
)


def forward_flops(config: Any, n_tokens: int) -> float:
    """Forward FLOPs of one sentence of `n_tokens` tokens through a BERT encoder.

    Per layer: Q, K, V, output projections (4 H^2) and the FFN (2 H I) multiply-adds per token,
    plus attention scores and the weighted sum (2 T^2 H); one multiply-add = 2 FLOPs. The
    embedding lookup, layer norms, softmax and pooling are negligible next to these.
    """
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_layer = 2 * n_tokens * (4 * h * h + 2 * h * i) + 2 * 2 * n_tokens * n_tokens * h
    return float(layers * per_layer)


def check_agreement(ours: Any, theirs: Any) -> float:
    """Smallest cosine similarity between the two implementations' embeddings."""
    import numpy as np

    a = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    b = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    return float((a * b).sum(1).min())


def _cosines(a: Any, b: Any) -> tuple[float, float]:
    """(mean, min) row cosine of two embedding matrices."""
    import numpy as np

    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = (a * b).sum(1)
    return float(cos.mean()), float(cos.min())


def run(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        return _run(quick, Path(tmp))


def _run(quick: bool, tmp: Path) -> list[Row]:
    import torch
    from sentence_transformers import SentenceTransformer

    from multitask.model.network import MultiTaskSentenceTransformer
    from multitask.model.onnx_export import export_onnx, quantize_folder
    from multitask.model.onnx_runtime import OnnxModel

    # Many short measurements beat a few long ones on a shared machine: each pair of adjacent
    # runs (ours, theirs) sees about the same load, and the ratio is the median over pairs.
    n_texts = 96 if quick else 256
    repeats = 2 if quick else 7
    batch_sizes: Sequence[int] = (32, 64)
    path = backbone_path(quick, tmp)
    ours = MultiTaskSentenceTransformer.from_backbone(path, labels(), max_length=128).eval()
    st = SentenceTransformer(path, device="cpu")
    st.max_seq_length = ours.max_length
    threads = torch.get_num_threads()
    export_onnx(ours, tmp / "fp32", source_digest="benchmark")
    quantize_folder(tmp / "fp32", tmp / "int8", ours)
    onnx = {v: OnnxModel(tmp / v, threads=threads) for v in ("int8", "fp32")}
    texts = bench_texts(n_texts)
    ids = ours.tokenize_ids(texts)
    n_tokens = [len(x) for x in ids]
    flops = sum(forward_flops(ours.encoder.config, t) for t in n_tokens)
    mean_tokens = sum(n_tokens) / len(n_tokens)
    log(
        f"embed: {len(texts)} texts, {mean_tokens:.1f} tokens on average "
        f"(max {max(n_tokens)}), {flops / len(texts) / 1e9:.3f} GFLOP/sentence, "
        f"torch threads {threads}, ONNX Runtime intra-op threads {threads}"
    )

    reference = ours.encode(texts)
    cos = check_agreement(reference[:64], st.encode(texts[:64], batch_size=32))
    if cos < 0.999:
        raise AssertionError(f"our embeddings differ from sentence-transformers (cos {cos:.4f})")
    onnx_cos = {v: _cosines(m.encode(texts), reference) for v, m in onnx.items()}
    log(f"embed: ONNX cosine to PyTorch (mean, min): {onnx_cos}")

    rows: list[Row] = []
    onnx_rows: list[Row] = []
    matmul_all: list[float] = []
    matmul = float("nan")
    for bs in batch_sizes:

        def run_ours(bs: int = bs) -> float:
            return len(texts) / timed(lambda: ours.encode(texts, batch_size=bs))

        def run_st(bs: int = bs) -> float:
            return len(texts) / timed(
                lambda: st.encode(texts, batch_size=bs, show_progress_bar=False)
            )

        def run_onnx(variant: str, bs: int = bs) -> float:
            return len(texts) / timed(lambda: onnx[variant].encode(texts, batch_size=bs))

        fns = {
            "ours": run_ours,
            "st": run_st,
            "onnx-int8": lambda: run_onnx("int8"),
            "onnx": lambda: run_onnx("fp32"),
        }
        if bs == batch_sizes[0]:  # the ceiling is measured between the same repeats
            fns["matmul"] = lambda: matmul_gflops(1024, 0.3 if quick else 0.5)
        res = interleaved(fns, repeats)
        if "matmul" in res:
            matmul_all = res["matmul"]
            matmul = median(matmul_all)
        o, s = median(res["ours"]), median(res["st"])
        log(f"embed bs={bs}: " + ", ".join(f"{k} {v}" for k, v in res.items() if k != "matmul"))
        rows.append(
            Row(
                f"embed bs={bs} (sentences/s)",
                o,
                s,
                "/s",
                ">= 1.0 x",
                ratio=paired_ratio(res["ours"], res["st"]),
                extra={"ours_all": res["ours"], "baseline_all": res["st"]},
            )
        )
        for backend, variant in (("onnx-int8", "int8"), ("onnx", "fp32")):
            mean_cos, min_cos = onnx_cos[variant]
            onnx_rows.append(
                Row(
                    f"embed ONNX Runtime {variant} bs={bs} (sentences/s)",
                    median(res[backend]),
                    s,
                    "/s",
                    ">= 2.5 x" if variant == "int8" else "",
                    ratio=paired_ratio(res[backend], res["st"]),
                    note=(
                        f"the `{backend}` serving backend in-process (tokenising included, "
                        f"{threads} intra-op threads) vs sentence-transformers encode (PyTorch "
                        f"fp32), same {len(texts)} texts and batch size, interleaved repeats; "
                        f"also {paired_ratio(res[backend], res['ours']):.2f}x our PyTorch "
                        f"encode. Embedding cosine to PyTorch: mean {mean_cos:.4f}, min "
                        f"{min_cos:.4f}. sentence-transformers' own ONNX backend: not "
                        "installable next to transformers 5.24 (optimum-onnx needs < 4.58)."
                    ),
                    extra={"ours_all": res[backend], "baseline_all": res["st"]},
                )
            )
    best = max(r.ours for r in rows)
    achieved = best * flops / len(texts) / 1e9
    ceiling_rate = matmul * 1e9 / (flops / len(texts))
    rows.append(
        Row(
            "embed: fraction of fp32 ceiling (GFLOP/s)",
            achieved,
            matmul,
            "GFLOP/s",
            note=(
                f"useful forward FLOPs ({flops / len(texts) / 1e9:.3f} GFLOP/sentence at "
                f"{mean_tokens:.1f} tokens, unpadded) x our best sentences/s, over a "
                f"1024x1024 fp32 matmul rate measured in the same run (= a ceiling of "
                f"{ceiling_rate:,.0f} sentences/s for these inputs); sentence-transformers "
                f"max_seq_length set to {ours.max_length} like ours."
            ),
            extra={"matmul_all": matmul_all, "mean_tokens": mean_tokens},
        )
    )
    return rows + onnx_rows


if __name__ == "__main__":
    bench_main(run, __doc__)
