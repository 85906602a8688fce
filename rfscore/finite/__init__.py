"""Finite size: draws of W and X, the exact and Gaussian-equivalent matrices U, V, U_pop, V_pop,
their eigensystem, the closed-form gradient flow (D2)-(D4), its Krylov path, and simulated GD."""
