"""JSON output: numpy-aware, NaN/inf-free and atomic (a crash never leaves a half-written file)."""
from __future__ import annotations

import enum
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["write_json", "to_jsonable", "check_writable"]


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


def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON: to a temporary file in the same folder, then renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable(obj), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_writable(path, folder: bool = False) -> None:
    """Raise OSError now if ``path`` (a file, or a folder with ``folder=True``) cannot be written later."""
    p = Path(path)
    target = p if folder else p.parent
    probe = target
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OSError(f"cannot write {str(p)!r}: {str(probe)!r} is not a writable folder")
    if not folder and p.exists() and (p.is_dir() or not os.access(p, os.W_OK)):
        raise OSError(f"cannot write {str(p)!r}: it is a folder or read-only")
    if folder and p.exists() and not p.is_dir():
        raise OSError(f"cannot write plots to {str(p)!r}: it is a file, not a folder")
