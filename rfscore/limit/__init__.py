"""d → ∞: the limiting spectrum of U (S1)-(S3) and the asymptotic learning curves (A1)-(A11)."""
