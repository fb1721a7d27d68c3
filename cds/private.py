"""Files that hold patient data (the SQLite stores, the audit trail) are created readable by
their owner only (0600), in a folder of the owner only (0700) when the package creates it: the
process umask (often 022) would otherwise leave them readable by every local user."""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def create_private(path: Path | str) -> None:
    """Create the file, empty and 0600, unless it exists (then it is left as its owner set it)."""
    path = Path(path)
    if path.exists():
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass  # another worker made it first


def open_private(path: Path | str) -> int:
    """A descriptor of the file, created 0600 when missing (for lock files)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
