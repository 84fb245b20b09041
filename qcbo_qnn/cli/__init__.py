"""The ``qcbo-qnn`` command line: a thin layer over the library (``qcbo_qnn``, ``solvers``, ``validation``).

Subcommands are listed statically in ``SUBCOMMANDS``; each module has ``register(subparsers)``.
Exit codes: 0 when the command did its work (for solvers: returned a feasible point), 1 when a check
failed or no feasible point was found, 2 for invalid input (a typed error with what to do), 130 when
interrupted.
"""
from __future__ import annotations

import argparse
import sys

from qcbo_model.errors import QCBOError

from . import baseline, bounds, build, ising, predict, solve, train, verify

SUBCOMMANDS = (build, verify, solve, ising, bounds, train, predict, baseline)

__all__ = ["main", "make_parser", "SUBCOMMANDS"]


def make_parser() -> argparse.ArgumentParser:
    from qcbo_qnn import __version__
    p = argparse.ArgumentParser(prog="qcbo-qnn", description="Quantized neural networks trained as QCBO")
    p.add_argument("--version", action="version", version=f"qcbo-qnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for mod in SUBCOMMANDS:
        mod.register(sub)
    return p


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QCBOError as e:
        print(f"qcbo-qnn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"qcbo-qnn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qcbo-qnn {args.command}: interrupted", file=sys.stderr)
        return 130
