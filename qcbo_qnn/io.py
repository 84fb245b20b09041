"""JSON output: numpy-aware, NaN/inf-free and atomic (a crash never leaves a half-written file)."""
from __future__ import annotations

import enum
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["write_json", "write_text_atomic", "atomic_path", "to_jsonable", "check_writable"]


def to_jsonable(o):
    """Numpy scalars/arrays to Python, enums to their value, non-finite floats to None (valid JSON)."""
    if isinstance(o, dict):
        return {str(k): to_jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [to_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return to_jsonable(o.tolist())
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "to_dict") and callable(o.to_dict):
        return to_jsonable(o.to_dict())
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return repr(o)


def _target(path) -> Path:
    """The file a write to ``path`` lands in: symlinks are followed, so a link keeps pointing at the
    (new) content instead of being replaced by a regular file."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def write_text_atomic(path, text: str) -> None:
    """Write ``text``: to a temporary file in the same folder, then renamed over ``path`` (so a crash
    or Ctrl-C never leaves a half-written file).  Special files (``/dev/stdout``, a FIFO) are written
    directly: renaming over them would replace the device."""
    path = _target(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        with open(path, "w") as f:
            f.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_path(path, write) -> None:
    """Call ``write(tmp_path)`` for a temporary file beside ``path`` (same suffix), then rename it
    over ``path``; the temporary file is removed if ``write`` fails or is interrupted."""
    path = _target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=str(path.parent))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj) -> None:
    """Write ``obj`` as indented, standard JSON (NaN and infinities become null), atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    write_text_atomic(path, text)


def check_writable(path, folder: bool = False, what: str = "") -> None:
    """Raise OSError now if ``path`` (a file, or a folder with ``folder=True``) cannot be written later.

    The nearest existing folder is probed by creating (and removing) a temporary file in it, so the
    check holds for every user (root included) and every file system (read-only mounts, /proc)."""
    label = f"{what} " if what else ""
    p = _target(path)
    if str(path) == "":
        raise OSError(f"cannot write {label}'': empty path")
    if folder:
        if p.exists() and not p.is_dir():
            raise OSError(f"cannot write {label}{str(path)!r}: it is a file, not a folder")
    else:
        if p.is_dir():
            raise OSError(f"cannot write {label}{str(path)!r}: it is a folder; give a file name")
        if p.exists() and not p.is_file():
            return          # a device or FIFO (e.g. /dev/stdout): written directly
    target = p if folder else p.parent
    probe = target
    while not probe.exists():
        if probe.is_symlink():
            raise OSError(f"cannot write {label}{str(path)!r}: {str(probe)!r} is a dangling link")
        probe = probe.parent
    if not probe.is_dir():
        raise OSError(f"cannot write {label}{str(path)!r}: {str(probe)!r} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".qcbo-write-check.", dir=str(probe))
    except OSError as e:
        raise OSError(f"cannot write {label}{str(path)!r}: {str(probe)!r} is not a writable folder "
                      f"({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)
    if not folder and p.exists() and not os.access(p, os.W_OK):
        raise OSError(f"cannot write {label}{str(path)!r}: the file is read-only")
