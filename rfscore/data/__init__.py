"""Real data: datasets and their normalisation, exact matrices on real rows (theory/real_data.md)."""
