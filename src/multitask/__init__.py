"""multitask: a reproducible pipeline for a multi-task sentence transformer.

A shared Hugging Face encoder with masked mean pooling gives sentence embeddings; a topic head
and a sentiment head sit on it. Rooms, bottom up (each subpackage's docstring says what it may
import; tests/test_layers.py enforces it):

    config, errors, records, io, signals, project
                                           the bottom layer: params, errors, typed records,
                                           atomic files, stop signals, where the project is
                                           and how DVC runs us
    data/       labelled tables: generation, splitting, validation
    model/      the network, its inputs and outputs, device, save/load
    training/   freezing scenarios, the loop, metrics, champion selection, plots
    tracking/   everything MLflow
    serving/    everything BentoML: the service and the bento store
    console, cli, promotion                stage-script plumbing, the `multitask` command and
                                           its `promote` (alias, champion.json, bento agree)
"""
