"""MLflow pyfunc "model from code": loads our own class from the logged safetensors folder.

MLflow executes this file both when logging and when loading, so it has no side effects beyond
declaring the model. Input: a DataFrame with a ``text`` column. Output: one row per text with
the predicted label per task and the probability of every label (``<task>_prob_<label>``).
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class MultiTaskPyfunc(PythonModel):
    def load_context(self, context: Any) -> None:
        from multitask.model.network import MultiTaskSentenceTransformer

        self.model = MultiTaskSentenceTransformer.load(context.artifacts["model_dir"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        from multitask.model.outputs import probs_to_frame

        if isinstance(model_input, pd.DataFrame):
            if "text" not in model_input.columns:
                raise ValueError("input needs a 'text' column")
            texts = model_input["text"].astype(str).tolist()
        else:
            texts = [str(t) for t in model_input]
        return probs_to_frame(self.model.predict_proba(texts), self.model.labels)


mlflow.models.set_model(MultiTaskPyfunc())
