"""The NBD purchase model without dropout (Ehrenberg 1959; Morrison and Schmittlein 1988).

Each customer buys at a constant Poisson rate, rates vary across customers as Gamma(r, alpha).
It is BG/NBD and Pareto/NBD with the dropout process switched off, and the model to use when
those fits put their dropout parameters at the boundary (the data show no dropout in the
window): every customer is alive and expected purchases grow with the observed rate.
The methods mirror the lifetimes fitters the CLV helpers call.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special


class NBDFitter:
    """Fit with ``fit(frequency, recency, T, weights)``; fitted parameters in ``params_`` (r, alpha)."""

    def __init__(self, penalizer_coef: float = 0.0):
        self.penalizer_coef = penalizer_coef

    @staticmethod
    def _negative_log_likelihood(log_params, x, T, weights, penalizer):
        r, alpha = np.exp(log_params)
        ll = (special.gammaln(r + x) - special.gammaln(r) - special.gammaln(x + 1)
              + r * np.log(alpha / (alpha + T)) + x * np.log(np.where(T > 0, T, 1.0) / (alpha + T)))
        return -(weights * ll).sum() / weights.sum() + penalizer * (r ** 2 + alpha ** 2)

    def fit(self, frequency, recency, T, weights=None, **_ignored) -> "NBDFitter":
        """Maximum likelihood on repeat purchases ``frequency`` over ``T`` (``recency`` is not needed)."""
        x, T = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        if len(x) == 0 or weights.sum() <= 0:
            raise ValueError("the NBD model needs at least one customer")
        result = optimize.minimize(self._negative_log_likelihood, x0=np.log([1.0, max(T.mean(), 1.0)]),
                                   args=(x, T, weights, self.penalizer_coef), method="Nelder-Mead",
                                   options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
        if not result.success:
            raise ValueError(f"the NBD fit did not converge: {result.message}")
        self.params_ = pd.Series(np.exp(result.x), index=["r", "alpha"])
        return self

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        """E[purchases in (T, T + t]] = (r + x) / (alpha + T) * t."""
        r, alpha = self.params_["r"], self.params_["alpha"]
        return (r + np.asarray(frequency, dtype=float)) / (alpha + np.asarray(T, dtype=float)) * t

    def expected_number_of_purchases_up_to_time(self, t):
        return self.params_["r"] / self.params_["alpha"] * t

    def conditional_probability_alive(self, frequency, recency, T):
        return np.ones(np.shape(np.asarray(frequency)), dtype=float)
