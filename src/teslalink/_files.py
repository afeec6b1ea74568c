"""Writing files so that a crash never leaves a half-written one behind.

State files (energy counters, tokens) are rewritten often and read back at start-up. If a write
were interrupted by a crash, a full disk or a power cut, the next start would find a truncated file
and lose the state, or, for tokens, the login. So every write goes to a temporary file in the same
directory (a rename is only atomic within one filesystem), is flushed to disk, gets its final mode,
and only then replaces the old file in one `os.replace`. Readers see the old file or the new one,
never a mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically, leaving the file with permissions `mode`.

    The default mode is owner-only because the callers keep tokens and private data; the mode is
    set explicitly (not through the umask) so it is what was asked for. The temporary file is
    created owner-only, so the data is never readable by others, even for a moment. On any
    failure the temporary file is removed and the old file, if any, is left as it was.
    """
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable. Best effort: not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
