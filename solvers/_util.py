"""Small helpers shared by the methods: progress bars and seed streams."""
from __future__ import annotations

import numpy as np


def progress_bar(iterable=None, total=None, desc: str = "", enabled: bool = False, unit: str = "it"):
    """A tqdm bar when ``enabled`` (and tqdm is importable), else a silent stand-in with the same API."""
    if enabled:
        from tqdm.auto import tqdm
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)
    return _Silent(iterable)


class _Silent:
    def __init__(self, iterable=None):
        self._it = iterable

    def __iter__(self):
        return iter(self._it)

    def update(self, n=1):
        pass

    def set_postfix(self, **kw):
        pass

    def close(self):
        pass


def seed_stream(seed: int, n: int = 2):
    """``n`` independent Generators from one seed (a method's own draws and its oracle calls)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]
