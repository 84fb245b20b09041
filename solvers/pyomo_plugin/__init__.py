"""Our QCBO methods as Pyomo solvers: ``pyomo.environ.SolverFactory('qcgd').solve(model)``.

Registered names (``NAMES``): qcgd, qcgd-monolithic, cim-penalty, ising-descent, qcbo-milp, qph; what
each runs on which model is in ``solvers.pyomo_plugin.plugin`` and docs/pyomo.md.

Registration: importing this package registers them.  After ``pip install`` (editable or not) the
package also installs ``qcbo_qnn_pyomo.pth``, which makes ``import pyomo.environ`` register them in any
Python process without importing our packages first (``qcbo_pyomo_hook``; set
``QCBO_NO_PYOMO_HOOK=1`` to switch it off).  Pyomo itself reads no entry points for solvers.
"""
from __future__ import annotations

__all__ = ["NAMES", "register", "registered"]

NAMES = ("qcgd", "qcgd-monolithic", "cim-penalty", "ising-descent", "qcbo-milp", "qph")


def register(force: bool = False) -> list:
    """Register the plugins with Pyomo's SolverFactory (idempotent); returns the names registered now."""
    from pyomo.opt import SolverFactory
    from .plugin import PLUGIN_CLASSES
    done = []
    for name, cls in PLUGIN_CLASSES.items():
        cur = SolverFactory._cls.get(name)
        if cur is cls and not force:
            continue
        if cur is not None and not getattr(cur, "_qcbo_lazy", False) and cur is not cls and not force:
            continue          # somebody else's solver of the same name: leave it
        SolverFactory._cls.pop(name, None)
        SolverFactory._doc.pop(name, None)
        SolverFactory.register(name, doc=cls._doc)(cls)
        done.append(name)
    return done


def registered() -> dict:
    from pyomo.opt import SolverFactory
    return {n: SolverFactory._cls.get(n) for n in NAMES}


register()
