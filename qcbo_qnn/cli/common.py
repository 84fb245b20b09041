"""Options shared by the subcommands, and the bridge from method configs to command-line flags.

Data and model options (``add_model_options``) mean the same in every subcommand.  Method options are
generated from each method's frozen config (``solvers.method_config``): a field ``iterations`` of the
``ising-descent`` config is ``--descent-iterations``, with the config's default shown in ``--help``;
a flag that is not given leaves the config default in place, a flag that is given is validated by the
config (so ``--descent-iterations 0`` is an error, not the default).  ``--oracle``,
``--oracle-option KEY=VALUE``, ``--time-limit`` and ``--seed`` apply to whichever method runs.
"""
from __future__ import annotations

import argparse
import json
import math

from qcbo_model.errors import QCBOError

# flag prefix per method (the method name where it is short enough)
PREFIX = {"ising-descent": "descent", "progressive-hedging": "ph", "random-search": "random"}
COMMON_FIELDS = ("seed", "oracle", "oracle_options", "time_limit")


class CLIError(QCBOError):
    """A command-line value is invalid."""


# ---------------------------------------------------------------------------------------------
def _items(s: str, what: str) -> list:
    items = [t.strip() for t in str(s).split(",")]
    if any(t == "" for t in items):
        raise argparse.ArgumentTypeError(f"expected a comma list of {what} without empty items, got {s!r}")
    return items


def int_list(s: str) -> list:
    try:
        return [int(t) for t in _items(s, "integers")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of integers, got {s!r}") from None


def float_list(s: str) -> list:
    try:
        vals = [float(t) for t in _items(s, "numbers")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of numbers, got {s!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {s!r}")
    return vals


def bits_list(s: str) -> list:
    return _items(s, "bit widths (1, B >= 2 or t)")


def positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


def finite_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {s!r}")
    return v


def nonneg_float(s: str) -> float:
    v = finite_float(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {s!r}")
    return v


def probability(s: str) -> float:
    v = finite_float(s)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {s!r}")
    return v


def nonneg_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    if v >= 2 ** 63:
        raise argparse.ArgumentTypeError(f"expected an integer below 2^63, got {v}")
    return v


def positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {s!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {s!r}")
    return v


def key_value(s: str) -> tuple:
    """KEY=VALUE with VALUE read as JSON where it parses (numbers, true/false, null), else a string."""
    if "=" not in s:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {s!r}")
    k, v = s.split("=", 1)
    try:
        val = json.loads(v)
    except json.JSONDecodeError:
        val = v
    return k.strip(), val


def add_model_options(p: argparse.ArgumentParser, n_train: int = 32) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist", "digits"])
    g.add_argument("--data-dir", default=None,
                   help="folder with the IDX files (else $QCBO_DATA_DIR, the Debian package, ../shared, cache)")
    g.add_argument("--classes", type=int_list, default=[0, 1], help="comma list; 2 = binary, more = one-vs-rest")
    g.add_argument("--n-train", type=positive_int, default=n_train,
                   help=f"balanced training samples (default {n_train})")
    g.add_argument("--n-test", type=positive_int, default=None,
                   help="test samples (default: the whole official test split)")
    g.add_argument("--pool", type=positive_int, default=4, help="average pooling size (4: 28x28 -> 7x7 = 49 features)")
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=int_list, default=[4], help="hidden widths, comma list; 0 = no hidden layer")
    g.add_argument("--activation", default="tanh")
    g.add_argument("--loss", default="logistic")
    g.add_argument("--bits", type=bits_list, default=None,
                   help="per layer: 1 binary, B>=2 grid, t ternary (default: 1 per hidden layer, 2 for the output)")
    g.add_argument("--intervals", type=int_list, default=None,
                   help="K per layer, the output last (default: 4 per hidden layer, 8 for the output)")
    g.add_argument("--breakpoints", default="uniform", choices=["uniform", "quantile"])
    g.add_argument("--form", default="interval", choices=["interval", "exact"])
    g.add_argument("--input-bits", type=positive_int, default=None,
                   help="quantize inputs to 2^B-1 levels (integer grid)")
    g.add_argument("--no-bias", action="store_true", help="no bias terms")
    g.add_argument("--seed", type=nonneg_int, default=0, help="seed of the data subset, the model and the solver")


def hidden_of(args) -> tuple:
    """--hidden: 0 alone means no hidden layer; a 0 among other widths is an error."""
    h = list(args.hidden)
    if h == [0]:
        return ()
    if any(v < 1 for v in h):
        raise CLIError(f"--hidden {','.join(map(str, h))}: widths must be >= 1 (use --hidden 0 alone for no "
                       "hidden layer)")
    return tuple(h)


def load_data(args, one_vs_rest_targets: bool = True):
    """The dataset the options ask for.  With more than two classes the labels are class indices;
    ``one_vs_rest_targets`` turns them into the (N, C) {-1, +1} targets ``build_problem`` takes (the
    estimator takes the indices)."""
    from qcbo_model.data import load_dataset, one_vs_rest
    ds = load_dataset(args.dataset, classes=tuple(args.classes), n_train=args.n_train, n_test=args.n_test,
                      pool=args.pool, seed=args.seed, data_dir=args.data_dir)
    C = len(args.classes)
    if C > 2 and one_vs_rest_targets:
        ds.y_train = one_vs_rest(ds.y_train, C)
        ds.y_test = one_vs_rest(ds.y_test, C)
    return ds


def spec_from_args(args, input_dim: int, n_classes: int = 2, **overrides):
    from qcbo_model.spec import NetworkSpec
    kw = dict(input_dim=input_dim, hidden=hidden_of(args), output_dim=1 if n_classes <= 2 else n_classes,
              activation=args.activation, loss=args.loss, bits=args.bits, intervals=args.intervals,
              breakpoints=args.breakpoints, input_bits=args.input_bits, bias=not args.no_bias, seed=args.seed)
    kw.update(overrides)
    return NetworkSpec(**kw)


def problem_from_args(args, ds=None, form=None, **overrides):
    from qcbo_model.problem import build_problem
    ds = ds if ds is not None else load_data(args)
    spec = spec_from_args(args, ds.X_train.shape[1], len(args.classes), **overrides)
    return build_problem(ds.X_train, ds.y_train, spec, form or args.form), ds


# ---------------------------------------------------------------------------------------------
def _flag(method: str, name: str) -> str:
    return f"--{PREFIX.get(method, method)}-{name.replace('_', '-')}"


def _dest(method: str, name: str) -> str:
    return f"opt__{method}__{name}"


class _NoneValue:
    """The user asked for None (an option whose config field allows it): distinct from 'not given'."""

    def __repr__(self):
        return "none"


NONE = _NoneValue()


def _or_none(conv, meta):
    def parse(s):
        if meta["allow_none"] and s.strip().lower() == "none":
            return NONE
        try:
            return conv(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if conv is int else 'a number'}"
                                             f"{' or none' if meta['allow_none'] else ''}, got {s!r}") from None
    return parse


def add_method_options(p: argparse.ArgumentParser, methods, oracle_help: str = "") -> None:
    """Flags for every option of every method in ``methods``, plus the common oracle/time-limit flags."""
    from solvers import available_oracles, method_config
    g = p.add_argument_group("oracle and limits (apply to the method that runs)")
    g.add_argument("--oracle", default=None, choices=available_oracles(),
                   help="Ising oracle of methods that use one (default: the method's own)" + oracle_help)
    g.add_argument("--oracle-option", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="oracle constructor option, e.g. num_sweeps=200 (sa) or num_steps=2000 (cim); repeatable")
    g.add_argument("--time-limit", type=positive_float, default=None,
                   help="seconds for the method (default: the method's own)")
    for m in methods:
        cfg = method_config(m)
        opts = [(n, d, meta) for n, d, meta in cfg.options() if meta.get("cli", True) and n not in COMMON_FIELDS]
        if not opts:
            continue
        g = p.add_argument_group(f"{m} options")
        for name, default, meta in opts:
            flag, dest = _flag(m, name), _dest(m, name)
            shown = "None" if default is None else (",".join(map(str, default)) if isinstance(default, tuple)
                                                     else str(default))
            help_ = f"{meta['help']} (default {shown})"
            kind = meta["kind"]
            help_ = help_.replace("%", "%%")
            if meta["allow_none"]:
                help_ += "; 'none' for None"
            if kind == "bool":
                g.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_)
            elif kind == "int":
                g.add_argument(flag, dest=dest, type=_or_none(int, meta), default=None, metavar="N", help=help_)
            elif kind == "float":
                g.add_argument(flag, dest=dest, type=_or_none(float, meta), default=None, metavar="X", help=help_)
            elif kind == "floats":
                g.add_argument(flag, dest=dest, type=float_list, default=None, metavar="X,Y,..", help=help_)
            elif kind == "str":
                g.add_argument(flag, dest=dest, default=None, choices=meta["choices"], help=help_)


def method_options_from_args(args, method: str, strict: bool = True) -> dict:
    """The options the user gave for ``method`` (only those), ready for ``solvers.method_config``;
    ``strict``: flags of other methods are an error (they would silently do nothing)."""
    from solvers import method_config
    fields = {n for n, _, _ in method_config(method).options()}
    opts = {}
    prefix = f"opt__{method}__"
    for k, v in vars(args).items():
        if k.startswith(prefix) and v is not None:
            opts[k[len(prefix):]] = None if v is NONE else (tuple(v) if isinstance(v, list) else v)
    # flags given for another method are an error: they would silently do nothing
    other = sorted(_flag(k.split("__")[1], k.split("__")[2]) for k, v in vars(args).items()
                   if k.startswith("opt__") and not k.startswith(prefix) and v is not None)
    if other and strict:
        raise CLIError(f"{', '.join(other)} do not apply to method {method!r}")
    if "seed" in fields:
        opts["seed"] = args.seed
    # the common flags apply to the method that runs; with strict=False (several methods in one
    # command) a method that has no such option simply does not take it
    for flag, dest, field, value in (("--time-limit", "time_limit", "time_limit", getattr(args, "time_limit", None)),
                                     ("--oracle", "oracle", "oracle", getattr(args, "oracle", None)),
                                     ("--oracle-option", "oracle_option", "oracle_options",
                                      dict(getattr(args, "oracle_option", None) or []) or None)):
        if value is None:
            continue
        if field in fields:
            opts[field] = value
        elif strict:
            raise CLIError(f"method {method!r} takes no {flag} (it has no option {field!r})")
    return opts


def print_table(rows, fmt: str = ".4f", width: int = 20) -> None:
    for k, v in rows:
        print(f"{k:>{width}}: {v:{fmt}}" if isinstance(v, float) else f"{k:>{width}}: {v}")
