"""qcbo-qnn: quantized neural networks trained as QCBO."""
__version__ = "0.1.0"
