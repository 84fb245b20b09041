"""setup.cfg holds the metadata; this file only adds ``qcbo_qnn_pyomo.pth`` to the installed files.

The .pth line runs ``qcbo_pyomo_hook.install()`` at interpreter start-up, which registers our Pyomo
solver plugins when ``pyomo.environ`` is imported (Pyomo reads no entry points for solvers).  It is
written for regular wheels (build_py) and for PEP 660 editable installs (editable_wheel).
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "qcbo_qnn_pyomo.pth"
LINE = "import qcbo_pyomo_hook; qcbo_pyomo_hook.install()\n"


class BuildPyWithPth(build_py):
    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            with open(os.path.join(self.build_lib, PTH), "w") as f:
                f.write(LINE)

    def get_outputs(self, include_bytecode=1):
        out = super().get_outputs(include_bytecode)
        return out if getattr(self, "editable_mode", False) else out + [os.path.join(self.build_lib, PTH)]


cmdclass = {"build_py": BuildPyWithPth}
try:
    from setuptools.command.editable_wheel import editable_wheel

    class EditableWheelWithPth(editable_wheel):
        def _select_strategy(self, *args, **kwargs):
            strategy = super()._select_strategy(*args, **kwargs)

            class WithPth:
                def __enter__(self):
                    strategy.__enter__()
                    return self

                def __exit__(self, *exc):
                    return strategy.__exit__(*exc)

                def __call__(self, wheel, files, mapping):
                    strategy(wheel, files, mapping)
                    wheel.writestr(PTH, LINE.encode())

            return WithPth()

    cmdclass["editable_wheel"] = EditableWheelWithPth
except ImportError:        # setuptools < 64: no PEP 660 editable installs
    pass

setup(cmdclass=cmdclass)
