"""Core: the model's constants (G1)-(G3), quadrature, Σ spectra, activations and the error types.

Everything else in rfscore builds on this wing; it imports nothing from the others.
"""
