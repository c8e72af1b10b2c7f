"""The model room: the network, its inputs and outputs, where it runs, how it is saved.

`network` holds `MultiTaskSentenceTransformer` (torch); `backbone` finds and quiets the Hugging
Face encoder; `inputs` batches token ids and `outputs` turns probabilities into results (both
numpy only, so the ONNX serving path uses them without torch); `device` picks CPU or CUDA.
May import the bottom layer (config, errors, records, io) only: nothing here knows of DVC,
MLflow or BentoML.
"""
