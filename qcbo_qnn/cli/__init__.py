"""The ``qcbo-qnn`` command line: a thin layer over the library (``qcbo_qnn``, ``solvers``, ``validation``).

Subcommands are listed statically in ``SUBCOMMANDS``; each module has ``register(subparsers)``.
Exit codes: 0 when the command did its work (for solvers: returned a feasible point), 1 when a check
failed or no feasible point was found, 2 for invalid input (a typed error with what to do), 130 when
interrupted.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

try:    # the library's imports take a few seconds; a Ctrl-C then is an interrupt, not a traceback
    from qcbo_model.errors import QCBOError

    from . import baseline, bounds, build, certify, ising, predict, solve, train, verify
except KeyboardInterrupt:
    print("qcbo-qnn: interrupted during start-up", file=sys.stderr, flush=True)
    os._exit(130)           # nothing was done yet; a SystemExit raised inside an import is not reliable here

SUBCOMMANDS = (build, verify, solve, ising, bounds, train, predict, certify, baseline)

__all__ = ["main", "make_parser", "SUBCOMMANDS"]


def _memory_size(s: str) -> int:
    from qcbo_model.memory import MemoryLimitError, parse_size
    try:
        return parse_size(s)
    except MemoryLimitError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def make_parser() -> argparse.ArgumentParser:
    from qcbo_qnn import __version__
    from qcbo_model.memory import DEFAULT_FRACTION
    p = argparse.ArgumentParser(prog="qcbo-qnn", description="Quantized neural networks trained as QCBO")
    p.add_argument("--version", action="version", version=f"qcbo-qnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for mod in SUBCOMMANDS:
        mod.register(sub)
    for sp in sub.choices.values():
        # values such as "-1,2" or "-1e3" are values (read and then validated), not unknown options
        sp._negative_number_matcher = re.compile(r"^-\.?\d[\d.,eE+-]*$")
        sp.add_argument("--max-memory", type=_memory_size, default=None, metavar="SIZE",
                        help="memory budget, e.g. 8G or 512M: a step whose size estimate exceeds it is refused "
                             f"before it allocates (default: $QCBO_MAX_MEMORY, else {DEFAULT_FRACTION * 100:.0f}%% of the "
                             "available memory)")
    return p


def main(argv=None) -> int:
    from qcbo_model.memory import memory_limit
    try:
        parser = make_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("qcbo-qnn: interrupted during start-up", file=sys.stderr)
        return 130
    try:
        with memory_limit(args.max_memory):
            return int(args.func(args) or 0)
    except QCBOError as e:
        print(f"qcbo-qnn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"qcbo-qnn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:
        print(f"qcbo-qnn {args.command}: error: out of memory ({type(e).__name__}: {e}); the size estimates "
              "did not foresee this allocation: make the problem smaller or lower --max-memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qcbo-qnn {args.command}: interrupted", file=sys.stderr)
        return 130
