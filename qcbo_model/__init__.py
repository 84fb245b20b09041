"""qcbo_model: what the problem is. Network spec, FIP, splines, the Pyomo model, the canonical QCBO."""
from .errors import FormulationError, InputDataError, QCBOError, SpecError
from .spec import NetworkSpec, WeightCode
from .fip import FIPNetwork
from .qcbo import QCBO
from .assemble import assemble
from .problem import FIPProblem, build_problem

__all__ = ["NetworkSpec", "WeightCode", "FIPNetwork", "QCBO", "assemble", "FIPProblem", "build_problem",
           "QCBOError", "SpecError", "InputDataError", "FormulationError"]
