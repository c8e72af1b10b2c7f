"""Test and benchmark harness (not shipped): a local `bentoml serve`, a bounded load client, the
tiny random backbone and the tiny pipeline copy that tests, benchmarks and `make pipeline-tiny`
share.
"""
