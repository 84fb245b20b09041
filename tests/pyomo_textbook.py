"""Small Pyomo models of textbook binary quadratic problems, written as a Pyomo user would write them
(nothing here knows about qcbo-qnn).  Each builder takes a seed; sizes are small enough for HiGHS
(linearized) or enumeration to certify the optimum."""
import itertools

import numpy as np
import pyomo.environ as pyo


def quadratic_assignment(n=4, seed=0):
    """Koopmans-Beckmann QAP: assign n facilities to n locations, flow x distance, permutation rows."""
    rng = np.random.default_rng(seed)
    F = rng.integers(0, 6, (n, n)); F = np.triu(F, 1) + np.triu(F, 1).T
    P = rng.integers(0, 10, (n, 2))
    D = np.abs(P[:, None, :] - P[None, :, :]).sum(-1)
    m = pyo.ConcreteModel(name=f"qap{n}")
    m.I = pyo.RangeSet(0, n - 1)
    m.x = pyo.Var(m.I, m.I, domain=pyo.Binary)          # x[i, k]: facility i at location k
    m.one_loc = pyo.Constraint(m.I, rule=lambda m, i: sum(m.x[i, k] for k in m.I) == 1)
    m.one_fac = pyo.Constraint(m.I, rule=lambda m, k: sum(m.x[i, k] for i in m.I) == 1)
    m.cost = pyo.Objective(expr=sum(int(F[i, j]) * int(D[k, l]) * m.x[i, k] * m.x[j, l]
                                    for i in m.I for j in m.I for k in m.I for l in m.I if i != j and k != l))
    return m


def maxcut_cardinality(n=10, k=4, seed=0):
    """Max-cut on a random weighted graph with exactly k nodes on one side (maximize)."""
    rng = np.random.default_rng(seed)
    E = [(i, j, int(rng.integers(1, 10))) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.5]
    m = pyo.ConcreteModel(name=f"maxcut{n}")
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.card = pyo.Constraint(expr=sum(m.x[i] for i in range(n)) == k)
    m.cut = pyo.Objective(expr=sum(w * (m.x[i] + m.x[j] - 2 * m.x[i] * m.x[j]) for i, j, w in E),
                          sense=pyo.maximize)
    return m


def quadratic_knapsack(n=12, seed=0):
    """Quadratic knapsack: pairwise profits, one capacity row (maximize)."""
    rng = np.random.default_rng(seed)
    p = rng.integers(1, 20, (n, n)); p = np.triu(p, 0) * (rng.random((n, n)) < 0.6)
    w = rng.integers(1, 15, n)
    cap = int(w.sum() // 3)
    m = pyo.ConcreteModel(name=f"qkp{n}")
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.capacity = pyo.Constraint(expr=sum(int(w[i]) * m.x[i] for i in range(n)) <= cap)
    m.profit = pyo.Objective(expr=sum(int(p[i, j]) * (m.x[i] if i == j else m.x[i] * m.x[j])
                                      for i in range(n) for j in range(i, n) if p[i, j]), sense=pyo.maximize)
    return m


def graph_partition(n=10, seed=0):
    """Partition a random graph into two equal halves minimizing the weight of cut edges."""
    rng = np.random.default_rng(seed)
    E = [(i, j, int(rng.integers(1, 5))) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.4]
    m = pyo.ConcreteModel(name=f"partition{n}")
    m.side = pyo.Var(range(n), domain=pyo.Binary)
    m.balance = pyo.Constraint(expr=sum(m.side[i] for i in range(n)) == n // 2)
    m.cut = pyo.Objective(expr=sum(w * (m.side[i] + m.side[j] - 2 * m.side[i] * m.side[j]) for i, j, w in E))
    return m


def integer_quadratic(seed=0):
    """A bounded-integer quadratic with a quadratic constraint (binary-expanded by the plugin)."""
    m = pyo.ConcreteModel(name="intquad")
    m.y = pyo.Var(range(2), domain=pyo.Integers, bounds=(0, 5))
    m.z = pyo.Var(domain=pyo.Binary)
    m.c = pyo.Constraint(expr=m.y[0] * m.y[1] + 2 * m.z >= 6)
    m.o = pyo.Objective(expr=(m.y[0] - 2) ** 2 + (m.y[1] - 3) ** 2 + 3 * m.z + m.y[0] * m.z)
    return m


MODELS = {"qap4": lambda: quadratic_assignment(4), "qap5": lambda: quadratic_assignment(5, 1),
          "maxcut10": lambda: maxcut_cardinality(10, 4), "maxcut14": lambda: maxcut_cardinality(14, 6, 1),
          "qkp12": lambda: quadratic_knapsack(12), "qkp16": lambda: quadratic_knapsack(16, 1),
          "partition10": lambda: graph_partition(10), "partition16": lambda: graph_partition(16, 1),
          "intquad": integer_quadratic}


def brute_force(model):
    """(optimum of the model's objective in its own sense, count of optimal points) by enumeration
    over the binary variables (<= 20)."""
    vs = list(model.component_data_objects(pyo.Var))
    assert all(v.is_binary() for v in vs) and len(vs) <= 20
    obj = next(model.component_data_objects(pyo.Objective, active=True))
    cons = list(model.component_data_objects(pyo.Constraint, active=True))
    best = None
    for bits in itertools.product((0, 1), repeat=len(vs)):
        for v, b in zip(vs, bits):
            v.set_value(b)
        if all((c.lower is None or pyo.value(c.body) >= pyo.value(c.lower) - 1e-9) and
               (c.upper is None or pyo.value(c.body) <= pyo.value(c.upper) + 1e-9) for c in cons):
            val = pyo.value(obj)
            if best is None or (val < best if obj.sense == pyo.minimize else val > best):
                best = val
    return best
