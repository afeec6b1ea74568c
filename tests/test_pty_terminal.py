"""The pseudo-terminal helper: `run_until_exit` returns once the child has exited, not merely
once its terminal has ended (the two are apart while an exiting process is torn down)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pty_terminal import Terminal, run_until_exit

HANG_GUARD_S = 30.0

# The child closes its side of the terminal, then takes a while to exit: the gap the kernel
# leaves between an exiting process's files closing and the process being reapable, made wide.
CLOSES_THEN_EXITS = "import os, time\nfor fd in (0, 1, 2):\n    os.close(fd)\ntime.sleep(0.5)\nos._exit(7)\n"


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_run_until_exit_waits_for_the_child_after_its_terminal_ends() -> None:
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", CLOSES_THEN_EXITS], stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    terminal = Terminal(80, 24, process, master)
    try:
        run_until_exit([terminal], HANG_GUARD_S)
        assert terminal.done
        assert process.poll() == 7
    finally:
        process.kill()
        terminal.close()
