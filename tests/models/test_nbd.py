import numpy as np
import pytest

from helpers.models.nbd import NBDFitter


def test_recovers_the_parameters_it_was_simulated_with():
    rng = np.random.default_rng(5)
    n, r, alpha = 40_000, 0.8, 10.0
    T = rng.uniform(10, 52, n)
    rates = rng.gamma(shape=r, scale=1 / alpha, size=n)
    x = rng.poisson(rates * T)
    fitted = NBDFitter().fit(x, np.zeros(n), T).params_
    assert fitted["r"] == pytest.approx(r, rel=0.05)
    assert fitted["alpha"] == pytest.approx(alpha, rel=0.05)


def test_weights_equal_repeated_rows_and_predictions_by_hand():
    # overdispersed counts (variance well above the mean), so r and alpha are finite
    model = NBDFitter().fit([0, 0, 0, 2, 7, 7, 1], [0] * 7, [10, 10, 12, 10, 12, 12, 8])
    weighted = NBDFitter().fit([0, 0, 2, 7, 1], [0] * 5, [10, 12, 10, 12, 8], weights=[2, 1, 1, 2, 1])
    assert weighted.params_.to_numpy() == pytest.approx(model.params_.to_numpy(), rel=1e-5)
    model.params_[:] = [2.0, 8.0]
    # (r + x) / (alpha + T) * t = (2 + 3) / (8 + 12) * 4 = 1.0 ; population: r / alpha * t = 0.25 * 4 = 1.0
    assert model.conditional_expected_number_of_purchases_up_to_time(4, [3], [9], [12])[0] == pytest.approx(1.0)
    assert model.expected_number_of_purchases_up_to_time(4) == pytest.approx(1.0)
    assert model.conditional_probability_alive([0, 3], [0, 9], [5, 12]).tolist() == [1.0, 1.0]
