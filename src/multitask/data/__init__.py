"""The data room: labelled sentence tables, their validation, and the synthetic generator.

- `tables`: load the source (synthetic or a user CSV), split train/val/test, read and write CSVs.
- `validation`: the pandera contract every split meets before training, and its failure report.
- `synthetic`: the sentence grammar and its vocabulary (YAML package data).

May import only the bottom layer (`multitask.config`, `multitask.errors`, `multitask.io`); never
the model, training, tracking or serving rooms, and never torch, mlflow or bentoml. This file
holds only this docstring, so importing one module of the room imports nothing else.
"""
