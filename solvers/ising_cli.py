"""``qcbo-qnn ising``: solve one benchmark Ising/MaxCut instance.

Energies are printed and reported in the FILE convention
``H(s) = -1/2 s^T J_file s`` (equal to our Ising energy, see solvers.problems).
"""
from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from .oracle import OracleError, get_oracle
from .problems import Ising, ProblemError

ORACLES = ("cim", "sa", "exact", "greedy")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--instance", required=True, help="coupling file (.npy, .npz or rudy text)")
    parser.add_argument("--format", choices=("npy", "npz", "rudy"), default=None,
                        help="file format (default: from the suffix; other suffixes read as rudy)")
    parser.add_argument("--maxcut", action="store_true",
                        help="file holds MaxCut weights A (J_file = -A); also report the cut")
    parser.add_argument("--oracle", choices=ORACLES, default="cim")
    parser.add_argument("--reads", type=int, default=32, help="replicas / reads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None, dest="time_limit",
                        help="seconds (cim, sa)")
    parser.add_argument("--steps", type=int, default=None,
                        help="cim: Euler steps per run; sa: sweeps")
    parser.add_argument("--target", type=float, default=None,
                        help="target energy (file convention); cim stops once every replica reached it")
    parser.add_argument("--report", default=None, help="write a JSON report to this file")
    return parser


def _make_oracle(args):
    if args.oracle == "cim":
        return get_oracle("cim", time_limit=args.time_limit, num_steps=args.steps,
                          stop_when="all")
    if args.oracle == "sa":
        return get_oracle("sa", num_sweeps=args.steps or 1000, time_limit=args.time_limit)
    return get_oracle(args.oracle)


def run(args) -> int:
    try:
        problem = Ising.from_coupling_file(args.instance, fmt=args.format, maxcut=args.maxcut)
        oracle = _make_oracle(args)
        ss = oracle.sample(problem, num_reads=args.reads, seed=args.seed, target_energy=args.target)
    except (ProblemError, OracleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = {"instance": args.instance, "oracle": oracle.name, "seed": args.seed, "n": problem.n,
              "reads": ss.num_reads, "best_energy": ss.best_energy,
              "mean_energy": float(ss.energies.mean()),
              "wall_time_s": ss.info["wall_time_s"],
              "energy_convention": "H(s) = -1/2 s^T J_file s (file convention)"}
    print(f"instance   : {args.instance} (n={problem.n})")
    print(f"oracle     : {oracle.name}, reads={ss.num_reads}, seed={args.seed}")
    print("convention : energies in the file convention H(s) = -1/2 s^T J_file s")
    print(f"best energy: {ss.best_energy:.10g}")
    if args.maxcut:
        report["best_cut"] = float(problem.cut(ss.best_energy))
        print(f"best cut   : {report['best_cut']:.10g}")
    if args.target is not None:
        p = ss.info["success_probability"]
        t = ss.info["wall_time_s"]
        report["target"] = args.target
        report["success_probability"] = p
        report["tts99_s"] = _tts(t, p)
        print(f"success    : {p:.3f} of reads reached {args.target:g}; TTS99 = {report['tts99_s']:.4g} s")
    print(f"wall time  : {ss.info['wall_time_s']:.3f} s")
    for k in ("steps", "sweeps", "stop_reason"):
        if k in ss.info:
            report[k] = ss.info[k]
    report["best_sample"] = ss.best_sample.tolist()
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    return 0


def _tts(t: float, p: float, target_p: float = 0.99) -> float:
    """Time to reach the target with probability 0.99 from per-run time t."""
    if p <= 0:
        return math.inf
    if p >= target_p:
        return t
    return t * math.log(1 - target_p) / math.log(1 - p)


def register(subparsers, add_model_options=None) -> None:
    """Add the ``ising`` subcommand to the ``qcbo-qnn`` command line."""
    p = subparsers.add_parser("ising", help="solve an Ising/MaxCut instance file with an oracle (CIM, SA, exact)")
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="qcbo-qnn ising", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
