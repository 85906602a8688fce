"""`rfscore constants`: the Gaussian-equivalence constants (G1)-(G3) as one JSON object."""
import json

from ..core.constants import ge_constants
from .common import add_theory_options


def register(sub) -> None:
    p = sub.add_parser("constants", help="Gaussian-equivalence constants a_t, b_t, v_t², s_t², Δ_t (G1)-(G3)",
                       description="Print the Gaussian-equivalence constants (G1)-(G3) as one JSON object "
                                   "with keys a_t, b_t, v_t2, s_t2, delta_t (converged trapezoid quadrature, ~1e-14).")
    add_theory_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    constants = ge_constants(args.t, args.activation, args.sigma_spectrum)
    print(json.dumps(constants.public()))
    return 0
