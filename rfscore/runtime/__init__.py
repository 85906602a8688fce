"""Runtime: result files (CSV/JSON/NPZ sidecars), memory estimates, and resumable sweeps."""
