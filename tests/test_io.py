"""Atomic outputs: a failed write keeps the old output and leaves no temporaries; what a killed
writer left (SIGKILL runs no cleanup) is removed by the next write of the same output."""

from __future__ import annotations

from pathlib import Path

import pytest

from multitask.io import atomic_dir, atomic_path, atomic_write_text


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("interrupt", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_writes_keep_the_old_output_and_leave_nothing(tmp_path: Path, interrupt) -> None:
    atomic_write_text(tmp_path / "a.txt", "old")
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "f").write_text("old")

    with pytest.raises(type(interrupt)), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "f").write_text("new")
        raise interrupt
    with pytest.raises(type(interrupt)), atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("new")
        raise interrupt

    assert (tmp_path / "out" / "f").read_text() == "old"
    assert (tmp_path / "a.txt").read_text() == "old"
    assert _hidden(tmp_path) == []


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path: Path) -> None:
    (tmp_path / ".out.abc123.tmp").mkdir()  # a killed atomic_dir
    (tmp_path / ".out.abc123.tmp" / "half").write_text("x")
    (tmp_path / ".out.old").mkdir()  # killed between the two renames
    (tmp_path / ".a.txt.k9.tmp").write_text("half")  # a killed atomic_path
    (tmp_path / ".other.zz.tmp").write_text("not ours")  # another output's: left alone

    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "f").write_text("new")
    atomic_write_text(tmp_path / "a.txt", "new")

    assert (tmp_path / "out" / "f").read_text() == "new"
    assert (tmp_path / "a.txt").read_text() == "new"
    assert _hidden(tmp_path) == [".other.zz.tmp"]
