"""The README's result and benchmark tables are what scripts/readme_tables.py writes from the
reports; an edited number, a report that dvc.lock does not pin, or uncommitted results fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import readme_tables as rt  # noqa: E402

README = ROOT / "README.md"


def test_readme_tables_are_generated_from_the_reports() -> None:
    current = README.read_text(encoding="utf-8")
    try:
        wanted = rt.render(current)
    except rt.StaleError as err:
        pytest.fail(f"cannot generate the README tables: {err}")
    assert wanted == current, "README.md is out of date with the reports: run make readme"


def _block(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


@pytest.mark.parametrize(
    ("block", "old", "new"),
    [
        ("results", "| 0.980 / 0.962 |", "| 0.990 / 0.962 |"),  # the champion's val accuracy
        ("results", "in commit `", "in commit `0"),
        ("bench", "| 3.23x |", "| 3.32x |"),
        ("bench", "2026-12-01", "2026-12-02"),
    ],
)
def test_an_edited_number_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture, block: str, old: str, new: str
) -> None:
    text = README.read_text(encoding="utf-8")
    part = _block(text, block)
    assert old in part, f"{old!r} is not in the {block} block any more: pick another number"
    edited = tmp_path / "README.md"
    edited.write_text(text.replace(part, part.replace(old, new, 1)), encoding="utf-8")
    assert rt.main(["--check", "--readme", str(edited)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert rt.main(["--readme", str(edited)]) == 0  # rewriting restores it
    assert edited.read_text(encoding="utf-8") == text


def _accs(value: str) -> dict[str, str]:
    return {
        f"{s}/acc_{t}": value for s in ("val", "test", "natural") for t in ("topic", "sentiment")
    }


ROWS = [
    {"scenario": "base", "params_trainable": "0", "train_seconds": "1.04"} | _accs("0.25"),
    {"scenario": "best", "params_trainable": "22715911", "train_seconds": "93.33"}
    | _accs("0.9876"),
]


def test_results_table_format() -> None:
    lines = rt.results_table(ROWS, champion="best").splitlines()
    assert lines[2] == (
        "| base (untrained baseline) | 0.250 / 0.250 | 0.250 / 0.250 | 0.250 / 0.250 | 0 | 1.0 |"
    )
    assert lines[3].startswith("| **best** (champion) | 0.988 / 0.988 |")
    assert lines[3].endswith("| 22.7 M | 93.3 |")


def test_bench_block_names_date_machine_and_missed_targets() -> None:
    row = {"benchmark": "serve", "ours": 1.0, "baseline": 2.0, "unit": "/s", "target": ">= 0.7 x"}
    data = {
        "machine": {"date": "D", "nproc": 2, "cpu": "C", "python": "3.11", "seconds": 9.6},
        "rows": [row | {"note": "why", "ratio": 0.5, "passed": False}],
    }
    text = rt.bench_block(data)
    assert "run: D, 2 cores (C), Python 3.11" in text and "10 s" in text
    assert "| serve | 1.00 /s | 2.00 /s | 0.50x | >= 0.7 x | **no** |" in text
    assert "- serve: why" in text


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _lock(csv_text: str) -> str:
    digest = rt.hashlib.md5(csv_text.encode(), usedforsecurity=False).hexdigest()
    return f"stages:\n  register:\n    outs:\n    - path: {rt.COMPARISON}\n      md5: {digest}\n"


def test_results_must_be_pinned_by_dvc_lock_and_committed(tmp_path: Path) -> None:
    repo = tmp_path
    (repo / "reports").mkdir()
    (repo / rt.COMPARISON).write_text("scenario\na\n")
    (repo / rt.CHAMPION).write_text(json.dumps({"scenario": "a"}))
    (repo / "dvc.lock").write_text(_lock("scenario\na\n"))
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results")
    commit, _ = rt.results_commit(repo)
    assert len(commit) == 10

    (repo / rt.COMPARISON).write_text("scenario\nb\n")  # edited by hand: dvc.lock disagrees
    with pytest.raises(rt.StaleError, match=r"not what dvc\.lock pins"):
        rt.results_commit(repo)
    (repo / "dvc.lock").write_text(_lock("scenario\nb\n"))  # a new run, not committed yet
    with pytest.raises(rt.StaleError, match="not committed"):
        rt.results_commit(repo)
