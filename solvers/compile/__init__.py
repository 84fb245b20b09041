"""Compilers from the canonical QCBO to QUBO/Ising: the pyqubo and direct penalty paths, and the lift."""
