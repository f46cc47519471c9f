"""Durable file primitives shared by everything that writes data files: locks, fsync, atomic replace.

Every primitive takes the file's permission bits explicitly: 0644 (``PUBLIC_FILE``) for what anyone on the machine
may read, 0600/0700 (``PRIVATE_FILE``/``PRIVATE_DIRECTORY``) for staff-only layers, private sidecars and accounts,
applied whatever the process's umask and to files an older version left looser.

``fcntl.flock`` is used directly rather than the ``filelock`` package because the store needs *shared* locks for
readers as well as exclusive ones for writers, across processes and threads; filelock offers exclusive locks only.
"""

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

PUBLIC_FILE = 0o644
PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700


@contextmanager
def locked(path, exclusive, mode=PUBLIC_FILE):
    """Hold a shared or exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    Each call opens its own file description, so two threads of one process exclude each other as two processes do.
    The descriptor is yielded so that a writer can record its intent in the lock file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        keep_mode(fd, mode)
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


def keep_mode(fd, mode):
    """Give an open file exactly ``mode`` (a file an older version wrote 0644 becomes 0600 at its next write)."""
    if os.fstat(fd).st_mode & 0o777 != mode:
        try:
            os.fchmod(fd, mode)
        except PermissionError:  # another account's file (a CLI run as root): reading it must still work
            pass


def atomic_write(path, data, mode=PUBLIC_FILE):
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never a mix.

    Writes a temporary file (``mode`` from its creation: mkstemp makes it 0600) in the same directory, fsyncs it,
    renames it over ``path`` and fsyncs the directory.
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(path.parent)


def ensure_directory(path, mode=None):
    """Create ``path`` (and parents) durably if it does not exist; with ``mode``, give ``path`` exactly that mode
    (parents keep the default)."""
    path = Path(path)
    if not path.is_dir():
        ensure_directory(path.parent)
        try:
            path.mkdir()
        except FileExistsError:
            pass
        else:
            fsync_directory(path.parent)
    if mode is not None and path.stat().st_mode & 0o777 != mode:
        os.chmod(path, mode)
