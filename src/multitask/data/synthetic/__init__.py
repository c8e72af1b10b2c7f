"""Synthetic labelled sentences for the two tasks (topic and sentiment), deterministic per seed.

- `generator`: `generate_synthetic`, the entry point: plans the rows, draws, dedups, adds noise.
- `grammar`: sentence shapes (statements, reviews, headlines, questions, ...), negation,
  distractor clauses and follow-up sentences.
- `slots`: ``{name}`` placeholders (numbers, dates, names) filled per row.
- `vocabulary`: loads and checks the words, which live as YAML files in ``vocabulary/``.

This file holds only this docstring (see `multitask.data`).
"""
