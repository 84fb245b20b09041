"""Frozen, validated method configurations: the one place every default of a method is declared.

Each method declares a frozen dataclass whose fields are made with :func:`option`; the library
(``solvers.solve``), the estimator (``qcbo_qnn.QNNClassifier``), the command line (which builds its
flags from these fields) and the benchmark scripts all read their defaults from it.

Validation happens when a config is made (``__post_init__``), so an invalid value is rejected with
a :class:`ConfigError` that names the field, the accepted range and the value; there is no
"0 means default": a value given is the value used.  Numpy scalars are accepted where a number is,
sequences where a tuple is; nothing else is coerced.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qcbo_model.errors import QCBOError

__all__ = ["ConfigError", "MethodConfig", "option", "check_oracle", "oracle_name"]


class ConfigError(QCBOError):
    """A method option has the wrong type or is out of range."""


def option(default, help: str, *, kind: str, min=None, max=None, choices=None, allow_none: bool = False,
           exclusive_min: bool = False, cli: bool = True):
    """A config field.  ``kind``: 'int', 'float', 'bool', 'str', 'floats' (tuple of floats), 'dict'
    (a mapping of options) or 'any'; ``min``/``max`` bound numbers (``exclusive_min``: strictly above);
    ``choices`` restricts strings; ``cli=False`` keeps the field off the command line."""
    meta = dict(help=help, kind=kind, min=min, max=max, choices=choices, allow_none=allow_none,
                exclusive_min=exclusive_min, cli=cli)
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _range_text(meta) -> str:
    lo, hi = meta["min"], meta["max"]
    parts = []
    if lo is not None:
        parts.append(f"{'>' if meta['exclusive_min'] else '>='} {lo}")
    if hi is not None:
        parts.append(f"<= {hi}")
    return " and ".join(parts)


def check_value(owner: str, name: str, value, meta) -> Any:
    """Validate one value against a field's metadata; returns it in its canonical Python type."""
    kind = meta["kind"]
    where = f"{owner}.{name}"
    if value is None:
        if meta["allow_none"]:
            return None
        raise ConfigError(f"{where} cannot be None")
    rng = _range_text(meta)
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"{where} must be an integer{' ' + rng if rng else ''}, got {value!r}")
        value = int(value)
    elif kind == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ConfigError(f"{where} must be a number{' ' + rng if rng else ''}, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be finite, got {value!r}")
    elif kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{where} must be True or False, got {value!r}")
        return bool(value)
    elif kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ConfigError(f"{where} must be one of {tuple(meta['choices'])}, got {value!r}")
        return value
    elif kind == "floats":
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            raise ConfigError(f"{where} must be a sequence of numbers, got {value!r}")
        vals = tuple(check_value(owner, f"{name}[{i}]", v, {**meta, "kind": "float", "allow_none": False})
                     for i, v in enumerate(np.asarray(value, dtype=object).ravel()))
        if not vals:
            raise ConfigError(f"{where} needs at least one value")
        return vals
    elif kind == "dict":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping of option names to values, got {value!r}")
        if not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{where}: option names must be strings")
        return dict(value)
    else:
        return value
    lo, hi = meta["min"], meta["max"]
    if lo is not None and (value <= lo if meta["exclusive_min"] else value < lo):
        raise ConfigError(f"{where} must be {rng}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{where} must be {rng}, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class MethodConfig:
    """Base of every method config: validation of all fields, ``replace`` and ``to_dict``."""

    def __post_init__(self):
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            if "kind" not in f.metadata:
                continue
            object.__setattr__(self, f.name, check_value(owner, f.name, getattr(self, f.name), f.metadata))

    def replace(self, **overrides) -> "MethodConfig":
        """A copy with some fields changed (validated); unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(self)}
        bad = sorted(set(overrides) - names)
        if bad:
            raise ConfigError(f"{type(self).__name__} has no option(s) {bad}; options: {sorted(names)}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        """JSON-able values (an Oracle instance is written as its name)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "oracle":
                v = oracle_name(v)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def options(cls) -> list:
        """[(name, default, metadata)] of every declared option."""
        out = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out.append((f.name, default, dict(f.metadata)))
        return out


def check_oracle(owner: str, oracle) -> None:
    """An oracle option is a registered name or an Oracle instance."""
    from .ising.base import Oracle
    from .ising.registry import available_oracles
    if isinstance(oracle, Oracle):
        return
    if not isinstance(oracle, str) or oracle.lower() not in available_oracles():
        raise ConfigError(f"{owner}.oracle must be one of {available_oracles()} or an Oracle instance, "
                          f"got {oracle!r}")


def oracle_name(oracle) -> str:
    return oracle if isinstance(oracle, str) else getattr(oracle, "name", type(oracle).__name__)
