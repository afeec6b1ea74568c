"""A child process on a real pseudo-terminal of a given size, for the live views' tests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Terminal:
    """A child process on its own pseudo-terminal of `columns` x `rows`, and all it wrote."""

    columns: int
    rows: int
    process: subprocess.Popen[bytes]
    master: int
    output: bytes = b""
    done: bool = field(default=False)

    @classmethod
    def start(cls, args: list[str], columns: int, rows: int, env: dict[str, str] | None = None) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = dict(env or os.environ, COLUMNS=str(columns), LINES=str(rows), TERM="xterm-256color")
        process = subprocess.Popen(
            [sys.executable, "-m", "teslalink", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        return cls(columns, rows, process, master)

    def read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed its side
            data = b""
        if data:
            self.output += data
        else:
            self.done = True

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def last_frame(self, ending: str = "", containing: str = "") -> list[str]:
        """The lines of the last frame drawn (rich erases the previous frame line by line first);
        with `ending`, the last that ends so (a frame still arriving does not), with `containing`,
        the last that holds that text."""
        frames = [
            ANSI.sub("", chunk).replace("\r", "").rstrip("\n") for chunk in self.text().split("\x1b[2K")
        ]
        frames = [f for f in frames if f.strip() and f.endswith(ending) and containing in f]
        assert frames, self.text()[-2000:]
        return frames[-1].split("\n")

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            os.close(self.master)


def run_until_exit(terminals: list[Terminal], timeout_s: float = 90.0) -> None:
    """Read every terminal until each child has exited (bounded: generous for a loaded machine).

    A terminal's end (EOF or EIO on the master) is not the child's exit: the kernel closes an
    exiting process's files, the pty's slave among them, before the process can be reaped, so
    `poll()` just after the last read may still say "running". Each child whose terminal ended is
    therefore waited for, within what is left of the bound.
    """
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not all(t.done for t in terminals):
        open_ = [t for t in terminals if not t.done]
        ready, _, _ = select.select([t.master for t in open_], [], [], 0.2)
        for terminal in open_:
            if terminal.master in ready:
                terminal.read()
            elif terminal.process.poll() is not None:
                terminal.read()  # drained: the next read fails or returns nothing
    for terminal in terminals:
        if terminal.done:
            with contextlib.suppress(subprocess.TimeoutExpired):  # still running: the caller says so
                terminal.process.wait(timeout=max(0.0, end - time.monotonic()))


def wait_for(terminal: Terminal, text: str, timeout_s: float = 40.0, then: str = "") -> bool:
    """Read until `text` is in the output (and, with `then`, `then` after it)."""

    def seen() -> bool:
        output = terminal.text()
        at = output.find(text)
        return at >= 0 and (not then or then in output[at:])

    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not seen() and not terminal.done:
        ready, _, _ = select.select([terminal.master], [], [], 0.2)
        if ready:
            terminal.read()
    return seen()
