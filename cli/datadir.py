"""The data directory holds secrets: SQLite databases, the token-signing key, images.

Only the owner may read it. Everything a command writes gets owner-only modes through
the umask (SQLite creates its -wal and -shm files like the database file), and what
earlier versions left readable is tightened on start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_UMASK = 0o077


def secure_data_dir(path: Path) -> None:
    """Make what this process creates owner-only; tighten what is in ``path`` already.

    ``path`` itself is created later by whatever first writes there (0700 under the
    umask): a service that keeps nothing there (PostgreSQL, no builtin tokens) must
    not fail for want of a directory it never uses.
    """
    os.umask(OWNER_ONLY_UMASK)
    if not path.is_dir():
        return
    _tighten(path)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            _tighten(Path(root) / name)


def _tighten(path: Path) -> None:
    st = path.lstat()
    # A symlink's own mode means nothing, and its target may be outside the directory.
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
        return
    path.chmod(stat.S_IMODE(st.st_mode) & ~0o077)
