"""Atomic outputs (private): a file or a whole folder appears complete or not at all.

- :func:`write_file` / :func:`atomic_file` write a file through a temporary sibling that is
  flushed, synced and renamed over the target, so a reader (or a rerun after a kill) sees the old
  file or the new one, never half of one.
- :func:`atomic_dir` gives a temporary sibling folder to write a whole report into and swaps it in
  when the block ends without error: a kill at any moment leaves the previous complete folder or
  the new complete one, never a mix of two runs. On Linux the swap is one ``renameat2`` call with
  ``RENAME_EXCHANGE``; elsewhere two renames, and a kill between them is repaired on the next run
  (the previous folder is put back). Temporaries left by killed runs are removed on the next run.

Any ``OSError`` while writing (disk full, permission denied, read-only file system) becomes a
:class:`~swapnet.errors.StorageError` naming the path.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from swapnet.errors import StorageError

__all__ = ["MARKER", "atomic_dir", "atomic_file", "check_replaceable", "clean_stale", "write_file"]

#: File written into every folder made by :func:`atomic_dir`; a folder holding it may be replaced.
MARKER = ".swapnet-output"

_TMP = ".tmp-"
_OLD = ".old-"


def _storage_error(path: Path, exc: OSError) -> StorageError:
    why = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return StorageError(path, why)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(name: str) -> int | None:
    """The pid recorded in a temporary's name ``.<target>.tmp-<pid>-<hex>``, if any."""
    parts = name.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_stale(target: str | Path) -> list[Path]:
    """Remove temporaries of ``target`` left by killed runs (whose process is gone); return them.

    A kill between the two renames of the non-Linux swap leaves ``target`` missing and the
    previous folder under its ``.old-`` name: it is put back first.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    olds: list[Path] = []
    for p in parent.iterdir():
        name = p.name
        is_tmp = name.startswith(f".{target.name}{_TMP}")
        is_old = name.startswith(f".{target.name}{_OLD}")
        if not (is_tmp or is_old):
            continue
        pid = _owner(name)
        if pid is not None and _pid_alive(pid):
            continue
        if is_old and not target.exists():
            olds.append(p)
            continue
        removed.append(p)
    for p in olds[:1]:
        p.rename(target)
    removed.extend(olds[1:])
    for p in removed:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()
    return removed


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "w", **kw: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` when the block ends.

    On an exception the temporary is removed and ``path`` is untouched.
    """
    path = Path(path)
    clean_stale(path)
    tmp = path.with_name(f".{path.name}{_TMP}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, mode, **kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent if str(path.parent) else Path("."))
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _storage_error(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_file(path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    if isinstance(data, bytes):
        with atomic_file(path, "wb") as fh:
            fh.write(data)
    else:
        with atomic_file(path, "w", encoding=encoding, newline="") as fh:
            fh.write(data)
    return Path(path)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def check_replaceable(target: str | Path) -> Path:
    """Refuse a ``target`` that :func:`atomic_dir` must not replace (a file, or a foreign non-empty folder).

    Raises
    ------
    swapnet.errors.InvalidInputError
        ``target`` is a file, sits under a file, or is a non-empty folder that is not a swapnet
        output (it has neither the :data:`MARKER` file nor a ``report.md``).
    """
    from swapnet import _validate as _v
    from swapnet.errors import InvalidInputError

    target = _v.output_dir(target, "outdir")
    ours = (target / MARKER).exists() or (target / "report.md").exists()
    if target.is_dir() and not ours and any(target.iterdir()):
        raise InvalidInputError(
            "outdir", str(target), "is a non-empty folder not written by swapnet; give a new or empty folder"
        )
    return target


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``target``; swap it in whole when the block ends.

    The previous ``target`` (if any) must be empty or a swapnet output folder (see
    :func:`check_replaceable`); it is replaced by the new folder in one step and removed. On an
    exception the temporary folder is removed and ``target`` is untouched.

    Raises
    ------
    swapnet.errors.InvalidInputError
        ``target`` cannot be replaced (see :func:`check_replaceable`).
    swapnet.errors.StorageError
        Writing or swapping failed (disk full, permissions).
    """
    target = Path(os.path.abspath(target))
    check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        check_replaceable(target)
        tmp = target.with_name(f".{target.name}{_TMP}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
    except OSError as exc:
        raise _storage_error(target, exc) from exc
    try:
        yield tmp
        (tmp / MARKER).write_text("written by swapnet; this whole folder is replaced by the next run\n")
        _fsync_dir(tmp)
        if target.exists():
            if _exchange(tmp, target):
                shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous folder
            else:
                old = target.with_name(f".{target.name}{_OLD}{os.getpid()}-{uuid.uuid4().hex[:8]}")
                target.rename(old)
                tmp.rename(target)
                shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
        _fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        where = target
        if isinstance(exc.filename, str) and exc.filename.startswith(str(tmp)):
            where = Path(str(target) + exc.filename[len(str(tmp)) :])  # name the file, not the temporary
        raise _storage_error(where, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
