"""One result type for every method: ``SolveResult``, with Pyomo-style termination and solution status.

``termination`` says why the method stopped; ``solution_status`` says what the returned point is.
They are separate on purpose: a descent that ran out of iterations (termination ``iteration_limit``)
still returns a feasible point (solution status ``feasible``), and HiGHS can stop at its time limit
with a feasible incumbent and a bound.

Conventions: ``objective`` is the canonical QCBO objective of ``x`` (``qcbo.objective``), ``bound`` a
valid lower bound on the QCBO optimum where the method proves one (None otherwise), and ``gap`` the
relative gap ``(objective - bound) / max(|objective|, 1e-10)``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


class Termination(str, enum.Enum):
    """Why a method stopped (a ``str`` enum: ``Termination.optimal == "optimal"``).

    Members: ``optimal`` (proved optimal: exact methods, or objective == bound), ``converged`` (the
    method's own convergence test was met), ``iteration_limit`` (the iteration or evaluation budget
    was spent), ``time_limit``, ``stalled`` (no improvement for the configured patience),
    ``interrupted`` (Ctrl-C: the best point so far is returned), ``infeasible`` (proved infeasible, or
    no feasible point found), ``error``.
    """

    optimal = "optimal"                  # proved optimal (exact methods, or objective == bound)
    converged = "converged"              # the method's own convergence test was met
    iteration_limit = "iteration_limit"  # the iteration / evaluation budget was spent
    time_limit = "time_limit"
    stalled = "stalled"                  # no improvement for the configured patience
    interrupted = "interrupted"          # Ctrl-C / SIGINT: best-so-far point returned
    infeasible = "infeasible"            # proved infeasible, or no feasible point found
    error = "error"

    def __str__(self) -> str:
        return self.value


class SolutionStatus(str, enum.Enum):
    """What ``SolveResult.x`` is."""

    optimal = "optimal"        # feasible and proved optimal
    feasible = "feasible"      # feasible for the QCBO (checked on the canonical form)
    infeasible = "infeasible"  # a point is returned but it violates the QCBO
    none = "none"              # no point

    def __str__(self) -> str:
        return self.value


def relative_gap(objective: Optional[float], bound: Optional[float]) -> Optional[float]:
    if objective is None or bound is None or not np.isfinite(bound):
        return None
    return float(max(objective - bound, 0.0) / max(abs(objective), 1e-10))


@dataclass
class SolveResult:
    """The outcome of ``solvers.solve``, the same type for every method.

    ``termination`` says why the method stopped and ``solution_status`` what the returned point is;
    they are separate on purpose (a descent that ran out of iterations still returns a feasible
    point; HiGHS can stop at its time limit with a feasible incumbent and a bound).

    Attributes
    ----------
    method : str
        Registered method name (``'highs'``, ``'ising-descent'``, ...).
    termination : Termination
        Why the method stopped.
    solution_status : SolutionStatus
        What ``x`` is: ``optimal`` (feasible and proved optimal), ``feasible``, ``infeasible``, ``none``.
    objective : float or None
        The canonical QCBO objective of ``x`` (minimized, ``qcbo.const`` included), recomputed on the
        QCBO for every method; None without a point.
    bound : float or None
        A proven lower bound on the QCBO optimum (exact methods, ``decomposed-bound``); None where the
        method proves none.
    gap : float or None
        ``(objective - bound) / max(|objective|, 1e-10)``: the relative distance to optimality that is
        still unproven.
    x : numpy.ndarray of uint8, shape (n_x,), or None
        The full binary assignment in the canonical QCBO variable order (``qcbo.var_names``); the
        weight bits come first (``wbits``).
    trace : list of dict
        Per-iteration records; the keys are the method's own.
    wall_time_s, oracle_time_s : float
        Seconds in all, and inside the Ising oracle.
    oracle : str or None
        Name of the Ising oracle used (None for methods without one).
    oracle_calls : int
        Number of oracle calls (QUBO samples requested).
    config : MethodConfig
        The frozen config the method ran with (its ``seed`` included).
    info : dict
        Method-specific details, JSON-able; exact methods put a one-sentence ``statement`` of what was
        proved there.
    """

    method: str
    termination: Termination
    solution_status: SolutionStatus
    objective: Optional[float] = None
    bound: Optional[float] = None
    gap: Optional[float] = None
    x: Optional[np.ndarray] = field(default=None, repr=False)
    trace: list = field(default_factory=list, repr=False)
    wall_time_s: float = 0.0
    oracle_time_s: float = 0.0
    oracle: Optional[str] = None
    oracle_calls: int = 0
    config: Any = field(default=None, repr=False)
    info: dict = field(default_factory=dict, repr=False)

    @property
    def feasible(self) -> bool:
        return self.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)

    @property
    def wbits(self) -> Optional[np.ndarray]:
        """Weight bits of ``x`` for FIP problems (``info['n_weight_bits']`` leading entries)."""
        if self.x is None:
            return None
        n_w = self.info.get("n_weight_bits")
        return None if n_w is None else self.x[:n_w]

    def to_dict(self, include_x: bool = False, include_trace: bool = True) -> dict:
        from dataclasses import asdict, is_dataclass
        d = {"method": self.method, "termination": str(self.termination),
             "solution_status": str(self.solution_status), "feasible": self.feasible,
             "objective": self.objective, "bound": self.bound, "gap": self.gap,
             "wall_time_s": self.wall_time_s, "oracle": self.oracle, "oracle_calls": self.oracle_calls,
             "oracle_time_s": self.oracle_time_s,
             "config": asdict(self.config) if is_dataclass(self.config) else self.config,
             "info": self.info}
        if include_trace:
            d["trace"] = self.trace
        if include_x:
            d["x"] = None if self.x is None else np.asarray(self.x).astype(int).tolist()
        return d


def finish(method: str, problem, x, termination: Termination, *, bound=None, config=None, **kw) -> SolveResult:
    """Build a SolveResult for point ``x`` of ``problem`` (a FIPProblem or a bare QCBO): the objective
    and feasibility are recomputed on the canonical QCBO, so every method reports them alike."""
    q = getattr(problem, "qcbo", problem)
    info = kw.pop("info", {})
    if hasattr(problem, "n_weight_bits"):
        info.setdefault("n_weight_bits", int(problem.n_weight_bits))
    if x is None:
        return SolveResult(method=method, termination=termination, solution_status=SolutionStatus.none,
                           bound=bound, config=config, info=info, **kw)
    x = np.asarray(x, dtype=np.uint8).reshape(-1)
    obj = float(q.objective(x[None])[0])
    feas = bool(q.is_feasible(x[None])[0])
    status = SolutionStatus.feasible if feas else SolutionStatus.infeasible
    gap = relative_gap(obj, bound) if feas else None
    if feas and termination == Termination.optimal:
        status = SolutionStatus.optimal
    return SolveResult(method=method, termination=termination, solution_status=status, objective=obj,
                       bound=bound, gap=gap, x=x, config=config, info=info, **kw)
