"""Memory budget: size estimates (bytes) of large allocations, checked before allocating.

Every large allocation of the package (the assembled QCBO and its FIP constants, the Pyomo model,
replica arrays of the Ising oracles, code tables, lifted matrices, random-assignment batches) is
estimated first and compared with the budget by :func:`check_memory`; over the budget it raises a
:class:`MemoryLimitError` that gives the estimate, the budget and the option to change, instead of
letting the kernel kill the process halfway.

The budget is, in this order: the value set by :func:`set_max_memory` / :func:`memory_limit`
(``qcbo-qnn ... --max-memory SIZE``), the environment variable ``QCBO_MAX_MEMORY``, or
``DEFAULT_FRACTION`` of the memory available now (``MemAvailable``, capped by the cgroup limit and
``RLIMIT_AS`` when they are lower).  Estimates are deliberately on the high side (working copies
included); they guard against allocations that cannot fit, not against every last byte.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import resource

from .errors import QCBOError

__all__ = ["MemoryLimitError", "DEFAULT_FRACTION", "parse_size", "format_bytes", "available_memory",
           "max_memory", "set_max_memory", "memory_limit", "check_memory"]

DEFAULT_FRACTION = 0.8
ENV_VAR = "QCBO_MAX_MEMORY"

_limit: int | None = None


class MemoryLimitError(QCBOError):
    """An allocation would exceed the memory budget (``--max-memory``)."""


_UNITS = {"": 1, "b": 1, "k": 2 ** 10, "kb": 2 ** 10, "kib": 2 ** 10, "m": 2 ** 20, "mb": 2 ** 20,
          "mib": 2 ** 20, "g": 2 ** 30, "gb": 2 ** 30, "gib": 2 ** 30, "t": 2 ** 40, "tb": 2 ** 40, "tib": 2 ** 40}


def parse_size(text) -> int:
    """'4G', '512M', '1.5GB', '1000000' (bytes) -> bytes (binary units: 1G = 2^30)."""
    if isinstance(text, bool):
        raise MemoryLimitError(f"expected a memory size such as 4G or 512M, got {text!r}")
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise MemoryLimitError(f"expected a memory size such as 4G, 512M or a number of bytes, got {text!r}")
        value, unit = float(m.group(1)), m.group(2).lower()
    nbytes = value * _UNITS[unit]
    if not math.isfinite(nbytes) or nbytes < 1:
        raise MemoryLimitError(f"a memory size must be positive, got {text!r}")
    return int(nbytes)


def format_bytes(n) -> str:
    n = float(n)
    for unit, size in (("TB", 2 ** 40), ("GB", 2 ** 30), ("MB", 2 ** 20), ("kB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                raw = f.read().strip()
            if raw == "max":
                return None
            limit = int(raw)
            if limit >= 2 ** 60:
                return None
            with open(usage_file) as f:
                usage = int(f.read().strip())
            return max(limit - usage, 0)
        except (OSError, ValueError):
            continue
    return None


def _rlimit_available() -> int | None:
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        used = 0
    return max(soft - used, 0)


def available_memory() -> int:
    """Bytes this process can still allocate: MemAvailable, capped by the cgroup and RLIMIT_AS."""
    vals = [v for v in (_meminfo_available(), _cgroup_available(), _rlimit_available()) if v is not None]
    return min(vals) if vals else 2 ** 62


def max_memory() -> tuple:
    """(budget in bytes, where it comes from)."""
    if _limit is not None:
        return _limit, "--max-memory"
    env = os.environ.get(ENV_VAR)
    if env:
        return parse_size(env), f"${ENV_VAR}"
    return int(DEFAULT_FRACTION * available_memory()), \
        f"the default, {DEFAULT_FRACTION:.0%} of the {format_bytes(available_memory())} available"


def set_max_memory(nbytes) -> None:
    """Set the budget (bytes, or a size string like '4G'); None restores the default."""
    global _limit
    _limit = None if nbytes is None else parse_size(nbytes)


@contextlib.contextmanager
def memory_limit(nbytes):
    """Temporarily set the budget (``with memory_limit('2G'): ...``)."""
    global _limit
    old = _limit
    set_max_memory(nbytes)
    try:
        yield
    finally:
        _limit = old


def check_memory(nbytes, what: str, hint: str) -> None:
    """Raise :class:`MemoryLimitError` if ``nbytes`` (an estimate) exceeds the budget.

    ``what`` names the allocation ("the FIP-QCBO of 49 -> 100000 -> 1 on 16 samples"), ``hint`` the
    option to change ("reduce --hidden or --n-train")."""
    nbytes = float(nbytes)
    budget, source = max_memory()
    if nbytes > budget:
        raise MemoryLimitError(f"{what} needs about {format_bytes(nbytes)} (estimate), more than the "
                               f"{format_bytes(budget)} allowed ({source}); {hint}, or raise --max-memory")
