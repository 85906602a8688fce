"""rfscore.analysis.deviation: the relative measure of the asymptotic and power-law figures."""
import numpy as np

from rfscore.analysis.deviation import relative_deviation, rms_deviation


def test_relative_deviation_is_relative_above_one_and_absolute_below():
    np.testing.assert_allclose(relative_deviation([110.0, 0.1, -0.5], [100.0, 0.0, -1.0]), [10 / 101, 0.1, 0.25])


def test_rms_deviation_over_tau_and_the_noise_level():
    ref = np.array([[1.0, 3.0], [0.0, 0.0]])
    vals = ref + np.array([[2.0, 4.0], [0.5, 0.5]])
    rms, noise = rms_deviation(vals, ref, spread=np.full((2, 2), 0.1))
    np.testing.assert_allclose(rms, [1.0, 0.5])
    np.testing.assert_allclose(noise, [np.sqrt((0.05**2 + 0.025**2) / 2), 0.1])
