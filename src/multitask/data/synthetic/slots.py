"""Slots: ``{name}`` placeholders in the vocabulary, filled per row (numbers, dates, names).

Words come from ``vocabulary/slots.yaml`` (`SlotWords`); numbers, scores, prices, times and
versions are drawn here. Every slot draws from the row's ``random.Random`` in a fixed order, so
the same seed fills the same words; changing what a slot draws (even a draw whose result is not
used) changes every row after it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from multitask.data.synthetic.vocabulary import SlotWords

SLOT_RE = re.compile(r"\{(\w+)\}")


def _score(r: random.Random, w: SlotWords) -> str:
    a = r.randint(1, 6)
    return f"{a}-{r.randint(0, a - 1)}"


def _time(r: random.Random, w: SlotWords) -> str:
    return f"{r.randint(1, 11)}:{r.choice(('00', '15', '30', '45'))} {r.choice('ap')}m"


def _when(r: random.Random, w: SlotWords) -> str:
    # Day and month are drawn before the phrase, whichever phrase is chosen ("on {day}",
    # "next week"): that is the draw order the data was first generated with.
    day, month = r.choice(w.day), r.choice(w.month)
    return r.choice(w.when).replace("{day}", day).replace("{month}", month)


_SLOTS: dict[str, Callable[[random.Random, SlotWords], str]] = {
    "n": lambda r, w: str(r.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 40, 120, 300, 1500))),
    "few": lambda r, w: r.choice(w.few),
    "big": lambda r, w: f"{r.randint(2, 95) * 100:,}",
    "pct": lambda r, w: str(r.choice((3, 5, 7, 8, 9, 11, 12, 14, 15, 18, 20, 22, 25, 30, 40))),
    "money": lambda r, w: r.choice(("$", "£", "€")) + f"{r.randint(2, 900)} million",
    "price": lambda r, w: f"${r.randint(3, 19) * 50 - 1}",
    "score": _score,
    "day": lambda r, w: r.choice(w.day),
    "month": lambda r, w: r.choice(w.month),
    "city": lambda r, w: r.choice(w.city),
    "time": _time,
    "gb": lambda r, w: str(r.choice((64, 128, 256, 512))),
    "ver": lambda r, w: f"{r.randint(2, 19)}.{r.randint(0, 9)}",
    "age": lambda r, w: str(r.choice((18, 40, 50, 60, 65, 70))),
    "person": lambda r, w: f"{r.choice(w.first_name)} {r.choice(w.last_name)}",
    "company": lambda r, w: r.choice(w.company),
    "hospital": lambda r, w: r.choice(w.hospital),
    "team": lambda r, w: r.choice(w.team),
    "team2": lambda r, w: r.choice(w.team),
    "techco": lambda r, w: r.choice(w.techco),
    "product": lambda r, w: r.choice(w.product),
    "when": _when,
}  # fmt: skip
NAMES = frozenset(_SLOTS)


def fill(r: random.Random, text: str, words: SlotWords) -> str:
    """Replace every ``{name}`` in `text`, left to right, by a fresh draw of that slot."""
    return SLOT_RE.sub(lambda m: _SLOTS[m.group(1)](r, words), text)
