"""The sizes of a random-features model read off its arrays, written once for every type that holds them."""
from __future__ import annotations

from .precision import float64


@float64
class WeightsAndData:
    """p, d, n of a type holding the frozen weights ``W`` (p, d) and the training set ``X`` (n, d), rows are
    samples (theory/model.md §1): the `TrainingProblem` of simulated training and the `RFScoreModel` of
    generation."""

    @property
    def p(self) -> int:
        """The number of random features, W.shape[0]."""
        return self.W.shape[0]

    @property
    def d(self) -> int:
        """The input dimension, W.shape[1]."""
        return self.W.shape[1]

    @property
    def n(self) -> int:
        """The number of training samples, X.shape[0]."""
        return self.X.shape[0]
