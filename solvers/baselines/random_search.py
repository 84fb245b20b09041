"""Random search with repair: the best of uniformly random valid weight codes, each completed by a
forward pass (its FIP spline loss is its QCBO objective).

Candidates are drawn in fixed blocks of 256 with their own child seeds, so candidate i is the same
whatever the budget or batch is (nested budgets see nested candidate sets)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.forward import bits_from_codes, fip_forward, random_codes

from .._util import progress_bar
from ..config import MethodConfig, option
from ..result import Termination
from ._common import complete

__all__ = ["RandomSearchConfig", "run", "default_budget"]

_BLOCK = 256


def default_budget(prob) -> int:
    """The forward evaluations of sa-weights' default budget (sweeps x reads x weight bits)."""
    from .sa_weights import SAWeightsConfig
    c = SAWeightsConfig()
    return c.sweeps * c.reads * prob.n_weight_bits


@dataclass(frozen=True)
class RandomSearchConfig(MethodConfig):
    """Settings of random search with repair (``solve(prob, 'random-search', ...)``)."""

    candidates: Any = option(None, "random weight codes scored (None: sa-weights' default budget, "
                             "sweeps x reads x weight bits)", kind="int", min=1, allow_none=True)
    batch: int = option(1024, "candidates scored per forward pass", kind="int", min=1)
    time_limit: Any = option(None, "seconds (None: no limit)", kind="float", min=0, exclusive_min=True,
                             allow_none=True)
    seed: int = option(0, "seed of the candidate blocks", kind="int", min=0)


def _block_codes(net, seed, block):
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    return random_codes(net, _BLOCK, rng)


def run(prob, cfg: RandomSearchConfig, progress: bool = False):
    t0 = time.perf_counter()
    net = prob.net
    n_cand = cfg.candidates if cfg.candidates is not None else default_budget(prob)
    best, best_bits, trace, done = np.inf, None, [], 0
    n_blocks = -(-n_cand // _BLOCK)
    per_batch = max(1, cfg.batch // _BLOCK)
    termination = Termination.iteration_limit
    bar = progress_bar(range(0, n_blocks, per_batch), desc="random search", enabled=progress, unit="batch")
    try:
        for b0 in bar:
            if cfg.time_limit is not None and done and time.perf_counter() - t0 > cfg.time_limit:
                termination = Termination.time_limit
                break
            blocks = [_block_codes(net, cfg.seed, b) for b in range(b0, min(b0 + per_batch, n_blocks))]
            codes = [np.concatenate([blk[l] for blk in blocks]) for l in range(len(net.layers))]
            keep = min(len(codes[0]), n_cand - b0 * _BLOCK)
            codes = [q[:keep] for q in codes]
            loss = fip_forward(net, codes).loss
            done += keep
            i = int(np.argmin(loss))
            if loss[i] < best:
                best = float(loss[i])
                best_bits = bits_from_codes(net, [q[i:i + 1] for q in codes])[0]
            trace.append(best)
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
    if best_bits is None:
        from ..result import finish
        return finish("random-search", prob, None, termination, config=cfg, wall_time_s=time.perf_counter() - t0)
    return complete(prob, "random-search", best_bits, best, termination, config=cfg, trace=trace,
                    wall_time_s=time.perf_counter() - t0,
                    info={"candidates": int(done), "forward_evaluations": int(done)})
