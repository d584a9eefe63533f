"""Process hygiene shared by every entry point (API, worker, `up`, oracle node)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# CPython's own default. With it, json.loads of deeply nested input raises RecursionError.
DEFAULT_RECURSION_LIMIT = 1000


def restore_recursion_limit() -> None:
    """py_ecc (imported by eth-account) and py-evm raise the limit to 100,000 on import; then a
    deeply nested JSON document overflows the C stack (SIGSEGV) before RecursionError can fire.
    Call after a process's imports; py-evm in tests sets it again when it is imported."""
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)


def private_umask() -> int:
    """Files this process and its children create are theirs alone (0600 files, 0700 dirs):
    data directories hold keys, webhook secrets, evidence and node configs. Returns the old mask."""
    return os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Creates `path` (0700), and takes group/other access away from anything already in it
    (a data directory made before this rule)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o700)
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                file.chmod(file.stat().st_mode & 0o700)
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    return path


def write_private(path: Path, text: str) -> None:
    """Writes `path` whole (temp file + rename) with mode 0600, whatever the umask."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover, or a link planted in its place: never written through
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def create_private(path: Path, text: str) -> None:
    """Creates `path` (mode 0600) unless it exists: of two processes creating it at once, one wins
    and both then read the winner's text (a secret must not change under a running process)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.new")
    write_private(tmp, text)
    try:
        os.link(tmp, path)  # atomic and exclusive: never replaces what another process wrote
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
