"""The tracking room: everything that imports mlflow, and nothing else does.

`store` connects to the tracking store and runs (start, end, orphans); `runs` logs params,
metrics, artifacts and the pyfunc model; `registry` registers versions, moves aliases and
downloads them; `pyfunc_model` is the "model from code" file MLflow executes to load a model.
May import the bottom layer and `model`.
"""
