"""The CIM dynamics on torch tensors: the GPU path (CUDA) and, for tests without a GPU, torch on the CPU.

``CIMOracle(backend='cuda' | 'torch' | 'torch-cpu')`` runs here; ``backend='auto'`` picks CUDA when
torch finds a device and the run is large enough (``solvers.ising.cim.GPU_MIN_WORK``).  The
equations, parameters, stop rules and read-out are those of the CPU driver (``cim._run_cpu``); the
differences are in the bookkeeping only:

* the spin field is recomputed each step in one product with the amplitudes, ``[x; s] @ W~``
  (on a GPU a second row block is cheaper than the flip-by-flip update of the CPU kernels), and the
  energy is summed in float64 from it;
* the initial amplitudes come from the caller's numpy Generator (as on the CPU), the noise from a
  ``torch.Generator`` on the device seeded from it, so a seed reproduces a run on the same device
  and torch version; CPU and GPU runs are not bitwise equal (different products and noise streams);
* the target test is checked on the host each step only when a target is given (the exact float64
  check of a candidate is the CPU's), the time limit every 16 steps.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

__all__ = ["run_torch"]


def _device(backend: str):
    import torch
    return torch.device("cuda" if backend == "torch-cuda" else "cpu")


def _csr(torch, Wc, dtype, dev):
    return torch.sparse_csr_tensor(torch.from_numpy(Wc.indptr.astype(np.int64)),
                                   torch.from_numpy(Wc.indices.astype(np.int64)),
                                   torch.from_numpy(Wc.data.astype(dtype)), size=Wc.shape, device=dev,
                                   check_invariants=False)


def run_torch(run: dict, rng: np.random.Generator, backend: str):
    import torch
    from .cim import _exact_reached
    P, m, R, dtype = run["P"], run["m"], run["R"], run["dtype"]
    n, split = run["n"], run["split"]
    dev = _device(backend)
    threads = torch.get_num_threads()
    if dev.type == "cpu" and P["blas_threads"] is not None:
        torch.set_num_threads(int(P["blas_threads"]))     # as the CPU driver: one thread by default
    try:
        return _run(run, rng, dev)
    finally:
        torch.set_num_threads(threads)


def _run(run: dict, rng: np.random.Generator, dev):
    import torch
    from .cim import _exact_reached
    P, m, R, dtype = run["P"], run["m"], run["R"], run["dtype"]
    n, split = run["n"], run["split"]
    tdt = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(dtype)]
    W = run["W"]
    sparse = run["sparse"]
    if sparse:
        Wc = sp.csr_matrix(W)
        import warnings
        with warnings.catch_warnings():          # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            Wt = _csr(torch, Wc, dtype, dev)

        def product(Z):
            return torch.sparse.mm(Wt, Z.T).T        # W symmetric
    else:
        Wt = torch.from_numpy(np.ascontiguousarray(W, dtype=dtype)).to(dev)

        def product(Z):
            return Z @ Wt
    x0 = rng.uniform(-P["init_amplitude"], P["init_amplitude"], size=(R, m)).astype(dtype)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(rng.integers(0, 2 ** 62)))
    x = torch.from_numpy(x0).to(dev)
    e = torch.ones((R, m), dtype=tdt, device=dev)
    xi = torch.zeros((R, 1), dtype=tdt, device=dev)
    a = torch.full((R, 1), float(P["alpha"]), dtype=tdt, device=dev)
    best_s = torch.zeros((R, m), dtype=torch.int8, device=dev)
    best_H = torch.full((R,), float("inf"), dtype=torch.float64, device=dev)
    last_imp = torch.zeros(R, dtype=torch.int64, device=dev)
    rid = torch.arange(R, device=dev)
    out_s = np.zeros((R, m), dtype=np.int8)
    reached = np.zeros(R, dtype=bool)
    reached_step = np.full(R, -1, dtype=np.int64)
    checked = np.full(R, np.inf)
    H_by_id = np.zeros(R)
    dt_f = float(P["dt"])
    dt, lin, mu, beta = dt_f, P["pump"] - 1.0, float(P["mu"]), float(P["beta"])
    alpha, rho, delta = float(P["alpha"]), float(P["rho"]), float(P["delta"])
    gap = 2.0 / max(1.0, np.sqrt(m))
    gamma_dt = run["gamma"] * dt_f
    tau_steps = max(1, int(round(run["tau"] / dt_f)))
    e_max, x_max = float(P["e_max"]), float(P["x_max"])
    noise_amp = P["noise"] * np.sqrt(dt_f) if P["noise"] else None
    cac = P["scheme"] == "cac"
    if not cac:
        xi.fill_(float(P["xi_ahc"]))
    lam1 = float(run["lam1"])
    if split:
        u = torch.from_numpy(np.asarray(run["u"], dtype=dtype)).to(dev)
        u64 = u.double()
        c_split = dt * beta * lam1
    target_int, target = run["target_int"], run["target_energy"]
    stop_when = P["stop_when"]
    traj = [] if P["return_trajectory"] else None
    k = R
    replica_steps = 0
    t_start = time.perf_counter()
    time_limit = P["time_limit"]
    stop_reason = "num_steps"
    step = 0
    with torch.no_grad():
        for step in range(int(run["num_steps"])):
            replica_steps += k
            xk, ek = x[:k], e[:k]
            sk = torch.where(torch.signbit(xk), -1.0, 1.0).to(tdt)
            Y = product(torch.cat((xk, sk)))
            mk, Fk = Y[:k], Y[k:]
            if split and sparse:          # W_r x = W x - lam1 u (u.x); F keeps the full field
                mk = mk - ((lam1 * (xk.double() @ u64))[:, None] * u64).to(tdt)
            Hk = -0.5 * (sk.double() * Fk.double()).sum(1)
            if split and not sparse:
                Hk = Hk - 0.5 * lam1 * (sk.double() @ u64) ** 2
            bk = best_H[:k]
            imp = Hk < bk - 1e-6
            bk.copy_(torch.where(imp, Hk, bk))
            best_s[:k] = torch.where(imp[:, None], sk.to(torch.int8), best_s[:k])
            last_imp[:k] = torch.where(imp, step, last_imp[:k])
            if cac:
                a[:k, 0] = (alpha + rho * torch.tanh(delta * (Hk - bk) / gap)).to(tdt)
                xi[:k] += gamma_dt
                stale = (step - last_imp[:k]) >= tau_steps
                xi[:k] = torch.where(stale[:, None], 0.0, xi[:k])
                last_imp[:k] = torch.where(stale, step, last_imp[:k])
            x2 = xk * xk
            de = (x2 - a[:k]) * ek * (-xi[:k] * dt)
            dx = ((x2 * -mu + lin) * xk + ek * mk * beta) * dt
            xk += dx
            if split:
                t2 = ek * u
                ub = xk.double() @ u64
                eu2 = t2.double() @ u64
                coef = (c_split * ub / (1.0 - c_split * eu2)).to(tdt)
                xk += t2 * coef[:, None]
            if noise_amp is not None:
                xk += noise_amp * torch.randn(xk.shape, generator=gen, device=dev, dtype=tdt)
            xk.clamp_(-x_max, x_max)
            ek += de
            ek.clamp_(1e-6, e_max)
            if traj is not None:
                H_by_id[rid[:k].cpu().numpy()] = Hk.cpu().numpy()
                traj.append(H_by_id.copy())
            if target_int is not None:
                cand = torch.nonzero(bk <= target_int).flatten().cpu().numpy()
                newly = []
                if len(cand):
                    ids = rid[:k].cpu().numpy()
                    bh = bk.cpu().numpy()
                    rows = best_s[:k][torch.from_numpy(cand).to(dev)].cpu().numpy()
                    for c, r in enumerate(cand):
                        i = ids[r]
                        if reached[i] or not bh[r] < checked[i]:
                            continue
                        checked[i] = bh[r]
                        if _exact_reached(run["ising"], rows[c], n, run["has_field"], target):
                            reached[i] = True
                            reached_step[i] = step
                            newly.append(r)
                if (stop_when == "any" and reached.any()) or (stop_when in ("all", "each") and reached.all()):
                    stop_reason = "target"
                    break
                if stop_when == "each" and newly:
                    nt = torch.tensor(newly, device=dev)
                    out_s[rid[nt].cpu().numpy()] = best_s[nt].cpu().numpy()
                    keep = torch.from_numpy(np.setdiff1d(np.arange(k), newly)).to(dev)
                    nk = len(keep)
                    for A in (x, e, best_s, best_H, last_imp, xi, a, rid):
                        A[:nk] = A[keep]
                    k = nk
            if time_limit is not None and (step & 15) == 15:
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                if time.perf_counter() - t_start > time_limit:
                    stop_reason = "time_limit"
                    break
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall_dyn = time.perf_counter() - t_start
    out_s[rid[:k].cpu().numpy()] = best_s[:k].cpu().numpy()
    spins = out_s
    if run["has_field"]:
        spins = spins[:, :n] * spins[:, n:n + 1]
    info = {"steps": step + 1, "stop_reason": stop_reason, "dynamics_time_s": wall_dyn,
            "replica_steps": int(replica_steps), "device": str(dev),
            "torch_version": torch.__version__}
    if target_int is not None:
        info["reached_step"] = reached_step
    if traj is not None:
        info["trajectory"] = traj
    return spins.astype(np.int8), info
