"""The training room: freezing scenarios, the training loop, data-parallel helpers, metrics,
champion selection and report plots.

May import the bottom layer, `data` and `model`; never mlflow or bentoml (the stage scripts pass
tracking callbacks in).
"""
