"""Durable file primitives shared by everything that writes data files: locks, fsync, atomic replace.

``fcntl.flock`` is used directly rather than the ``filelock`` package because the store needs *shared* locks for
readers as well as exclusive ones for writers, across processes and threads; filelock offers exclusive locks only.
"""

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(path, exclusive):
    """Hold a shared or exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    Each call opens its own file description, so two threads of one process exclude each other as two processes do.
    The descriptor is yielded so that a writer can record its intent in the lock file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def fsync_directory(path):
    """Make a create or rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, data):
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never a mix.

    Writes a temporary file in the same directory, fsyncs it, renames it over ``path`` and fsyncs the directory.
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(path.parent)


def ensure_directory(path):
    """Create ``path`` (and parents) durably if it does not exist."""
    path = Path(path)
    if path.is_dir():
        return
    ensure_directory(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return
    fsync_directory(path.parent)
