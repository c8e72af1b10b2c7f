"""The tracking room: everything that imports mlflow, and nothing else does.

`store` connects to the tracking store and runs (start, end, orphans); `sqlite` makes the
default sqlite store safe for parallel pipelines (creation lock, WAL, lock retries); `orphans`
says which RUNNING runs a dead process left; `execution` names one pipeline execution; `runs`
logs params, metrics, artifacts and the pyfunc model; `registry` registers versions, moves
aliases and downloads them; `compare` builds the UI's compare link; `pyfunc_model` is the
"model from code" file MLflow executes to load a model.
May import the bottom layer and `model`.
"""
