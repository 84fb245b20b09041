"""QCBO methods with an Ising oracle: QCGD, the penalty baseline, the Ising descent, progressive hedging."""
