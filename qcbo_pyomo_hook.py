"""Startup hook installed as ``qcbo_qnn_pyomo.pth``: registers our Pyomo solver plugins when
``pyomo.environ`` is imported, so ``SolverFactory('qcgd')`` works without importing qcbo-qnn first.

Pyomo reads no entry points for solvers; this is the one way to be "registered on install".  The
hook costs nothing until ``pyomo.environ`` is imported: it only puts a finder on ``sys.meta_path``
that wraps the loading of that one module.  The registered factories are lazy: the plugin code is
imported when a solver is created.  ``QCBO_NO_PYOMO_HOOK=1`` switches it off.
"""
import os
import sys

_TARGET = "pyomo.environ"


def _lazy(name):
    def make(**kwds):
        from solvers.pyomo_plugin import register
        from solvers.pyomo_plugin.plugin import PLUGIN_CLASSES
        register()
        return PLUGIN_CLASSES[name](**kwds)
    make._qcbo_lazy = True
    return make


def register_lazy():
    try:
        from pyomo.opt import SolverFactory
        for name in ("qcgd", "qcgd-monolithic", "cim-penalty", "ising-descent", "qcbo-milp", "qph"):
            if name not in SolverFactory._cls:
                SolverFactory.register(name, doc=f"qcbo-qnn {name} (see docs/pyomo.md)")(_lazy(name))
    except Exception:       # never break the user's import of Pyomo
        pass


class _Finder:
    """Finds nothing itself; wraps the loader of ``pyomo.environ`` to register after it ran."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TARGET:
            return None
        import importlib.machinery
        for f in sys.meta_path:
            if f is self or not hasattr(f, "find_spec"):
                continue
            spec = f.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        orig = loader.exec_module

        def exec_module(module):
            orig(module)
            register_lazy()
        try:
            loader.exec_module = exec_module
        except Exception:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        return spec


def install():
    if os.environ.get("QCBO_NO_PYOMO_HOOK"):
        return
    if _TARGET in sys.modules:
        register_lazy()
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
