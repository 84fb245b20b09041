"""``qcbo-qnn ising``: solve one benchmark Ising/MaxCut instance with any registered oracle.

Energies are printed and reported in the FILE convention ``H(s) = -1/2 s^T J_file s`` (equal to our
Ising energy, see ``solvers.ising.problems``).
"""
from __future__ import annotations

import argparse
import sys

from solvers.ising.problems import Ising
from solvers.ising.registry import ORACLES, available_oracles, get_oracle
from validation.bounds import tts

from ..io import check_writable, write_json
from .common import finite_float, key_value, nonneg_int, positive_float, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--instance", required=True, help="coupling file (.npy, .npz or rudy text)")
    parser.add_argument("--format", choices=("npy", "npz", "rudy"), default=None,
                        help="file format (default: from the suffix; other suffixes read as rudy)")
    parser.add_argument("--maxcut", action="store_true",
                        help="file holds MaxCut weights A (J_file = -A); also report the cut")
    parser.add_argument("--oracle", choices=available_oracles(), default="cim")
    parser.add_argument("--reads", type=positive_int, default=32, help="replicas / reads")
    parser.add_argument("--seed", type=nonneg_int, default=0)
    parser.add_argument("--time-limit", type=positive_float, default=None, dest="time_limit",
                        help="seconds: the best-so-far reads are returned")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="work per read: cim Euler steps, sa sweeps, greedy flips (the oracle's own default "
                             "when not given)")
    parser.add_argument("--oracle-option", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                        help="oracle constructor option; repeatable")
    parser.add_argument("--target", type=finite_float, default=None,
                        help="target energy (file convention); cim stops once every replica reached it")
    parser.add_argument("--report", default=None, help="write a JSON report to this file")
    return parser


def _make_oracle(args):
    opts = dict(args.oracle_option)
    entry = ORACLES[args.oracle]
    if args.steps is not None:
        if entry.effort is None:
            from solvers.ising.base import OracleError
            raise OracleError(f"--steps does not apply to the {args.oracle!r} oracle")
        opts[entry.effort] = args.steps
    if args.oracle == "cim":
        opts.setdefault("stop_when", "all")
    return get_oracle(args.oracle, **opts)


def run(args) -> int:
    if args.report:
        check_writable(args.report)
    problem = Ising.from_coupling_file(args.instance, fmt=args.format, maxcut=args.maxcut)
    oracle = _make_oracle(args)
    print(f"instance   : {args.instance} (n={problem.n})")
    print(f"oracle     : {oracle.name}, reads={args.reads}, seed={args.seed}", flush=True)
    try:
        ss = oracle.sample(problem, num_reads=args.reads, seed=args.seed, target_energy=args.target,
                           time_limit=args.time_limit)
    except KeyboardInterrupt:
        print(f"qcbo-qnn ising: interrupted before the {oracle.name} oracle returned any read; nothing to report "
              "(use --time-limit to bound a run and keep its best reads)", file=sys.stderr)
        return 130
    report = {"instance": args.instance, "oracle": oracle.name, "seed": args.seed, "n": problem.n,
              "reads": ss.num_reads, "best_energy": ss.best_energy,
              "mean_energy": float(ss.energies.mean()),
              "wall_time_s": ss.info["wall_time_s"],
              "energy_convention": "H(s) = -1/2 s^T J_file s (file convention, diagonal included)",
              "diagonal_offset": problem.info.get("diagonal_offset", 0.0)}
    if ss.num_reads != args.reads:
        print(f"reads      : {ss.num_reads} of {args.reads} ({ss.info.get('stop_reason')})")
    print("convention : energies in the file convention H(s) = -1/2 s^T J_file s"
          + (f" (diagonal: constant {problem.info['diagonal_offset']:.10g})" if problem.info.get("diagonal_offset")
             else ""))
    print(f"best energy: {ss.best_energy:.10g}")
    if args.maxcut:
        report["best_cut"] = float(problem.cut(ss.best_energy))
        print(f"best cut   : {report['best_cut']:.10g}")
    if args.target is not None:
        p = ss.info["success_probability"]
        t = ss.info["wall_time_s"]
        report["target"] = args.target
        report["success_probability"] = p
        report["tts99_s"] = tts(t, p)
        print(f"success    : {p:.3f} of reads reached {args.target:g}; TTS99 = {report['tts99_s']:.4g} s")
    print(f"wall time  : {ss.info['wall_time_s']:.3f} s")
    for k in ("steps", "sweeps", "stop_reason"):
        if k in ss.info:
            report[k] = ss.info[k]
    report["best_sample"] = ss.best_sample.tolist()
    if args.report:
        write_json(args.report, report)
    if ss.info.get("stop_reason") == "interrupted":
        print("qcbo-qnn ising: interrupted; reported the reads finished so far", file=sys.stderr)
        return 130
    return 0


def register(subparsers) -> None:
    """Add the ``ising`` subcommand to the ``qcbo-qnn`` command line."""
    p = subparsers.add_parser("ising", help="solve an Ising/MaxCut instance file with an oracle (CIM, SA, exact)")
    add_arguments(p)
    p.set_defaults(func=run)


