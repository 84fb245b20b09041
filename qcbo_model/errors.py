"""Typed exceptions raised at the public boundary of qcbo-qnn."""


class QCBOError(ValueError):
    """Base class of every error qcbo-qnn raises for bad input."""


class SpecError(QCBOError):
    """The network specification is invalid (sizes, bits, intervals, names)."""


class InputDataError(QCBOError):
    """Training data does not fit the specification (shape, NaN, labels)."""


class FormulationError(QCBOError):
    """A model cannot be built or evaluated as asked (e.g. exact form off the integer grid)."""
