"""Stop signals are raised at safe points: never inside a shielded write, at once elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from multitask import signals


@pytest.fixture
def handlers():
    saved = {sig: signal.getsignal(sig) for sig in signals.STOP_SIGNALS}
    signals.install()
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", signals.STOP_SIGNALS)
def test_signal_outside_a_write_raises_at_once(handlers, sig):
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), sig)
        for _ in range(1000):  # the handler runs between bytecodes, right after the kill
            pass


@pytest.mark.parametrize("sig", signals.STOP_SIGNALS)
def test_signal_inside_a_write_waits_for_its_end(handlers, sig):
    steps = []
    with pytest.raises(KeyboardInterrupt), signals.shielded():
        os.kill(os.getpid(), sig)
        for _ in range(1000):
            pass
        steps.append("write finished")
        with signals.shielded():  # nested writes: raised only when the outermost ends
            steps.append("nested write finished")
        steps.append("after nested")
    assert steps == ["write finished", "nested write finished", "after nested"]
    # Nothing stays pending: the next shielded block runs to its end without raising.
    with signals.shielded():
        steps.append("next write")
    assert steps[-1] == "next write"


def test_shield_decorator_defers_too(handlers):
    @signals.shield
    def write() -> str:
        os.kill(os.getpid(), signal.SIGTERM)
        return "committed"

    done = []
    with pytest.raises(KeyboardInterrupt):
        done.append(write())
    assert done == []  # raised as the write returned, before the caller used its result


def test_second_signal_during_a_write_exits_at_once():
    code = textwrap.dedent(
        """
        import os, signal, time
        from multitask import signals
        signals.install()
        with signals.shielded():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)
        print("not reached")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == signals.EXIT_CODE
    assert "stopping now" in proc.stderr
    assert "not reached" not in proc.stdout
