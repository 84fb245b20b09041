"""Exhaustive Ising/QUBO oracle for small problems (n <= 24): the reference every sampler is checked against."""
from __future__ import annotations

import time

import numpy as np

from .base import Oracle, OracleError

__all__ = ["ExactOracle"]


def _bit_table(k: int) -> np.ndarray:
    ids = np.arange(2 ** k, dtype=np.int64)
    return ((ids[:, None] >> np.arange(k)) & 1).astype(np.float64)


class ExactOracle(Oracle):
    """Exhaustive search for n <= 24; returns the ``num_reads`` lowest states (lowest first).

    Split x = (x_hi, x_lo) with ``k`` low bits:  E = E_lo + E_hi + x_hi^T C x_lo, so one chunk of
    high configurations costs a single matmul against the fixed table of all 2^k low
    configurations (2^n * k flops in total).  A ``time_limit`` or ``target_energy`` stops the
    enumeration between chunks (``info['exhaustive']`` is then False).
    """

    name = "exact"
    default_reads = 1
    max_n = 24
    native_stop = True

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, time_limit=None, chunk_bits: int = 16):
        n = ising.n
        if n > self.max_n:
            raise OracleError(f"ExactOracle enumerates 2^n states; n={n} > {self.max_n}. "
                              "Use the 'cim' or 'sa' oracle instead.")
        t0 = time.perf_counter()
        num_reads = min(num_reads, 2 ** n)
        qubo = ising.to_qubo()
        Q = np.triu(qubo.dense())
        off = qubo.offset
        k = min(n, 12)
        lo, hi = np.arange(k), np.arange(k, n)
        Xlo = _bit_table(k)                                  # (2^k, k)
        Qll = Q[np.ix_(lo, lo)]
        Elo = np.einsum("ij,jk,ik->i", Xlo, Qll, Xlo)        # (2^k,)
        C = Q[np.ix_(hi, lo)] + Q[np.ix_(lo, hi)].T          # coupling hi x lo
        Qhh = Q[np.ix_(hi, hi)]
        nh = n - k
        rows_per_chunk = max(1, 2 ** max(0, chunk_bits - k))
        best_e = np.empty(0)
        best_idx = np.empty(0, dtype=np.int64)
        complete, reason = True, "num_reads"
        for start in range(0, 2 ** nh, rows_per_chunk):
            ids = np.arange(start, min(start + rows_per_chunk, 2 ** nh), dtype=np.int64)
            Xhi = ((ids[:, None] >> np.arange(nh)) & 1).astype(np.float64)
            Ehi = np.einsum("ij,jk,ik->i", Xhi, Qhh, Xhi)
            E = Ehi[:, None] + Elo[None, :] + (Xhi @ C) @ Xlo.T   # (chunk, 2^k)
            flat = E.ravel()
            m = min(num_reads, flat.size)
            part = np.argpartition(flat, m - 1)[:m] if m < flat.size else np.arange(flat.size)
            idx = ids[part // Xlo.shape[0]] << k | (part % Xlo.shape[0])
            best_e = np.concatenate([best_e, flat[part]])
            best_idx = np.concatenate([best_idx, idx])
            if best_e.size > num_reads:
                keep = np.lexsort((best_idx, best_e))[:num_reads]
                best_e, best_idx = best_e[keep], best_idx[keep]
            last = start + rows_per_chunk >= 2 ** nh
            if not last and target_energy is not None and best_e.min() + off <= target_energy + 1e-6:
                complete, reason = False, "target"
                break
            if not last and time_limit is not None and time.perf_counter() - t0 > time_limit:
                complete, reason = False, "time_limit"
                break
        order = np.lexsort((best_idx, best_e))
        best_idx = best_idx[order]
        x = ((best_idx[:, None] >> np.arange(n)) & 1).astype(np.uint8)
        return 2 * x.astype(np.int8) - 1, {"oracle": self.name, "exhaustive": complete, "stop_reason": reason}
